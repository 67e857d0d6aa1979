//! One client connection, whatever its transport: authenticate, welcome, then read frames
//! and act on them (subscribe through the fan-out, publish and request through NATS with
//! the identity headers stamped), until the client leaves or the bridge closes it.
//!
//! The reading half runs here; a writer task (`writer`) owns the writing half and the
//! outbound queue, so nothing this side does ever waits on a slow socket.

use crate::fanout::ConnId;
use crate::grants::Command;
use crate::limits::{FrameRate, Verdict};
use crate::outbound::{Control, Frame, Outbox};
use crate::server::Shared;
use crate::transport::{Inbound, Sink, Source};
use crate::{device, ids, presence, trace, writer};
use async_nats::{HeaderMap, client::RequestErrorKind};
use bytes::Bytes;
use chorus_protocol::device::Hello;
use chorus_protocol::frame::{ClientFrame, ServerFrame, payload_json};
use chorus_protocol::grant::Grant;
use chorus_protocol::policy::Action;
use chorus_protocol::{CloseCode, ErrorCode, Identity, Namespace, headers, subject};
use chorus_runtime::clock::unix_now;
use serde_json::value::RawValue;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until, timeout_at};

/// Which endpoint the client came in through; it decides what identity it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `/core/game/v1/real-time/public`: always a guest.
    Public,
    /// `/v1/ws` and TCP: a token if one is given, else a guest.
    Default,
    /// `/core/game/v1/real-time/private`: a valid user token or nothing.
    Private,
}

/// What the transport learned before the first frame.
#[derive(Debug)]
pub struct Handshake {
    /// The endpoint.
    pub entry: Entry,
    /// A token from `?token=` or `Authorization: Bearer`.
    pub token: Option<String>,
    /// Whether a first line may be the device presence hello (TCP, when enabled).
    pub presence_hello: bool,
}

/// Runs a connection to its end.
pub async fn run<Src: Source, Snk: Sink>(shared: Arc<Shared>, mut source: Src, mut sink: Snk, hs: Handshake) {
    let write_timeout = Duration::from_millis(shared.config.write_timeout_ms);
    let Some(_slot) = shared.slots.try_acquire() else {
        shared.metrics.close(CloseCode::ServerFull);
        let _ = tokio::time::timeout(write_timeout, sink.close(CloseCode::ServerFull)).await;
        return;
    };
    let (authenticated, first_frame) = match Box::pin(authenticate(&shared, &mut source, &mut sink, hs)).await
    {
        Ok(Start::Client(authenticated, first_frame)) => (authenticated, first_frame),
        Ok(Start::Device(hello)) => return Box::pin(device::run(shared, source, sink, hello)).await,
        Err(Some(code)) => {
            shared.metrics.close(code);
            let _ = tokio::time::timeout(write_timeout, sink.close(code)).await;
            return;
        }
        Err(None) => return,
    };

    let opened = open(&shared, sink, &authenticated.identity.id);
    let ctl = opened.ctl.clone();
    let mut session = Session::new(shared.clone(), opened.conn, authenticated, opened.outbox.clone());
    // A signed-in user's grants follow them across reconnects; a guest's id dies with its
    // connection, so there is nothing stored to load.
    let private = session.identity.ns == Namespace::Private;
    if private {
        session
            .grants
            .extend(Box::pin(load_grants(&shared, &session.identity.id)).await);
    }
    session.welcome();
    if private {
        Box::pin(presence::connected(
            &shared,
            &session.conn_name,
            &session.identity,
        ))
        .await;
    }
    if let Some(frame) = first_frame {
        session.handle(frame).await;
    }
    while !ctl.is_closed() {
        let expires_at = session.expires_at;
        let grant_ends = session.grants.iter().map(|g| g.expires_at).min();
        tokio::select! {
            _ = ctl.closed() => break,
            commands = ctl.commands() => {
                for command in commands {
                    Box::pin(session.apply(&command)).await;
                }
            }
            _ = sleep_until(grant_ends.map(instant_of).unwrap_or_else(Instant::now)), if grant_ends.is_some() => {
                session.grants.retain(|g| g.expires_at > unix_now());
                Box::pin(session.drop_unallowed_subs()).await;
            }
            _ = sleep_until(expires_at.unwrap_or_else(Instant::now)), if expires_at.is_some() => {
                session.err(None, ErrorCode::Unauthorized, "token expired");
                ctl.close(CloseCode::Unauthorized);
            }
            inbound = source.next() => match inbound {
                Inbound::Frame(bytes) => {
                    ctl.touch();
                    session.handle(bytes).await;
                }
                Inbound::Alive => ctl.touch(),
                Inbound::TooLarge => {
                    ctl.close(CloseCode::TooLarge);
                }
                Inbound::Closed => break,
            }
        }
    }
    ctl.end();
    Box::pin(session.leave_all()).await;
    if private {
        Box::pin(presence::disconnected(
            &shared,
            &session.conn_name,
            &session.identity,
        ))
        .await;
    }
    Box::pin(finish(&shared, opened, source)).await;
}

