//! Who a new connection is: a guest, a user proven by a token (from the URL, a header or
//! a first `auth` frame), or a small device saying the bare presence hello. Decided
//! before `welcome`, within the first-frame timeout.

use crate::auth::AuthError;
use crate::ids;
use crate::outbound::Frame;
use crate::shared::Shared;
use crate::transport::{Inbound, Sink, Source};
use bytes::Bytes;
use chorus_protocol::device::Hello;
use chorus_protocol::frame::{ClientFrame, ServerFrame};
use chorus_protocol::{CloseCode, ErrorCode, Identity};
use chorus_runtime::clock::unix_now;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

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

/// Who a connection is, and until when (for a token).
pub(crate) struct Authenticated {
    /// The identity it acts as.
    pub identity: Identity,
    /// When its token expires; `None` for guests.
    pub expires_at: Option<Instant>,
}

/// What a connection turned out to be.
pub(crate) enum Start {
    /// A client of the wire contract: the identity to run as, and a first frame to handle
    /// after `welcome` (a client that skipped `auth` on a token-optional endpoint).
    Client(Authenticated, Option<Bytes>),
    /// A small device that said the bare presence hello.
    Device(Hello),
}

/// Who is connecting. `Err(Some(code))`: close with that code; `Err(None)`: the client left.
pub(crate) async fn authenticate<Src: Source, Snk: Sink>(
    shared: &Shared,
    source: &mut Src,
    sink: &mut Snk,
    hs: Handshake,
) -> Result<Start, Option<CloseCode>> {
    let as_guest = || Authenticated {
        identity: Identity::guest(&ids::random_hex(8)),
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
                    // The device may try again; it stays connected.
                    Err(e) => match refuse_hello(shared, sink, &e.to_string()).await {
                        Ok(()) => continue,
                        Err(_) => Err(None),
                    },
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

/// Tells a device its hello was malformed (there is no writer task yet: written here).
async fn refuse_hello<Snk: Sink>(shared: &Shared, sink: &mut Snk, message: &str) -> std::io::Result<()> {
    shared.metrics.error(ErrorCode::BadRequest);
    let frame = ServerFrame::Err {
        id: None,
        code: ErrorCode::BadRequest,
        message,
        subject: None,
    };
    let write = async {
        sink.feed(Frame::from(frame.encode())).await?;
        sink.flush().await
    };
    let write_timeout = Duration::from_millis(shared.config.write_timeout_ms);
    tokio::time::timeout(write_timeout, write)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// A user identity from a token, or the close it earns: `unavailable` (reconnect later)
/// when the keys could not be had, `unauthorized` for a refused token.
async fn verify(shared: &Shared, token: &str) -> Result<Authenticated, Option<CloseCode>> {
    match shared.auth.verify(token).await {
        Ok(claims) => Ok(Authenticated {
            identity: claims.identity(),
            expires_at: Some(instant_of(claims.exp)),
        }),
        Err(AuthError::Unavailable) => {
            tracing::warn!("token not checked: the signing keys are unavailable");
            Err(Some(CloseCode::Unavailable))
        }
        Err(e) => {
            tracing::debug!(reason = %e, "token refused");
            Err(Some(CloseCode::Unauthorized))
        }
    }
}

/// The monotonic instant of a Unix time in seconds.
pub(crate) fn instant_of(unix_secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(unix_secs.saturating_sub(unix_now()))
}
