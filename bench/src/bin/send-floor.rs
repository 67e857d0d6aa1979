//! `send-floor`: what one small `send()` per socket costs on this machine, with nothing else
//! in the way. It writes a 150-byte message to each of N loopback sockets in a tight loop at
//! a fixed rate (like a fan-out that delivers every message with its own write) while
//! another thread drains them with epoll, and prints the writer's CPU per send.
//!
//! A bridge that writes each delivery separately cannot cost less CPU per delivery than
//! this; below it, only batching several messages into one write helps.
//!
//! Usage: `target/release/send-floor [sockets=5000] [rate=40] [seconds=10]`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// CPU seconds the calling thread has used.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Drains every client socket until `deadline`; returns (bytes read, CPU seconds).
fn drain(clients: Vec<TcpStream>, deadline: Instant) -> (u64, f64) {
    // SAFETY: plain epoll calls on sockets this thread owns, with valid buffers.
    let ep = unsafe { libc::epoll_create1(0) };
    for (i, c) in clients.iter().enumerate() {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, c.as_raw_fd(), &mut ev) };
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = [0u8; 4096];
    let (mut total, start) = (0u64, thread_cpu());
    while Instant::now() < deadline {
        let k = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 100) };
        for e in &events[..k.max(0) as usize] {
            let mut c = &clients[e.u64 as usize];
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
        }
    }
    (total, thread_cpu() - start)
}

fn main() {
    let arg = |i: usize, default: u64| {
        std::env::args()
            .nth(i)
            .map_or(default, |s| s.parse().expect("a number"))
    };
    let (n, rate, seconds) = (arg(1, 5000) as usize, arg(2, 40), arg(3, 10));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let (mut clients, mut servers) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let client = TcpStream::connect(addr).expect("connect (raise ulimit -n?)");
        let (server, _) = listener.accept().expect("accept");
        server.set_nodelay(true).expect("nodelay");
        client.set_nonblocking(true).expect("nonblocking");
        clients.push(client);
        servers.push(server);
    }
    let run = Duration::from_secs(seconds);
    let reader = std::thread::spawn(move || drain(clients, Instant::now() + run + Duration::from_secs(2)));

    let msg = [b'x'; 150];
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let (start, start_cpu) = (Instant::now(), thread_cpu());
    let (mut sends, mut next) = (0u64, Instant::now());
    while start.elapsed() < run {
        for s in servers.iter_mut() {
            s.write_all(&msg).expect("write");
            sends += 1;
        }
        next += period;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let cpu = thread_cpu() - start_cpu;
    let (bytes, reader_cpu) = reader.join().expect("reader");
    println!(
        "{n} sockets × {rate} msg/s for {seconds} s: {sends} sends ({:.0}/s), writer CPU {:.2} µs/send, reader CPU {:.2} µs/message, {bytes} bytes read",
        sends as f64 / start.elapsed().as_secs_f64(),
        cpu * 1e6 / sends as f64,
        reader_cpu * 1e6 / sends as f64,
    );
}
