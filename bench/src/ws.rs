//! A deliberately small WebSocket client: the HTTP upgrade, an in-place frame scanner and a
//! masked frame writer, nothing else.
//!
//! The bench shares two cores with the servers it measures, so the client side of every
//! delivery must cost as little as possible: frames are parsed where they lie in one small
//! read buffer per socket, with no allocation, no UTF-8 validation and no copy per message
//! (a general client such as tungstenite allocates and validates every message). Only what
//! the bench needs is here: no extensions, no TLS, no fragmented-message reassembly (the
//! callers treat payloads as bytes, so fragments need no joining).

use std::io;
use std::net::SocketAddr;

use std::os::fd::AsRawFd;

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Continuation frame opcode.
pub const OP_CONT: u8 = 0x0;
/// Text frame opcode.
pub const OP_TEXT: u8 = 0x1;
/// Binary frame opcode.
pub const OP_BINARY: u8 = 0x2;
/// Close frame opcode.
pub const OP_CLOSE: u8 = 0x8;
/// Ping frame opcode.
pub const OP_PING: u8 = 0x9;
/// Pong frame opcode.
pub const OP_PONG: u8 = 0xA;

/// Initial read buffer per socket; it grows only if a single frame is larger.
const READ_BUF: usize = 4096;
/// Largest frame accepted from a server; anything bigger is a protocol error here.
const MAX_FRAME: usize = 1 << 20;

/// One frame as it lies in the read buffer.
pub struct Frame<'a> {
    /// The frame's opcode (`OP_*`).
    pub opcode: u8,
    /// The (unmasked) payload.
    pub payload: &'a [u8],
}

/// A client connection after a successful upgrade.
pub struct WsConn {
    /// The socket; callers write through [`WsConn::send`] or [`WsConn::write_raw`].
    stream: TcpStream,
    /// Bytes read but not yet consumed as frames: `buf[start..end]`.
    buf: Vec<u8>,
    /// First unconsumed byte in `buf`.
    start: usize,
    /// One past the last byte read into `buf`.
    end: usize,
    /// The masking key used for every frame this client sends (RFC 6455 requires a key;
    /// its unpredictability guards browsers against proxy cache poisoning, not a bench).
    mask: [u8; 4],
}

impl WsConn {
    /// Opens a TCP connection to `addr` and performs the WebSocket upgrade for `path`.
    /// Bytes that arrive right behind the `101` response stay buffered as frames.
    pub async fn connect(addr: SocketAddr, path: &str, seed: u32) -> io::Result<WsConn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut conn = WsConn {
            stream,
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
            mask: mask_from(seed),
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: Y2hvcnVzLWJlbmNoLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        conn.stream.write_all(request.as_bytes()).await?;
        loop {
            if let Some(head_end) = find(&conn.buf[..conn.end], b"\r\n\r\n") {
                let head = &conn.buf[..head_end];
                let status = head.split(|&b| b == b'\r').next().unwrap_or(b"");
                if !status.starts_with(b"HTTP/1.1 101") {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionRefused,
                        format!("upgrade refused: {}", String::from_utf8_lossy(status)),
                    ));
                }
                conn.start = head_end + 4;
                return Ok(conn);
            }
            if conn.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads whatever the socket has into the buffer; `Ok(0)` means the peer closed.
    /// Cancel-safe: nothing changes unless the read completes. One `recv` per wake-up in
    /// the common case (see below): the bench's CPU is the servers' CPU.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let len = self.buf.len() * 2;
                self.buf.resize(len, 0);
            }
        }
        loop {
            self.stream.readable().await?;
            let fd = self.stream.as_raw_fd();
            let buf = &mut self.buf[self.end..];
            let mut short = None;
            let r = self.stream.try_io(Interest::READABLE, || {
                // SAFETY: reading into a live, exclusively borrowed buffer of that length.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                let n = n as usize;
                if n > 0 && n < buf.len() {
                    // A short read drained the socket: report "would block" so the runtime
                    // clears readiness now, instead of a second recv finding EAGAIN. A newer
                    // readiness event is never lost (the runtime compares event ticks).
                    short = Some(n);
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(n)
            });
            let n = match (r, short) {
                (_, Some(n)) | (Ok(n), None) => n,
                (Err(e), None) if retry(&e) => continue,
                (Err(e), None) => return Err(e),
            };
            self.end += n;
            return Ok(n);
        }
    }

    /// Takes the next complete frame out of the buffer, if one is there.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let data = &self.buf[self.start..self.end];
        if data.len() < 2 {
            return Ok(None);
        }
        let opcode = data[0] & 0x0F;
        if data[1] & 0x80 != 0 {
            return Err(bad("server frame is masked"));
        }
        let (len, head) = match data[1] & 0x7F {
            126 if data.len() >= 4 => (u16::from_be_bytes([data[2], data[3]]) as usize, 4),
            127 if data.len() >= 10 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[2..10]);
                (usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX), 10)
            }
            126 | 127 => return Ok(None),
            n => (n as usize, 2),
        };
        if len > MAX_FRAME {
            return Err(bad("frame too large"));
        }
        if data.len() < head + len {
            if head + len > self.buf.len() {
                // Make room for the whole frame so the next fill can complete it.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                self.buf.resize((head + len).next_power_of_two(), 0);
            }
            return Ok(None);
        }
        let from = self.start + head;
        self.start = from + len;
        Ok(Some(Frame {
            opcode,
            payload: &self.buf[from..from + len],
        }))
    }

    /// This connection's masking key, for [`encode_frame`] calls made while a frame from
    /// [`WsConn::next_frame`] is still borrowed.
    pub fn mask(&self) -> [u8; 4] {
        self.mask
    }

    /// Sends one frame.
    pub async fn send(&mut self, opcode: u8, payload: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(payload.len() + 14);
        encode_frame(&mut out, opcode, payload, self.mask);
        self.stream.write_all(&out).await
    }

    /// Writes bytes that already hold encoded frames (see [`encode_frame`]).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }
}

/// Appends one masked client frame (FIN set) to `out`.
pub fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn mask_from(seed: u32) -> [u8; 4] {
    // Any non-trivial key will do; vary it per connection.
    (seed.wrapping_mul(0x9E37_79B9) | 0x0101_0101).to_be_bytes()
}

fn retry(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_frame_round_trips() {
        let mut out = Vec::new();
        encode_frame(&mut out, OP_TEXT, b"hello", [1, 2, 3, 4]);
        assert_eq!(out[0], 0x81);
        assert_eq!(out[1], 0x80 | 5);
        let unmasked: Vec<u8> = out[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ [1, 2, 3, 4][i & 3])
            .collect();
        assert_eq!(unmasked, b"hello");
    }
}
