//! The log filter of every binary, from `CHORUS_LOG`, with the libraries whose verbose
//! lines would carry secrets held at `info`. (Output is set up by `telemetry`.)

use tracing_subscriber::EnvFilter;

/// Libraries whose debug and trace lines carry what must never be logged (SQL parameters
/// such as password hashes, frames, headers with tokens): held at `info` whatever the
/// filter says.
pub const QUIET_LIBRARIES: &[&str] = &[
    "tokio_postgres",
    "async_nats",
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "h2",
    "reqwest",
];

/// The filter `spec` (falling back to `info`), with [`QUIET_LIBRARIES`] held at `info`.
pub fn log_filter(spec: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for library in QUIET_LIBRARIES {
        filter = filter.add_directive(format!("{library}=info").parse().expect("a valid directive"));
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn chatty_libraries_stay_at_info_even_when_asked_for_more() {
        let filter = log_filter("debug,tokio_postgres=trace,hyper=debug").to_string();
        assert!(filter.contains("tokio_postgres=info"), "{filter}");
        assert!(!filter.contains("tokio_postgres=trace"), "{filter}");
        assert!(filter.contains("hyper=info"), "{filter}");
        assert!(!filter.contains("hyper=debug"), "{filter}");
        assert!(filter.contains("debug"), "{filter}");
    }
}
