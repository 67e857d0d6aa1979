//! The loop of one tick thread: it sleeps until the next room's tick is due or a message
//! arrives, queues inputs for their rooms' next ticks, starts and stops rooms, and runs
//! every tick that is due (earliest first). Each thread loads its own engine per game, so
//! threads never wait on each other.

use crate::tickmsg::{Ask, Pending, Shared, Told};
use crate::tickroom::TickRoom;
use chorus_games::LiveGame;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Longest a thread sleeps with nothing due.
const IDLE: Duration = Duration::from_secs(1);
/// Most messages taken between two looks at the clock.
const BATCH: usize = 1024;
/// How early a tick may start: a pass runs every tick due within this of now, so a
/// thread with hundreds of rooms wakes once per slack, not once per room (a tick is
/// 1000 / tick_hz ms; starting one up to this early changes nothing a player sees).
const SLACK: Duration = Duration::from_millis(1);

/// One thread's rooms and engines.
struct Thread {
    /// What every thread shares.
    shared: Shared,
    /// This thread's engine for each game it has run (`None`: it failed to load): the
    /// game file in QuickJS, or native rules where they reproduce the file.
    engines: HashMap<String, Option<Arc<dyn LiveGame>>>,
    /// Its rooms, by id.
    rooms: HashMap<String, TickRoom>,
    /// When each room's next tick is due (stale entries are skipped).
    due: BinaryHeap<Reverse<(Instant, String)>>,
}

/// Runs a tick thread until its sender is gone.
pub fn run(asks: Receiver<Ask>, shared: Shared) {
    let mut thread = Thread {
        shared,
        engines: HashMap::new(),
        rooms: HashMap::new(),
        due: BinaryHeap::new(),
    };
    loop {
        let wait = thread.due.peek().map_or(IDLE, |Reverse((at, _))| {
            at.saturating_duration_since(Instant::now())
        });
        match asks.recv_timeout(wait) {
            Ok(ask) => {
                thread.take(ask);
                for ask in asks.try_iter().take(BATCH) {
                    thread.take(ask);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        thread.tick_due();
        thread.shared.flush();
    }
    for (_, room) in thread.rooms.drain() {
        if let Some(Some(game)) = thread.engines.get(&room.game) {
            room.close(game.as_ref());
        }
    }
}

/// This thread's engine for `game`, loaded on first use.
fn engine<'a>(
    engines: &'a mut HashMap<String, Option<Arc<dyn LiveGame>>>,
    shared: &Shared,
    game: &str,
) -> Option<&'a dyn LiveGame> {
    if !engines.contains_key(game) {
        let file = shared.games_dir.join(format!("{game}.js"));
        let loaded = chorus_games::engine::load(&file, shared.limits)
            .inspect_err(|e| tracing::error!(error = %e, "a tick thread could not load a game"))
            .ok();
        engines.insert(game.to_string(), loaded);
    }
    engines.get(game).and_then(Option::as_deref)
}

impl Thread {
    fn take(&mut self, ask: Ask) {
        match ask {
            Ask::Start(start) => {
                let start = *start;
                let rid = start.meta.room.clone();
                let Some(game) = engine(&mut self.engines, &self.shared, &start.meta.game) else {
                    let _ = start.told.send(Told::Failed("the game did not load".into()));
                    return;
                };
                if let Some(room) = TickRoom::start(start, game, &self.shared) {
                    self.due.push(Reverse((room.due(), rid.clone())));
                    if let Some(old) = self.rooms.insert(rid, room) {
                        self.close(old);
                    }
                }
            }
            Ask::Input {
                rid,
                player,
                input,
                reply,
            } => match self.rooms.get_mut(&rid) {
                Some(room) => room.pending.push(Pending::Input(player, input, reply)),
                None => drop(reply),
            },
            Ask::Forfeit { rid, player, reply } => match self.rooms.get_mut(&rid) {
                Some(room) => room.pending.push(Pending::Forfeit(player, reply)),
                None => drop(reply),
            },
            Ask::Stop { rid } => {
                if let Some(room) = self.rooms.remove(&rid) {
                    self.close(room);
                }
            }
        }
    }

    /// Runs every tick due by now (or within [`SLACK`] of it), earliest first.
    fn tick_due(&mut self) {
        let now = Instant::now() + SLACK;
        while let Some(Reverse((at, _))) = self.due.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, rid))) = self.due.pop() else {
                break;
            };
            let Some(room) = self.rooms.get_mut(&rid) else {
                continue;
            };
            if room.due() != at {
                continue;
            }
            let Some(game) = engine(&mut self.engines, &self.shared, &room.game) else {
                continue;
            };
            if room.step(game, &self.shared, true) {
                if let Some(room) = self.rooms.remove(&rid) {
                    self.close(room);
                }
                continue;
            }
            self.due.push(Reverse((room.due(), rid)));
        }
    }

    fn close(&mut self, room: TickRoom) {
        if let Some(Some(game)) = self.engines.get(&room.game) {
            room.close(game.as_ref());
        }
    }
}
