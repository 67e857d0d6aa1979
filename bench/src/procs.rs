//! The servers under test as child processes: free ports, a scratch directory, spawning
//! with a kill-on-exit guard, readiness checks, and what `/proc` says about a process
//! (CPU time, resident memory).

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Raises this process's open-file soft limit to its hard limit; returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a valid, owned struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A scratch directory removed on drop.
pub struct TempDir {
    /// Its path.
    path: PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/chorus-bench-<pid>`.
    pub fn new() -> io::Result<TempDir> {
        let path = std::env::temp_dir().join(format!("chorus-bench-{}", std::process::id()));
        fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A nats-server (`program`) with JetStream on a free port of 127.0.0.1, its store and log
/// in `scratch`, accepting connections: the server and its URL. What every bench that runs
/// workers starts first. (The fan-out bench, which includes this file too, starts its own
/// with a WebSocket listener.)
#[allow(dead_code)]
pub async fn jetstream_server(program: &Path, scratch: &Path) -> Result<(Server, String)> {
    let port = free_port()?;
    let store = scratch.join("js");
    let store = store.to_str().context("a UTF-8 scratch path")?;
    let args = ["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd", store];
    let mut nats = Server::spawn("nats-server", program, &args, &[], scratch.join("nats.log"))?;
    nats.wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(10))
        .await?;
    Ok((nats, format!("nats://127.0.0.1:{port}")))
}

/// One `chorus-rooms` replica (`program`) on the nats-server at `nats_url` and the database
/// `database_url`, with the game files in `games_dir`, `extra` settings, its log in
/// `scratch/rooms.log`, serving: the replica and its `/metrics` address. What the rooms
/// benches start.
#[allow(dead_code)]
pub async fn rooms_replica(
    program: &Path,
    nats_url: &str,
    database_url: &str,
    games_dir: &str,
    extra: &[(&str, String)],
    scratch: &Path,
) -> Result<(Server, std::net::SocketAddr)> {
    let http: std::net::SocketAddr = ([127, 0, 0, 1], free_port()?).into();
    let mut env = vec![
        ("CHORUS_NATS_URL", nats_url.to_string()),
        ("DATABASE_URL", database_url.to_string()),
        ("CHORUS_WORKER_HTTP_ADDR", http.to_string()),
        ("CHORUS_GAMES_DIR", games_dir.to_string()),
        ("CHORUS_LOG", "warn".to_string()),
    ];
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push((key, value.clone()));
    }
    let mut rooms = Server::spawn("chorus-rooms", program, &[], &env, scratch.join("rooms.log"))?;
    rooms
        .wait_http_ok(http, "/readyz", Duration::from_secs(30))
        .await?;
    Ok((rooms, http))
}

/// A running server; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    /// Name used in messages.
    name: &'static str,
    /// The child process.
    child: Child,
    /// Where its stdout and stderr go.
    log: PathBuf,
}

impl Server {
    /// Starts `program` with `args` and extra `envs`, output to `log`. The child is also
    /// told to die with the thread that spawns it (call this from the main thread), so a
    /// killed bench leaves nothing behind.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        log: PathBuf,
    ) -> Result<Server> {
        let out = fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({})", program.display()))?;
        Ok(Server { name, child, log })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails (with the end of its log) if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); last lines of its log:\n{}",
                self.name,
                self.log_tail(20)
            );
        }
        Ok(())
    }

    /// The last `n` lines of its output.
    pub fn log_tail(&self, n: usize) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until `addr` accepts TCP connections (or the process dies, or `limit` passes).
    pub async fn wait_tcp(&mut self, addr: SocketAddr, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            self.check_alive()?;
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{} did not listen on {addr} within {limit:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `GET path` on `addr` answers 200.
    pub async fn wait_http_ok(&mut self, addr: SocketAddr, path: &str, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            self.check_alive()?;
            let p = path.to_string();
            let last = match tokio::task::spawn_blocking(move || http_status(addr, &p)).await? {
                Ok(200) => return Ok(()),
                Ok(code) => format!("status {code}"),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                bail!(
                    "{} not ready at http://{addr}{path} within {limit:?}: {last}",
                    self.name
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: signalling our own child, whose pid we have not yet reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal `GET` returning the status code.
fn http_status(addr: SocketAddr, path: &str) -> io::Result<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < 12 {
        let r = s.read(&mut head[n..])?;
        if r == 0 {
            break;
        }
        n += r;
    }
    let text = String::from_utf8_lossy(&head[..n]);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("odd reply {text:?}")))
}

/// CPU time (user + system) a process has used, in seconds.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    cpu_seconds_of(&format!("/proc/{pid}/stat"))
}

/// CPU time this process has used, in seconds.
pub fn self_cpu_seconds() -> io::Result<f64> {
    cpu_seconds_of("/proc/self/stat")
}

fn cpu_seconds_of(path: &str) -> io::Result<f64> {
    let stat = fs::read_to_string(path)?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "odd /proc stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) are utime and stime; `after` starts at field 3.
    let ticks = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok((ticks(14) + ticks(15)) as f64 / hz)
}

/// CPU time the whole machine has spent busy (all CPUs, everything but idle and iowait),
/// in seconds: what is left after the servers and the bench is someone else's load.
pub fn machine_busy_seconds() -> io::Result<f64> {
    let stat = fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().unwrap_or("");
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    if ticks.len() < 5 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "odd /proc/stat"));
    }
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = ticks.iter().take(8).sum::<u64>() - ticks[3] - ticks[4];
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(busy as f64 / hz)
}

/// Resident memory of a process (`VmRSS`), KiB.
pub fn vm_rss_kib(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_cpu_and_rss() {
        assert!(self_cpu_seconds().expect("stat") >= 0.0);
        assert!(vm_rss_kib(std::process::id()).expect("status") > 0);
        assert!(machine_busy_seconds().expect("/proc/stat") > 0.0);
    }
}
