//! The tick threads of realtime rooms ([`Ticker`]): a few OS threads (one per core by
//! default), each with its own engine per game, each running its share of the rooms (a
//! room always on the same thread, by its id). A room's state lives in its thread's engine
//! ([`chorus_games::Live`]); at each tick the thread applies the inputs that arrived since
//! the last one, runs `tick`, writes the state out once and hands it to the publisher, the
//! inputs to the room's task (which logs them) and, about once a second, a snapshot. Tick
//! `t` of a room is due at `start + t × period` (the room's start time), so a replica that
//! takes the room over goes on with the same numbering. Nothing here waits on the bus.

use crate::tickmsg::{Ask, Shared};
use bytes::Bytes;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

/// The tick threads.
pub struct Ticker {
    /// One sender per thread.
    threads: Vec<std_mpsc::Sender<Ask>>,
    /// How late ticks start (registered on `/metrics` by the binary).
    lateness: Histogram,
}

impl Ticker {
    /// Starts `threads` tick threads and the publisher task on `nats`.
    pub fn start(
        nats: async_nats::Client,
        threads: usize,
        games_dir: PathBuf,
        limits: chorus_games::Limits,
    ) -> Ticker {
        let lateness = Histogram::new([
            0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25,
            1.0,
        ]);
        let (publish, mut outbox) = mpsc::unbounded_channel::<Vec<(async_nats::Subject, Bytes)>>();
        tokio::spawn(async move {
            while let Some(batch) = outbox.recv().await {
                for (subject, body) in batch {
                    if let Err(e) = nats.publish(subject, body).await {
                        tracing::warn!(error = %e, "broadcasting a realtime state");
                    }
                }
            }
        });
        let shared = Shared {
            games_dir,
            limits,
            publish,
            outbox: Default::default(),
            lateness: lateness.clone(),
        };
        let threads = (0..threads.max(1))
            .map(|i| {
                let (tx, rx) = std_mpsc::channel();
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("rooms-tick-{i}"))
                    .spawn(move || crate::tickloop::run(rx, shared))
                    .expect("a tick thread starts");
                tx
            })
            .collect();
        Ticker { threads, lateness }
    }

    /// How late ticks start, for `/metrics`.
    pub fn lateness(&self) -> Histogram {
        self.lateness.clone()
    }

    /// Tells room `rid`'s thread `ask`.
    pub fn tell(&self, rid: &str, ask: Ask) {
        let mut h = DefaultHasher::new();
        rid.hash(&mut h);
        let thread = &self.threads[(h.finish() % self.threads.len() as u64) as usize];
        let _ = thread.send(ask);
    }
}