/// A welcomed connection's plumbing: its number, its queue and close signal, its writer.
pub(crate) struct Opened {
    /// Its number on this bridge.
    pub conn: ConnId,
    /// Its close signal and command slot.
    pub ctl: Arc<Control>,
    /// Its bounded queue.
    pub outbox: Outbox,
    writer: tokio::task::JoinHandle<()>,
}

/// Starts the writer of a connection acting as `user` and registers it with the bridge.
pub(crate) fn open<Snk: Sink>(shared: &Arc<Shared>, sink: Snk, user: &str) -> Opened {
    let conn = shared.next_conn_id();
    let ctl = Arc::new(Control::new(shared.metrics.clone()));
    let (outbox, rx) = Outbox::new(shared.config.outbound_queue, ctl.clone());
    let writer = tokio::spawn(writer::run(sink, rx, ctl.clone(), shared.writer_config()));
    // Registered before its grants are loaded, so a grant given meanwhile is not missed.
    shared.sessions.insert(conn, user, outbox.clone());
    if shared.shutdown.is_cancelled() {
        ctl.close(CloseCode::GoingAway);
    }
    Opened {
        conn,
        ctl,
        outbox,
        writer,
    }
}

/// Ends a connection opened with [`open`]: forgets it, lets its close go out, waits for
/// its writer.
pub(crate) async fn finish<Src: Source>(shared: &Shared, opened: Opened, mut source: Src) {
    opened.ctl.end();
    shared.sessions.remove(opened.conn);
    if opened.ctl.code().is_some() {
        // Keep reading (and discarding) while the close goes out: closing a socket with
        // unread input makes the kernel reset it, and the client would lose our reason.
        let drain = async { while !matches!(source.next().await, Inbound::Closed | Inbound::TooLarge) {} };
        let _ = tokio::time::timeout(LINGER, drain).await;
    }
    let _ = opened.writer.await;
}

/// The user's stored grants. (The futures behind this and the other rare steps of a session
/// are boxed: they are large, and the session's own future, which every idle connection
/// carries, should not be.)
async fn load_grants(shared: &Shared, user: &str) -> Vec<Grant> {
    match shared.grants().await {
        Some(store) => store.load(user, unix_now()).await,
        None => Vec::new(),
    }
}

/// How long a closed connection's input is drained so the close reason reaches the client.
const LINGER: Duration = Duration::from_secs(2);

/// Who a connection is, and until when (for a token).
struct Authenticated {
    /// The identity it acts as.
    identity: Identity,
    /// When its token expires; `None` for guests.
    expires_at: Option<Instant>,
}

/// What a connection turned out to be.
enum Start {
    /// A client of the wire contract: the identity to run as, and a first frame to handle
    /// after `welcome` (a client that skipped `auth` on a token-optional endpoint).
    Client(Authenticated, Option<Bytes>),
    /// A small device that said the bare presence hello.
    Device(Hello),
}

