//! Serves the static web app from `CHORUS_WEB_DIR`, and the game files from
//! `CHORUS_GAMES_DIR` at `/games/`, so a laptop needs one port and the browser loads the very
//! files the rooms worker runs. Only plain files under those directories; `..`, hidden paths
//! and `node_modules` (a developer's test tooling) are refused.

use crate::response::{Body, text};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};
use std::path::Path;

/// Where the game files are served.
pub const GAMES_PREFIX: &str = "/games/";

/// The file at `path` under `dir` (`/` is `index.html`).
pub async fn serve(dir: &Path, path: &str) -> Response<Body> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_string()
    };
    if rel
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.') || part == "node_modules")
    {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    match tokio::fs::read(dir.join(&rel)).await {
        Ok(bytes) => Response::builder()
            .header(header::CONTENT_TYPE, content_type(&rel))
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Full::new(Bytes::from(bytes)))
            .expect("static response parts are valid"),
        Err(_) => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
