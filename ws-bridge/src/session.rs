//! One client of the wire contract, from `welcome` to the end: its reading loop, and the
//! path every frame takes, from parse through the rate limit and the rights check to the
//! fan-out (`sub`, `unsub`) or to NATS (`pub`, `req`, through [`forward`]).
//!
//! The reading half runs here; a writer task (`writer`) owns the writing half and the
//! outbound queue, so nothing this side does ever waits on a slow socket.

use crate::command::Command;
use crate::fanout::ConnId;
use crate::forward;
use crate::handshake::{Authenticated, instant_of};
use crate::lifecycle::{self, Opened};
use crate::limits::{FrameRate, Verdict};
use crate::outbound::Outbox;
use crate::presence;
use crate::rights::Rights;
use crate::shared::Shared;
use crate::trace;
use crate::transport::{Inbound, Sink, Source};
use bytes::Bytes;
use chorus_protocol::frame::{ClientFrame, ServerFrame};
use chorus_protocol::grant::Grant;
use chorus_protocol::policy::Action;
use chorus_protocol::{CloseCode, ErrorCode, Identity, Namespace, subject};
use chorus_runtime::clock::unix_now;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

/// Runs a welcomed client to its end; `first_frame` is one it sent before `welcome`.
pub(crate) async fn run<Src: Source, Snk: Sink>(
    shared: Arc<Shared>,
    mut source: Src,
    sink: Snk,
    authenticated: Authenticated,
    first_frame: Option<Bytes>,
) {
    let opened = lifecycle::open(&shared, sink, &authenticated.identity.id);
    let ctl = opened.ctl.clone();
    let mut session = Session::new(shared.clone(), &opened, authenticated);
    // A signed-in user's grants follow them across reconnects; a guest's id dies with its
    // connection, so there is nothing stored to load. (The futures of this and the other
    // rare steps are boxed: large, and every idle connection carries this one's space.)
    let private = session.identity.ns == Namespace::Private;
    if private {
        let stored = Box::pin(load_grants(&shared, &session.identity.id)).await;
        session.rights.grant(stored);
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
        let grant_ends = session.rights.next_expiry();
        tokio::select! {
            _ = ctl.closed() => break,
            commands = ctl.commands() => {
                for command in commands {
                    Box::pin(session.apply(&command)).await;
                }
            }
            _ = sleep_until(grant_ends.map(instant_of).unwrap_or_else(Instant::now)), if grant_ends.is_some() => {
                session.rights.expire();
                Box::pin(session.drop_unallowed_subs()).await;
            }
            _ = sleep_until(expires_at.unwrap_or_else(Instant::now)), if expires_at.is_some() => {
                session.outbox.send_err(None, ErrorCode::Unauthorized, "token expired");
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
    // Every connection's end is told, guests' too: what a connection started (a
    // matchmaking ticket) ends with it. Only signed-in users are announced online.
    Box::pin(presence::disconnected(
        &shared,
        &session.conn_name,
        &session.identity,
    ))
    .await;
    Box::pin(lifecycle::finish(&shared, opened, source)).await;
}

/// The user's stored grants.
async fn load_grants(shared: &Shared, user: &str) -> Vec<Grant> {
    match shared.grants().await {
        Some(store) => store.load(user, unix_now()).await,
        None => Vec::new(),
    }
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
    /// The grants it holds beyond the policy.
    rights: Rights,
    /// Frame budget.
    rate: FrameRate,
    /// Requests in flight.
    inflight: Arc<Semaphore>,
}

impl Session {
    fn new(shared: Arc<Shared>, opened: &Opened, authenticated: Authenticated) -> Session {
        Session {
            conn_name: format!("{}-{}", shared.bridge_id, opened.conn),
            rate: FrameRate::new(&shared.config),
            inflight: Arc::new(Semaphore::new(shared.config.max_inflight)),
            subs: HashSet::new(),
            rights: Rights::default(),
            conn: opened.conn,
            identity: authenticated.identity,
            expires_at: authenticated.expires_at,
            outbox: opened.outbox.clone(),
            shared,
        }
    }

    fn welcome(&self) {
        let frame = ServerFrame::Welcome {
            conn: &self.conn_name,
            user: &self.identity,
            limits: &self.shared.limits,
        };
        self.outbox.send("welcome", frame.encode());
    }

    fn ok(&self, id: &str) {
        self.outbox.send("ok", ServerFrame::Ok { id }.encode());
    }

    fn err(&self, id: Option<&str>, code: ErrorCode, message: &str) {
        self.outbox.send_err(id, code, message);
    }

    fn allowed(&self, action: Action, subject: &str) -> bool {
        self.rights
            .allows(&self.shared.policy, &self.identity, action, subject)
    }

    /// Acts on one frame from the client. Boxed: the futures of the rarer ops (a NATS
    /// subscribe, a publish) are large, and an idle connection should not carry their space.
    async fn handle(&mut self, bytes: Bytes) {
        Box::pin(self.handle_frame(bytes)).await
    }

    /// The path of a frame: parse, rate, then the op.
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
        // `data` stays the client's raw bytes: sliced out of the frame, never re-encoded.
        let payload = |data: Option<&serde_json::value::RawValue>| {
            data.map(|d| bytes.slice_ref(d.get().as_bytes()))
                .unwrap_or_default()
        };
        match frame {
            ClientFrame::Ping { id } => self
                .outbox
                .send("pong", ServerFrame::Pong { id: id.as_deref() }.encode()),
            ClientFrame::Sub { id, subject } => self.subscribe(&id, subject).await,
            ClientFrame::Unsub { id, subject } => self.unsubscribe(&id, &subject).await,
            ClientFrame::Pub {
                id,
                subject,
                data,
                traceparent,
            } => {
                let id = id.as_deref();
                if let Err(e) = subject::validate_subject(&subject) {
                    return self.err(id, ErrorCode::BadRequest, &e.to_string());
                }
                if !self.allowed(Action::Pub, &subject) {
                    return self.err(id, ErrorCode::Forbidden, "not allowed to publish on that subject");
                }
                let (span, traceparent) = trace::hop("pub", &subject, traceparent.as_deref());
                let headers = forward::headers(&self.identity, &self.conn_name, &traceparent);
                let payload = payload(data);
                forward::publish(&self.shared, &self.outbox, id, &subject, headers, payload)
                    .instrument(span)
                    .await
            }
            ClientFrame::Req {
                id,
                subject,
                data,
                timeout_ms,
                traceparent,
            } => {
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
                let timeout_ms = timeout_ms
                    .unwrap_or(config.req_timeout_ms)
                    .clamp(1, config.max_req_timeout_ms);
                let (span, traceparent) = trace::hop("req", &subject, traceparent.as_deref());
                let request = forward::Request {
                    headers: forward::headers(&self.identity, &self.conn_name, &traceparent),
                    span,
                    payload: payload(data),
                    timeout: Duration::from_millis(timeout_ms),
                    permit,
                    id,
                    subject,
                };
                forward::request(self.shared.clone(), self.outbox.clone(), request)
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

    /// A grant, revoke or kick from a worker.
    async fn apply(&mut self, command: &Command) {
        match command {
            Command::Grant(grant) => self.rights.grant([grant.clone()]),
            Command::Revoke(patterns) => {
                self.rights.revoke(patterns);
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
            self.outbox.send("err", frame.encode());
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

    /// Drops every subscription (the session is over).
    async fn leave_all(&mut self) {
        for subject in self.subs.drain() {
            self.shared.fanout.leave(&subject, self.conn).await;
        }
    }
}

/// The `id` a frame carries, for an error about it.
fn frame_id<'a>(frame: &'a ClientFrame) -> Option<&'a str> {
    match frame {
        ClientFrame::Sub { id, .. } | ClientFrame::Unsub { id, .. } | ClientFrame::Req { id, .. } => Some(id),
        ClientFrame::Pub { id, .. } | ClientFrame::Ping { id } | ClientFrame::Auth { id, .. } => {
            id.as_deref()
        }
    }
}