/// Who is connecting. `Err(None)`: the client left.
async fn authenticate<Src: Source, Snk: Sink>(
    shared: &Shared,
    source: &mut Src,
    sink: &mut Snk,
    hs: Handshake,
) -> Result<Start, Option<CloseCode>> {
    let as_guest = || Authenticated {
        identity: guest(),
        expires_at: None,
    };
    if hs.entry == Entry::Public {
        return Ok(Start::Client(as_guest(), None));
    }
    if let Some(token) = hs.token {
        return Ok(Start::Client(verify(shared, &token).await?, None));
    }
    let deadline = Instant::now() + Duration::from_millis(shared.config.first_frame_timeout_ms);
    loop {
        let next = tokio::select! {
            _ = shared.shutdown.cancelled() => return Err(Some(CloseCode::GoingAway)),
            next = timeout_at(deadline, source.next()) => next,
        };
        return match next {
            Err(_) if hs.entry == Entry::Private => Err(Some(CloseCode::Unauthorized)),
            Err(_) => Ok(Start::Client(as_guest(), None)),
            Ok(Inbound::Alive) => continue,
            Ok(Inbound::TooLarge) => Err(Some(CloseCode::TooLarge)),
            Ok(Inbound::Closed) => Err(None),
            Ok(Inbound::Frame(bytes)) if hs.presence_hello && Hello::looks_like(&bytes) => {
                match Hello::parse(&bytes, shared.config.device_max_friends) {
                    Ok(hello) => Ok(Start::Device(hello)),
                    Err(e) => {
                        // The device may try again; it stays connected.
                        shared.metrics.error(ErrorCode::BadRequest);
                        let frame = ServerFrame::Err {
                            id: None,
                            code: ErrorCode::BadRequest,
                            message: &e.to_string(),
                            subject: None,
                        };
                        let write = async {
                            sink.feed(Frame::from(frame.encode())).await?;
                            sink.flush().await
                        };
                        let write_timeout = Duration::from_millis(shared.config.write_timeout_ms);
                        match tokio::time::timeout(write_timeout, write).await {
                            Ok(Ok(())) => continue,
                            _ => Err(None),
                        }
                    }
                }
            }
            Ok(Inbound::Frame(bytes)) => match ClientFrame::parse(&bytes) {
                Ok(ClientFrame::Auth { token, .. }) => Ok(Start::Client(verify(shared, &token).await?, None)),
                _ if hs.entry == Entry::Private => Err(Some(CloseCode::Unauthorized)),
                _ => Ok(Start::Client(as_guest(), Some(bytes))),
            },
        };
    }
}

/// A user identity from a token, or the close it earns.
async fn verify(shared: &Shared, token: &str) -> Result<Authenticated, Option<CloseCode>> {
    match shared.auth.verify(token).await {
        Ok(claims) => Ok(Authenticated {
            identity: claims.identity(),
            expires_at: Some(instant_of(claims.exp)),
        }),
        Err(e) => {
            tracing::debug!(reason = %e, "token refused");
            Err(Some(CloseCode::Unauthorized))
        }
    }
}

/// The monotonic instant of a Unix time in seconds.
fn instant_of(unix_secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(unix_secs.saturating_sub(unix_now()))
}

fn guest() -> Identity {
    Identity::guest(&ids::random_hex(8))
}

/// A welcomed connection's state, owned by its reading task.
struct Session {
    shared: Arc<Shared>,
    /// This connection's number on the bridge.
    conn: ConnId,
    /// `Chorus-Conn` and the welcome's `conn`: unique across bridges.
    conn_name: String,
    /// Who the connection is.
    identity: Identity,
    /// When its token expires (refreshed by `auth` frames); `None` for guests.
    expires_at: Option<Instant>,
    /// To the writer.
    outbox: Outbox,
    /// Subjects subscribed, exactly as the client named them.
    subs: HashSet<String>,
    /// Rights given by workers beyond the policy, until they expire or are revoked.
    grants: Vec<Grant>,
    /// Frame budget.
    rate: FrameRate,
    /// Requests in flight.
    inflight: Arc<Semaphore>,
}

