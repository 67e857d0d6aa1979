//! Logs and traces for every binary. Logs go to stderr as text or JSON lines. Traces go to
//! an OpenTelemetry collector over OTLP/HTTP (JSON, `{endpoint}/v1/traces`) only when an
//! endpoint is given (every binary reads `OTEL_EXPORTER_OTLP_ENDPOINT`, the standard
//! variable; the other `OTEL_*` exporter variables, e.g. `OTEL_BSP_SCHEDULE_DELAY`, apply
//! too). Without one, no span is made or exported and the helpers below cost nothing.
//!
//! A request's trace crosses processes in the W3C `traceparent` header that the bridge puts
//! on everything it forwards: [`continue_trace`] makes a span a child of it, and
//! [`traceparent_of`] gives the header that continues a span's trace in the next hop.

use crate::logging::log_filter;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Whether spans are exported: set once, at [`Telemetry::init`].
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from its settings.
    #[error("OTLP trace exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The process's logging and tracing. Keep it until the process ends: dropping it exports
/// the spans still buffered.
pub struct Telemetry {
    /// The span pipeline, when exporting.
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Logs to stderr with `filter` (see [`log_filter`]) as `format` (`json`, else text,
    /// coloured only on a terminal),
    /// and exports spans as `service` (e.g. `chorus-bridge`) to the OTLP/HTTP collector at
    /// `endpoint` (e.g. `http://otel-collector:4318`), if any.
    pub fn init(
        service: &str,
        filter: &str,
        format: &str,
        endpoint: Option<&str>,
    ) -> Result<Telemetry, TelemetryError> {
        // Colours only for a person at a terminal: a log file or a collector gets plain text.
        let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let logs = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour);
        let logs = if format == "json" {
            logs.json().boxed()
        } else {
            logs.boxed()
        };
        let endpoint = endpoint.map(str::trim).filter(|e| !e.is_empty());
        let provider = if let Some(endpoint) = endpoint {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
                .build()?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_string())
                .build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        } else {
            None
        };
        let spans = provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service.to_string())));
        tracing_subscriber::registry()
            .with(log_filter(filter))
            .with(logs)
            .with(spans)
            .init();
        EXPORTING.store(provider.is_some(), Ordering::Release);
        Ok(Telemetry { provider })
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Exports what is buffered; a collector that is gone is not worth a hang.
            let _ = provider.shutdown();
        }
    }
}

/// Whether spans are exported (so that callers can skip the work when they are not).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Acquire)
}

/// Makes `span` a child of the trace in `traceparent` (a W3C header value), when spans are
/// exported and the header is valid; otherwise `span` starts its own trace.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent.filter(|_| exporting()) else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    let _ = span.set_parent(parent);
}

/// The `traceparent` that continues `span`'s trace in the next hop, when spans are exported.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    if !exporting() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove("traceparent")
}
