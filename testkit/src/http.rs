//! A minimal HTTP/1.0 GET for nats-server's monitoring endpoints (`/varz`, `/connz`, …).
//!
//! No HTTP client crate: one request over a `TcpStream`, read until the server closes,
//! split head from body, insist on `200`, parse the body as JSON.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Error;

/// How long one monitoring request may take end to end.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `GET base + path_and_query` (base like `http://127.0.0.1:8222`) and parse the JSON body.
pub async fn get_json(base: &str, path_and_query: &str) -> Result<serde_json::Value, Error> {
    let url = format!("{base}{path_and_query}");
    let http_err = |detail: String| Error::Http {
        url: url.clone(),
        detail,
    };
    let host = base
        .strip_prefix("http://")
        .ok_or_else(|| http_err("only http:// is supported".into()))?;
    let path = if path_and_query.starts_with('/') {
        path_and_query.to_string()
    } else {
        format!("/{path_and_query}")
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
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(http_err(format!("status line {status:?}")));
    }
    serde_json::from_slice(&raw[split + 4..]).map_err(|e| http_err(format!("body is not JSON: {e}")))
}
