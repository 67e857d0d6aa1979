//! The few lines of HTTP/1.0 tests need: a JSON `GET` for nats-server's monitoring endpoints
//! (`/varz`, `/connz`, …), a bare status code, and [`wait_ready`], the one loop that waits
//! for a component to answer `200` on its readiness path (the bridge's and the workers'
//! `/readyz`).
//!
//! No HTTP client crate: one request over a `TcpStream`, read until the server closes,
//! split head from body.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Error;

/// How long one request may take end to end.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`wait_ready`] waits for `200`: far more than a healthy start-up takes on a
/// loaded machine, and still a bounded failure for one that never comes up.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`try_wait_ready`] asks again. Nothing announces readiness, so it is polled.
const READY_POLL: Duration = Duration::from_millis(20);

/// `GET base + path_and_query` (base like `http://127.0.0.1:8222`) and parse the JSON body.
pub async fn get_json(base: &str, path_and_query: &str) -> Result<serde_json::Value, Error> {
    let url = format!("{base}{path_and_query}");
    let host = base.strip_prefix("http://").ok_or_else(|| Error::Http {
        url: url.clone(),
        detail: "only http:// is supported".into(),
    })?;
    let (status, body) = get(host, path_and_query).await?;
    if status != 200 {
        return Err(Error::Http {
            url,
            detail: format!("status {status}"),
        });
    }
    serde_json::from_slice(&body).map_err(|e| Error::Http {
        url,
        detail: format!("body is not JSON: {e}"),
    })
}

/// The status code of `GET http://{addr}{path}`; an error when nothing answers.
pub async fn status(addr: SocketAddr, path: &str) -> Result<u16, Error> {
    Ok(get(&addr.to_string(), path).await?.0)
}

/// Waits until `GET http://{addr}{path}` answers `200`, at most [`READY_TIMEOUT`]: how a
/// test knows a component it started serves, instead of guessing with a sleep.
///
/// # Panics
/// When it does not answer `200` in time.
pub async fn wait_ready(addr: SocketAddr, path: &str) {
    try_wait_ready(addr, path, READY_TIMEOUT, || Ok(()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Like [`wait_ready`], waiting at most `within`, and asking `alive` before every attempt:
/// an `Err` from it (say, [`Error::Exited`] when the process that should answer is gone)
/// ends the wait at once, since that process will never be ready.
pub async fn try_wait_ready(
    addr: SocketAddr,
    path: &str,
    within: Duration,
    mut alive: impl FnMut() -> Result<(), Error>,
) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        alive()?;
        let last = match status(addr, path).await {
            Ok(200) => return Ok(()),
            Ok(code) => format!("status {code}"),
            Err(e) => e.to_string(),
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Unready {
                url: format!("http://{addr}{path}"),
                secs: within.as_secs(),
                last,
            });
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// One `GET` to `host` (`127.0.0.1:PORT`): the status code and the body.
async fn get(host: &str, path: &str) -> Result<(u16, Vec<u8>), Error> {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let http_err = |detail: String| Error::Http {
        url: format!("http://{host}{path}"),
        detail,
    };
    let exchange = async {
        let mut stream = TcpStream::connect(host).await?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| http_err(format!("no answer within {} s", TIMEOUT.as_secs())))?
        .map_err(|e| http_err(e.to_string()))?;

    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| http_err("response has no header/body separator".into()))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| http_err(format!("status line {status_line:?}")))?;
    Ok((status, raw[split + 4..].to_vec()))
}
