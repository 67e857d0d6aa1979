//! Plain HTTP responses for everything the bridge answers without a WebSocket: the body
//! type and the text and JSON helpers the endpoints share.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};

/// Response body for everything but upgrades.
pub type Body = Full<Bytes>;

/// A plain-text response.
pub fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static response parts are valid")
}