impl Session {
    fn new(shared: Arc<Shared>, conn: ConnId, authenticated: Authenticated, outbox: Outbox) -> Session {
        Session {
            conn_name: format!("{}-{conn}", shared.bridge_id),
            rate: FrameRate::new(&shared.config),
            inflight: Arc::new(Semaphore::new(shared.config.max_inflight)),
            subs: HashSet::new(),
            grants: Vec::new(),
            shared,
            conn,
            identity: authenticated.identity,
            expires_at: authenticated.expires_at,
            outbox,
        }
    }

    fn welcome(&self) {
        let frame = ServerFrame::Welcome {
            conn: &self.conn_name,
            user: &self.identity,
            limits: &self.shared.limits,
        };
        self.send("welcome", frame.encode());
    }

    fn send(&self, op: &'static str, text: String) {
        send(&self.shared, &self.outbox, op, text);
    }

    fn ok(&self, id: &str) {
        self.send("ok", ServerFrame::Ok { id }.encode());
    }

    fn err(&self, id: Option<&str>, code: ErrorCode, message: &str) {
        send_err(&self.shared, &self.outbox, id, code, message);
    }

    /// Acts on one frame from the client. Boxed: the futures of the rarer ops (a NATS
    /// subscribe, a publish) are large, and an idle connection should not carry their space.
    async fn handle(&mut self, bytes: Bytes) {
        Box::pin(self.handle_frame(bytes)).await
    }

    async fn handle_frame(&mut self, bytes: Bytes) {
        let frame = match ClientFrame::parse(&bytes) {
            Ok(frame) => frame,
            Err(e) => {
                self.shared.metrics.frame_in("invalid");
                return self.err(e.id.as_deref(), ErrorCode::BadRequest, &e.message);
            }
        };
        self.shared.metrics.frame_in(frame.op());
        match self.rate.check() {
            Verdict::Allow => {}
            Verdict::Limit => return self.err(frame_id(&frame), ErrorCode::RateLimited, "slow down"),
            Verdict::Abuse => {
                self.outbox.ctl.close(CloseCode::RateLimited);
                return;
            }
        }
        match frame {
            ClientFrame::Ping { id } => self.send("pong", ServerFrame::Pong { id: id.as_deref() }.encode()),
            ClientFrame::Sub { id, subject } => self.subscribe(&id, subject).await,
            ClientFrame::Unsub { id, subject } => self.unsubscribe(&id, &subject).await,
            ClientFrame::Pub {
                id,
                subject,
                data,
                traceparent,
            } => {
                let payload = data
                    .map(|d| bytes.slice_ref(d.get().as_bytes()))
                    .unwrap_or_default();
                self.publish(id.as_deref(), &subject, payload, traceparent.as_deref())
                    .await
            }
            ClientFrame::Req {
                id,
                subject,
                data,
                timeout_ms,
                traceparent,
            } => {
                let payload = data
                    .map(|d| bytes.slice_ref(d.get().as_bytes()))
                    .unwrap_or_default();
                self.request(id, subject, payload, timeout_ms, traceparent.as_deref())
            }
            ClientFrame::Auth { id, token } => self.refresh_token(id.as_deref(), &token).await,
        }
    }

    /// An `auth` frame on a live connection: a fresh token for the same user extends it.
    async fn refresh_token(&mut self, id: Option<&str>, token: &str) {
        if self.identity.ns == Namespace::Guest {
            return self.err(
                id,
                ErrorCode::Unauthorized,
                "a guest connection cannot sign in; reconnect with the token",
            );
        }
        match self.shared.auth.verify(token).await {
            Ok(claims) if claims.sub == self.identity.id => {
                self.expires_at = Some(instant_of(claims.exp));
                self.ok(id.unwrap_or("auth"))
            }
            Ok(_) => self.err(id, ErrorCode::Unauthorized, "the token is for another user"),
            Err(e) => self.err(id, ErrorCode::Unauthorized, &e.to_string()),
        }
    }

