//! "Up means up": `scripts/run` with the real binaries, from fresh state, is usable the
//! moment it prints `Chorus is up`. Twenty times in a row, each with a new run directory (so
//! the accounts worker makes a new signing key, with a new `kid`), a new database, free
//! ports and its own nats-server: at once, with no retry, a guest signs up and logs in, and
//! the token it gets opens the private endpoint. Then SIGTERM stops the script, and nothing
//! it started is left running.
//!
//! Needs the binaries built beside the tests (`cargo build --workspace --bins`; scripts/test
//! does it). Run with `--nocapture` to see each round's timings.

mod common;

use chorus_testkit::TestDb;
use chorus_testkit::client::Ws;
use chorus_testkit::process::binary;
use common::run::{Run, UP, free_addr, processes_in_group};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// How many fresh starts in a row must all be usable at once.
const ROUNDS: usize = 20;

/// How long each phase of one round took.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// From starting the script to its `Chorus is up` line.
    up: Duration,
    /// From that line to the `welcome` on the private endpoint.
    used: Duration,
    /// From SIGTERM to the script's exit.
    stopped: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_is_usable_the_moment_it_says_up_twenty_times_in_a_row() {
    let bin_dir = binary("chorus-bridge").parent().unwrap().to_path_buf();
    for worker in ["chorus-accounts", "chorus-chat", "chorus-presence"] {
        binary(worker); // each must be built, or the round would run without it
    }
    let mut timings = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        let t = round_trip(round, &bin_dir).await;
        eprintln!(
            "round {round:2}: up in {:>5} ms; signed up, logged in, connected {:>4} ms later; stopped in {:>4} ms",
            t.up.as_millis(),
            t.used.as_millis(),
            t.stopped.as_millis()
        );
        timings.push(t);
    }
    let most = |f: fn(&Timing) -> Duration| timings.iter().map(f).max().unwrap();
    eprintln!(
        "{ROUNDS} rounds: slowest up {} ms, slowest use {} ms, slowest stop {} ms",
        most(|t| t.up).as_millis(),
        most(|t| t.used).as_millis(),
        most(|t| t.stopped).as_millis()
    );
}

/// One round: start the script from fresh state, use the platform the moment it is up,
/// stop it, check nothing is left.
async fn round_trip(round: usize, bin_dir: &Path) -> Timing {
    let state = tempfile::Builder::new().prefix("chorus-run-").tempdir().unwrap();
    let db = TestDb::create().await;
    let (http, tcp) = (free_addr(), free_addr());
    let began = Instant::now();
    let mut run = Run::start(state.path(), bin_dir, &db, http, tcp);
    let mut stdout = BufReader::new(run.child.stdout.take().unwrap()).lines();
    run.await_up(&mut stdout).await;
    let up = began.elapsed();

    let name = format!("user{round}");
    let used_at = Instant::now();
    if let Err(e) = tokio::spawn(sign_up_log_in_connect(http, name)).await {
        eprintln!(
            "round {round} failed right after '{UP}'; the logs:\n{}",
            run.logs()
        );
        std::panic::resume_unwind(e.into_panic());
    }
    let used = used_at.elapsed();
    // The words: "in the next second". (It takes tens of milliseconds.)
    assert!(
        used < Duration::from_secs(1),
        "round {round}: signing up, logging in and connecting took {used:?}"
    );

    let stopping = Instant::now();
    let status = run.terminate().await;
    let stopped = stopping.elapsed();
    assert_eq!(
        status.code(),
        Some(143),
        "round {round}: SIGTERM should end the script with 143"
    );
    let left = processes_in_group(run.pgid);
    assert!(
        left.is_empty(),
        "round {round}: still running after the script exited: {left:?}"
    );
    Timing { up, used, stopped }
}

/// What a new user does first, with no retry: as a guest on the public endpoint, sign up and
/// log in; then open the private endpoint with the access token and be welcomed as that user.
async fn sign_up_log_in_connect(http: SocketAddr, name: String) {
    let login = common::sign_up_and_log_in(http, &name).await;
    let token = login["access_token"].as_str().expect("an access token");
    let path = format!("/core/game/v1/real-time/private?token={token}");
    let (_user, welcome) = Ws::connect(http, &path, &[])
        .await
        .expect("the private endpoint accepts the token");
    assert_eq!(welcome["op"], "welcome", "private: {welcome}");
    assert_eq!(welcome["user"]["ns"], "private", "{welcome}");
    assert_eq!(welcome["user"]["name"], name.as_str(), "{welcome}");
}
