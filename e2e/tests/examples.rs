//! The examples a game developer runs by hand stay runnable: `examples/three_events.py`
//! against the platform as `scripts/run` starts it does broadcast, send_message and
//! buy_good, and says so.

mod common;

use chorus_testkit::bin::workspace_root;
use common::run::Platform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_events_runs_against_scripts_run() {
    let mut up = Platform::up().await;
    let tcp = up.tcp;

    let out = tokio::process::Command::new("python3")
        .arg(workspace_root().join("examples/three_events.py"))
        .env("CHORUS_TCP_ADDR", tcp.to_string())
        .output()
        .await
        .expect("running python3");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "three_events.py failed:\n{said}\n{}",
        up.run.logs()
    );
    for event in ["broadcast", "send_message", "buy_good"] {
        assert!(said.contains(event), "no word of {event}:\n{said}");
    }
    assert!(
        !said.to_lowercase().contains("skipped"),
        "a step was skipped:\n{said}"
    );
    assert!(up.run.terminate().await.code().is_some());
}