    fn allowed(&self, action: Action, subject: &str) -> bool {
        let now = unix_now();
        self.shared
            .policy
            .allows(self.identity.ns, &self.identity.id, action, subject)
            || self.grants.iter().any(|g| g.allows(action, subject, now))
    }

    /// A grant, revoke or kick from a worker.
    async fn apply(&mut self, command: &Command) {
        match command {
            Command::Grant(grant) => self.grants.push(grant.clone()),
            Command::Revoke(patterns) => {
                self.grants = self.grants.iter().filter_map(|g| g.without(patterns)).collect();
                self.drop_unallowed_subs().await;
            }
            Command::Kick(kick) => {
                if kick.except_conn.as_deref() != Some(self.conn_name.as_str()) {
                    self.err(None, ErrorCode::Revoked, &kick.reason);
                    self.outbox.ctl.close(CloseCode::Revoked);
                }
            }
        }
    }

    /// Drops the subscriptions the policy and the remaining grants no longer allow, and
    /// tells the client (`err revoked` naming the subject).
    async fn drop_unallowed_subs(&mut self) {
        let gone: Vec<String> = self
            .subs
            .iter()
            .filter(|s| !self.allowed(Action::Sub, s))
            .cloned()
            .collect();
        for subject in gone {
            self.subs.remove(&subject);
            self.shared.fanout.leave(&subject, self.conn).await;
            self.shared.metrics.error(ErrorCode::Revoked);
            let frame = ServerFrame::Err {
                id: None,
                code: ErrorCode::Revoked,
                message: "the right to this subscription was revoked",
                subject: Some(&subject),
            };
            self.send("err", frame.encode());
        }
    }

    async fn subscribe(&mut self, id: &str, subject: String) {
        if let Err(e) = subject::validate_pattern(&subject) {
            return self.err(Some(id), ErrorCode::BadRequest, &e.to_string());
        }
        if !self.allowed(Action::Sub, &subject) {
            return self.err(
                Some(id),
                ErrorCode::Forbidden,
                "not allowed to subscribe to that subject",
            );
        }
        if self.subs.contains(&subject) {
            return self.ok(id);
        }
        if self.subs.len() >= self.shared.config.max_subs {
            return self.err(Some(id), ErrorCode::Forbidden, "subscription limit reached");
        }
        match self
            .shared
            .fanout
            .join(&subject, self.conn, self.outbox.clone())
            .await
        {
            Ok(()) => {
                self.subs.insert(subject);
                self.ok(id)
            }
            Err(_) => self.err(
                Some(id),
                ErrorCode::Unavailable,
                "the bus refused the subscription",
            ),
        }
    }

    async fn unsubscribe(&mut self, id: &str, subject: &str) {
        if !self.subs.remove(subject) {
            return self.err(Some(id), ErrorCode::NotFound, "not subscribed to that subject");
        }
        self.shared.fanout.leave(subject, self.conn).await;
        self.ok(id)
    }

    /// The headers on everything this connection forwards: its identity, whatever the
    /// client may have claimed, and a `traceparent`.
    fn headers(&self, traceparent: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(headers::USER, self.identity.id.as_str());
        h.insert(headers::NAME, self.identity.name.as_str());
        h.insert(headers::NS, self.identity.ns.as_str());
        h.insert(headers::CONN, self.conn_name.as_str());
        h.insert(headers::TRACEPARENT, trace::traceparent(traceparent).as_str());
        h
    }

    async fn publish(&self, id: Option<&str>, subject: &str, payload: Bytes, traceparent: Option<&str>) {
        if let Err(e) = subject::validate_subject(subject) {
            return self.err(id, ErrorCode::BadRequest, &e.to_string());
        }
        if !self.allowed(Action::Pub, subject) {
            return self.err(id, ErrorCode::Forbidden, "not allowed to publish on that subject");
        }
        let headers = self.headers(traceparent);
        match self
            .shared
            .nats
            .publish_with_headers(subject.to_string(), headers, payload)
            .await
        {
            Ok(()) => {
                if let Some(id) = id {
                    self.ok(id)
                }
            }
            Err(e) => {
                let code = match e.kind() {
                    async_nats::client::PublishErrorKind::MaxPayloadExceeded => ErrorCode::TooLarge,
                    _ => ErrorCode::Unavailable,
                };
                self.err(id, code, "publish failed")
            }
        }
    }

