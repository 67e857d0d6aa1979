//! Matching rounds: every `CHORUS_MM_ROUND_MS`, each game's waiting tickets go through its
//! matcher, and each group becomes a room:
//!
//! 1. its tickets are claimed, in key order, each by compare-and-set on the revision this
//!    replica saw. A lost race (another replica, a leave, an expiry) releases the claims
//!    already made and reads the lost ticket afresh: nobody is matched twice;
//! 2. the rooms worker opens the room (`int.rooms.create`); if it cannot, the claims are
//!    released and the players wait on, their place in time kept;
//! 3. the tickets are deleted and each player is told on `user.{uid}.match`.
//!
//! A replica that dies between 1 and 3 leaves claims that lapse after `CHORUS_MM_CLAIM_SECS`.

use crate::catalog::Catalog;
use crate::matcher::{Waiting, valid_groups};
use crate::metrics::MmMetrics;
use crate::peers::{Peers, Player};
use crate::queue::{Held, Queue};
use crate::ticket::{match_subject, now_ms};
use crate::view::View;
use futures_util::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// What one group came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A room was opened and the players told.
    Matched,
    /// A ticket changed under us; the group was given up.
    Lost,
    /// The bucket or the rooms worker failed; the players wait on.
    Failed,
}

impl Outcome {
    /// Its name in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::Lost => "lost",
            Outcome::Failed => "failed",
        }
    }
}

/// A replica's matching loop and what it needs.
#[derive(Clone)]
pub struct Rounds {
    /// The bus, to tell players.
    pub nats: async_nats::Client,
    /// The bucket.
    pub queue: Queue,
    /// This replica's view of it.
    pub view: View,
    /// The rooms worker.
    pub peers: Peers,
    /// The games.
    pub catalog: Arc<Catalog>,
    /// This replica's name, written in its claims.
    pub replica: String,
    /// How long a claim holds.
    pub claim: Duration,
    /// Groups matched at once.
    pub concurrency: usize,
    /// Counters.
    pub metrics: MmMetrics,
}

impl Rounds {
    /// A round every `period`, for the worker's life (it never returns).
    pub async fn run(self, period: Duration) -> Result<(), crate::MmError> {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.round().await;
        }
    }

    /// One round: every group the matchers find now, made into rooms. Returns each
    /// group's outcome.
    pub async fn round(&self) -> Vec<Outcome> {
        let now = now_ms();
        let mut groups: Vec<(String, Vec<Held>)> = Vec::new();
        let mut queued = 0;
        for (name, tickets) in self.view.waiting(now) {
            queued += tickets.len();
            let Some(game) = self.catalog.get(&name) else {
                continue; // a game no longer offered: its tickets expire
            };
            let waiting: Vec<Waiting> = tickets
                .iter()
                .map(|(t, _)| Waiting {
                    user: t.user.clone(),
                    name: t.name.clone(),
                    rating: t.rating,
                    waited: t.waited(now),
                    rated: t.rated,
                })
                .collect();
            let found = game.matcher.groups(game.seats, &waiting);
            for group in valid_groups(game.seats, waiting.len(), found) {
                let held = group.iter().map(|&i| tickets[i].clone()).collect();
                groups.push((name.clone(), held));
            }
        }
        self.metrics.waiting.set(queued as i64);
        futures_util::stream::iter(groups)
            .map(|(game, group)| self.make_match(game, group))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await
    }

    /// Claims `group`, opens its room, tells its players.
    pub async fn make_match(&self, game: String, mut group: Vec<Held>) -> Outcome {
        // Key order: two replicas racing for overlapping groups collide on the first
        // ticket they share, before either holds much.
        group.sort_by(|a, b| a.0.user.cmp(&b.0.user));
        let until = now_ms() + self.claim.as_millis() as u64;
        let mut claimed: Vec<Held> = Vec::with_capacity(group.len());
        for held in &group {
            match self.queue.claim(held, &self.replica, until).await {
                Ok(Some(rev)) => claimed.push((held.0.clone(), rev)),
                lost_or_failed => {
                    self.release(&claimed).await;
                    let _ = self.view.refresh(&self.queue, &held.0.user).await;
                    let outcome = match lost_or_failed {
                        Err(e) => {
                            tracing::warn!(error = %e, "claiming a ticket failed");
                            Outcome::Failed
                        }
                        _ => Outcome::Lost,
                    };
                    self.metrics.outcome(outcome.label());
                    return outcome;
                }
            }
        }
        let players: Vec<Player> = claimed
            .iter()
            .map(|(t, _)| Player {
                id: t.user.clone(),
                name: t.name.clone(),
            })
            .collect();
        let rated = claimed.iter().all(|(t, _)| t.rated);
        let room = match self.peers.create_room(&game, &players, rated).await {
            Ok(room) => room,
            Err(e) => {
                tracing::warn!(error = %e, game, "no room; the players wait on");
                self.release(&claimed).await;
                self.metrics.outcome(Outcome::Failed.label());
                return Outcome::Failed;
            }
        };
        // Matched now: before anyone is told, so whoever hears of it sees the wait counted.
        let now = now_ms();
        for (t, _) in &claimed {
            self.metrics.waited(t.waited(now));
        }
        for (t, rev) in &claimed {
            match self.queue.remove(&t.user, *rev).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(user = %t.user, "a claimed ticket changed before its removal"),
                Err(e) => tracing::warn!(error = %e, "removing a matched ticket failed"),
            }
        }
        for (seat_index, p) in players.iter().enumerate() {
            let seat = room
                .players
                .iter()
                .find(|s| s.id == p.id)
                .map_or(json!(seat_index), |s| s.seat.clone());
            let told = json!({"room": room.room, "game": game, "players": players, "seat": seat});
            let body = serde_json::to_vec(&told).expect("serializes");
            if let Err(e) = self.nats.publish(match_subject(&p.id), body.into()).await {
                tracing::warn!(error = %e, "telling a player of their match failed");
            }
        }
        self.metrics.outcome(Outcome::Matched.label());
        Outcome::Matched
    }

    /// Lets claimed tickets wait again.
    async fn release(&self, claimed: &[Held]) {
        for (t, rev) in claimed {
            if let Err(e) = self.queue.release(t, *rev).await {
                tracing::warn!(error = %e, "releasing a claim failed; it lapses");
            }
        }
    }
}
