//! W3C `traceparent` for what the bridge forwards: the client's trace continues with a new
//! span id for the bridge's hop, or a new trace starts when the client sent none (or an
//! invalid one). When spans are exported (`OTEL_EXPORTER_OTLP_ENDPOINT`), the hop is a real
//! span, exported as `chorus-bridge`'s, and the header names it; otherwise only the ids
//! are made up, at no further cost.

use crate::ids::random_hex;
use chorus_runtime::telemetry;

/// The bridge's hop of one forwarded message: its span (disabled when spans are not
/// exported) and the `traceparent` to put on the message.
pub fn hop(kind: &'static str, subject: &str, from_client: Option<&str>) -> (tracing::Span, String) {
    if !telemetry::exporting() {
        return (tracing::Span::none(), traceparent(from_client));
    }
    let span = tracing::info_span!("forward", kind, subject);
    telemetry::continue_trace(&span, from_client.filter(|tp| trace_id_and_flags(tp).is_some()));
    let header = telemetry::traceparent_of(&span).unwrap_or_else(|| traceparent(from_client));
    (span, header)
}

/// The `traceparent` to put on a forwarded message when no span is made.
pub fn traceparent(from_client: Option<&str>) -> String {
    match from_client.and_then(trace_id_and_flags) {
        Some((trace_id, flags)) => format!("00-{trace_id}-{}-{flags}", random_hex(8)),
        None => format!("00-{}-{}-01", random_hex(16), random_hex(8)),
    }
}

/// The trace id and flags of a valid version-00 traceparent.
fn trace_id_and_flags(tp: &str) -> Option<(&str, &str)> {
    let mut parts = tp.split('-');
    let (version, trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let valid = parts.next().is_none()
        && version == "00"
        && hex(trace_id, 32)
        && hex(span_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && span_id.bytes().any(|b| b != b'0');
    valid.then_some((trace_id, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_a_valid_trace_with_a_new_span() {
        let client = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ours = traceparent(Some(client));
        assert!(ours.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(ours.ends_with("-01"));
        assert_ne!(ours, client);
        assert!(trace_id_and_flags(&ours).is_some());
    }

    #[test]
    fn starts_a_trace_when_missing_or_invalid() {
        for bad in [
            None,
            Some("garbage"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        ] {
            let tp = traceparent(bad);
            assert!(trace_id_and_flags(&tp).is_some(), "{tp}");
        }
    }
}
