//! The message the publisher sends and the subscribers time: `{"t":<ns>,"s":<seq>,"p":"xx…"}`,
//! padded to the requested size. `t` is nanoseconds since the run's shared `Instant`.
//!
//! Subscribers only ever look for `"t":` and read the digits after it: a scan, not a JSON
//! parse, because the bench's CPU is taken from the servers it measures.

use std::io::Write;

/// Writes one payload of (at least) `size` bytes into `out`, replacing its contents.
/// The payload is longer than `size` only when `size` cannot hold the two numbers.
pub fn build(out: &mut Vec<u8>, t_ns: u64, seq: u64, size: usize) {
    out.clear();
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{{\"t\":{t_ns},\"s\":{seq},\"p\":\"");
    let pad = size.saturating_sub(out.len() + 2);
    out.resize(out.len() + pad, b'x');
    out.extend_from_slice(b"\"}");
}

/// The send time carried by a payload (or a whole frame holding one), if any.
pub fn find_t(bytes: &[u8]) -> Option<u64> {
    let at = memfind(bytes, b"\"t\":")? + 4;
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in bytes[at..].iter().skip_while(|&&b| b == b' ') {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
        digits += 1;
    }
    (digits > 0).then_some(value)
}

/// Where `needle` (4 bytes or more, starting with `"`) first occurs in `hay`.
fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..hay.len() - needle.len() + 1]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_requested_size_and_reads_t_back() {
        let mut p = Vec::new();
        build(&mut p, 1_234_567_890, 42, 100);
        assert_eq!(p.len(), 100);
        assert_eq!(find_t(&p), Some(1_234_567_890));
        let v: serde_json::Value = serde_json::from_slice(&p).expect("valid JSON");
        assert_eq!(v["s"], 42);
    }

    #[test]
    fn finds_t_inside_a_bridge_frame() {
        let frame =
            br#"{"op":"msg","subject":"bench.x","data":{"t":99,"s":1,"p":"x"},"from":{"id":"g","name":"n"}}"#;
        assert_eq!(find_t(frame), Some(99));
        assert_eq!(find_t(br#"{"op":"ok","id":"1"}"#), None);
    }

    #[test]
    fn small_sizes_still_carry_both_numbers() {
        let mut p = Vec::new();
        build(&mut p, 7, 8, 3);
        assert_eq!(p, br#"{"t":7,"s":8,"p":""}"#);
    }
}
