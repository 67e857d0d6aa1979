//! `chorus-bridge`: reads its settings (flags, `CHORUS_*` env, optional `CHORUS_CONFIG`
//! file), connects to NATS, binds its listeners and runs until SIGTERM or Ctrl-C.

use anyhow::Context;
use chorus_bridge::{Config, Listeners};
use chorus_protocol::policy::Policy;
use chorus_runtime::config_file::load_config_file;
use chorus_runtime::shutdown::shutdown_signal;
use chorus_runtime::telemetry::Telemetry;
use clap::Parser;
use tokio::net::TcpListener;

fn main() -> anyhow::Result<()> {
    // Before the runtime starts threads: this may set environment variables.
    load_config_file()?;
    let config = Config::parse();
    // Held until the bridge ends, so the last spans are exported.
    let _telemetry = Telemetry::init(
        "chorus-bridge",
        &config.log,
        &config.log_format,
        config.otlp_endpoint.as_deref(),
    )?;
    tokio::runtime::Runtime::new()?.block_on(run(config))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let policy = match &config.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading policy {}", path.display()))?;
            Policy::from_json(&text).with_context(|| format!("policy {}", path.display()))?
        }
        None => Policy::default(),
    };

    let nats = async_nats::ConnectOptions::new()
        .name("chorus-bridge")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(|event| async move { tracing::info!(%event, "nats") })
        .connect(config.nats_url.as_str())
        .await
        .context("connecting to NATS")?;

    let http = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding {}", config.http_addr))?;
    let tcp = match config.tcp_addr() {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?,
        ),
        None => None,
    };
    tracing::info!(
        http = %http.local_addr()?,
        tcp = ?tcp.as_ref().map(|l| l.local_addr()).transpose()?,
        nats = %config.nats_url,
        "chorus-bridge listening"
    );
    chorus_bridge::run(Listeners { http, tcp }, nats, config, policy, shutdown_signal()).await?;
    tracing::info!("chorus-bridge stopped");
    Ok(())
}