    fn request(
        &self,
        id: String,
        subject: String,
        payload: Bytes,
        timeout_ms: Option<u64>,
        traceparent: Option<&str>,
    ) {
        if let Err(e) = subject::validate_subject(&subject) {
            return self.err(Some(&id), ErrorCode::BadRequest, &e.to_string());
        }
        if !self.allowed(Action::Req, &subject) {
            return self.err(
                Some(&id),
                ErrorCode::Forbidden,
                "not allowed to request that subject",
            );
        }
        let Ok(permit) = self.inflight.clone().try_acquire_owned() else {
            return self.err(Some(&id), ErrorCode::RateLimited, "too many requests in flight");
        };
        let config = &self.shared.config;
        let timeout = timeout_ms
            .unwrap_or(config.req_timeout_ms)
            .clamp(1, config.max_req_timeout_ms);
        let request = async_nats::Request::new()
            .headers(self.headers(traceparent))
            .payload(payload)
            .timeout(Some(Duration::from_millis(timeout)));
        let (shared, outbox) = (self.shared.clone(), self.outbox.clone());
        tokio::spawn(async move {
            let result = shared.nats.send_request(subject, request).await;
            drop(permit);
            let reply = match result {
                Ok(reply) => reply,
                Err(e) => {
                    let (code, message) = match e.kind() {
                        RequestErrorKind::TimedOut => (ErrorCode::Timeout, "no reply in time"),
                        RequestErrorKind::NoResponders => {
                            (ErrorCode::Unavailable, "nobody serves that subject")
                        }
                        RequestErrorKind::MaxPayloadExceeded => (ErrorCode::TooLarge, "request too large"),
                        RequestErrorKind::InvalidSubject => (ErrorCode::BadRequest, "invalid subject"),
                        RequestErrorKind::Other => (ErrorCode::Unavailable, "the bus is unavailable"),
                    };
                    return send_err(&shared, &outbox, Some(&id), code, message);
                }
            };
            if let Some(code) = reply.headers.as_ref().and_then(|h| h.get(headers::ERROR)) {
                let code = ErrorCode::from_header(code.as_str());
                let message = String::from_utf8_lossy(&reply.payload);
                let message = truncate(&message, 512);
                return send_err(&shared, &outbox, Some(&id), code, message);
            }
            let data = RawValue::from_string(payload_json(&reply.payload).into_owned())
                .expect("payload_json is valid JSON");
            send(
                &shared,
                &outbox,
                "reply",
                ServerFrame::Reply { id: &id, data: &data }.encode(),
            );
        });
    }

    /// Drops every subscription (the session is over).
    async fn leave_all(&mut self) {
        for subject in self.subs.drain() {
            self.shared.fanout.leave(&subject, self.conn).await;
        }
    }
}

fn frame_id<'a>(frame: &'a ClientFrame) -> Option<&'a str> {
    match frame {
        ClientFrame::Sub { id, .. } | ClientFrame::Unsub { id, .. } | ClientFrame::Req { id, .. } => Some(id),
        ClientFrame::Pub { id, .. } | ClientFrame::Ping { id } | ClientFrame::Auth { id, .. } => {
            id.as_deref()
        }
    }
}

fn send(shared: &Shared, outbox: &Outbox, op: &'static str, text: String) {
    if outbox.push(Frame::from(text)) {
        shared.metrics.frames_out(op, 1);
    }
}

fn send_err(shared: &Shared, outbox: &Outbox, id: Option<&str>, code: ErrorCode, message: &str) {
    shared.metrics.error(code);
    send(
        shared,
        outbox,
        "err",
        ServerFrame::Err {
            id,
            code,
            message,
            subject: None,
        }
        .encode(),
    );
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
