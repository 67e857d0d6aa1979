//! `chorus-bridge`: reads its settings (flags, `CHORUS_*` env, optional `CHORUS_CONFIG`
//! file), connects to NATS, binds its listeners and runs until SIGTERM or Ctrl-C.

use anyhow::Context;
use chorus_bridge::{Config, Listeners};
use chorus_protocol::policy::Policy;
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    // Before the runtime starts threads: this may set environment variables.
    load_config_file()?;
    let config = Config::parse();
    init_logging(&config);
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

/// Copies `KEY=value` pairs from the `CHORUS_CONFIG` file into the environment, without
/// overriding variables already set, so clap sees one list of settings.
fn load_config_file() -> anyhow::Result<()> {
    let Ok(path) = std::env::var("CHORUS_CONFIG") else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading CHORUS_CONFIG {path}"))?;
    for (key, value) in
        chorus_protocol::envfile::parse(&text).with_context(|| format!("CHORUS_CONFIG {path}"))?
    {
        if std::env::var_os(&key).is_none() {
            // SAFETY: called first thing in main, before any other thread exists.
            unsafe { std::env::set_var(key, value) };
        }
    }
    Ok(())
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
