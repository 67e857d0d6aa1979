//! The small-device client, `examples/devices/python/chorus_device.py`, as a person runs it
//! against the platform `scripts/run` starts: paired once with a device token, then matched
//! into a coin-arena room with a second device (a guest); a button press moves it, and its
//! printed state shows the move. Then a third device, a guest, claims the code the first
//! player's account asks for (as a big screen does) and steers that seat.

mod common;

use chorus_testkit::bin::workspace_root;
use common::run::Platform;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const WAIT: Duration = Duration::from_secs(60);

fn device(tcp: &str, token_file: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(workspace_root().join("examples/devices/python/chorus_device.py"))
        .args(["--addr", tcp, "--token-file"])
        .arg(token_file)
        .args(args)
        .env("CHORUS_DEVICE_PASSWORD", "device-password")
        .kill_on_drop(true);
    cmd
}

fn spawn(mut cmd: Command) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs");
    let out = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, out)
}

/// Reads lines until one satisfies `want`; every line read is kept in `seen`.
async fn line_where(
    out: &mut Lines<BufReader<ChildStdout>>,
    seen: &mut Vec<String>,
    want: impl Fn(&str) -> bool,
) -> String {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(line) = out.next_line().await.unwrap() {
            seen.push(line.clone());
            if want(&line) {
                return Some(line);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(line)) => line,
        _ => panic!("no such line; the device said:\n{}", seen.join("\n")),
    }
}

/// `svc.rooms.pad` for room `rid` as pi-kitchen, on a WebSocket of its own: the code.
async fn pad_code(http: std::net::SocketAddr, rid: &str) -> String {
    use chorus_testkit::client::Ws;
    use serde_json::json;
    let (mut guest, _) = Ws::connect(http, "/core/game/v1/real-time/public", &[])
        .await
        .unwrap();
    let login = guest
        .call(json!({"op":"req","id":"l","subject":"svc.accounts.login","data":{"name":"pi-kitchen","password":"device-password"}}))
        .await;
    let token = login["data"]["access_token"]
        .as_str()
        .expect("logged in")
        .to_string();
    let (mut ws, _) = Ws::connect(
        http,
        &format!("/core/game/v1/real-time/private?token={token}"),
        &[],
    )
    .await
    .unwrap();
    let pad = ws
        .call(json!({"op":"req","id":"p","subject":"svc.rooms.pad","data":{"room": rid}}))
        .await;
    pad["data"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{pad}"))
        .to_string()
}

/// The `you=x,y` of a state line.
fn my_position(line: &str) -> Option<(i64, i64)> {
    let rest = line.split("you=").nth(1)?;
    let xy = rest.split_whitespace().next()?;
    let (x, y) = xy.split_once(',')?;
    Some((x.parse().ok()?, y.parse().ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paired_device_is_matched_and_its_button_moves_it() {
    let mut up = Platform::up().await;
    let (http, tcp) = (up.http, up.tcp);
    let tcp = tcp.to_string();
    let token_file = up.state.path().join("device.json");

    let paired = device(&tcp, &token_file, &["pair", "--name", "pi-kitchen", "--signup"])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&paired.stdout).to_string() + &String::from_utf8_lossy(&paired.stderr);
    assert!(paired.status.success(), "pair failed:\n{said}\n{}", up.run.logs());
    let stored = std::fs::read_to_string(&token_file).unwrap();
    assert!(stored.contains("refresh_token"), "{stored}");

    let (mut pi, mut pi_out) = spawn(device(&tcp, &token_file, &["play", "--every", "0"]));
    let other_file = up.state.path().join("unused.json");
    let (_guest, mut guest_out) = spawn(device(&tcp, &other_file, &["play", "--guest"]));
    let mut seen = Vec::new();
    line_where(&mut pi_out, &mut seen, |l| {
        l.starts_with("connected as pi-kitchen")
    })
    .await;
    line_where(&mut pi_out, &mut seen, |l| l.starts_with("matched: room")).await;
    let first = line_where(&mut pi_out, &mut seen, |l| my_position(l).is_some()).await;
    let (x0, _) = my_position(&first).unwrap();
    let (key, further): (&str, fn(i64, i64) -> bool) = if x0 < 320 {
        ("right\n", |x, x0| x > x0)
    } else {
        ("left\n", |x, x0| x < x0)
    };
    pi.stdin
        .as_mut()
        .unwrap()
        .write_all(key.as_bytes())
        .await
        .unwrap();
    let moved = line_where(&mut pi_out, &mut seen, |l| {
        my_position(l).is_some_and(|(x, _)| further(x, x0))
    })
    .await;
    assert!(moved.contains("t="), "{moved}");
    // The rotated device token was written back: the stored one changed.
    assert_ne!(std::fs::read_to_string(&token_file).unwrap(), stored);

    let mut guest_seen = Vec::new();
    line_where(&mut guest_out, &mut guest_seen, |l| {
        l.starts_with("matched: room")
    })
    .await;

    // By code: the account asks for its seat's code on another connection (as a big screen
    // does); a guest device claims it and steers the same disc.
    let matched = seen.iter().find(|l| l.starts_with("matched: room")).unwrap();
    let rid = matched.split_whitespace().nth(2).unwrap().to_string();
    let code = pad_code(http, &rid).await;
    drop(pi);
    let pad_file = up.state.path().join("pad.json");
    let (mut pad, mut pad_out) = spawn(device(
        &tcp,
        &pad_file,
        &["play", "--guest", "--every", "0", "--code", &code],
    ));
    let mut pad_seen = Vec::new();
    line_where(&mut pad_out, &mut pad_seen, |l| {
        l.starts_with("claimed: room") && l.contains("steering pi-kitchen")
    })
    .await;
    let first = line_where(&mut pad_out, &mut pad_seen, |l| my_position(l).is_some()).await;
    let (x0, _) = my_position(&first).unwrap();
    let (key, further): (&str, fn(i64, i64) -> bool) = if x0 < 320 {
        ("right\n", |x, x0| x > x0)
    } else {
        ("left\n", |x, x0| x < x0)
    };
    pad.stdin
        .as_mut()
        .unwrap()
        .write_all(key.as_bytes())
        .await
        .unwrap();
    line_where(&mut pad_out, &mut pad_seen, |l| {
        my_position(l).is_some_and(|(x, _)| further(x, x0))
    })
    .await;
    assert!(up.run.terminate().await.code().is_some());
}
