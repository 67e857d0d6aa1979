//! Each replica's view of the queue: every ticket in the bucket, kept current by a KV
//! watch. Matching reads it instead of listing the bucket every round. It may lag the
//! bucket by a moment; that costs at most a lost compare-and-set, after which the
//! ticket is read afresh ([`View::refresh`]).

use crate::error::MmError;
use crate::queue::{Held, Queue};
use crate::ticket::Ticket;
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Tickets by user id, with their revisions.
#[derive(Clone, Default)]
pub struct View {
    /// The tickets.
    tickets: Arc<Mutex<HashMap<String, Held>>>,
}

impl View {
    /// An empty view.
    pub fn new() -> View {
        View::default()
    }

    /// Applies a change seen at `revision`, unless the view already holds a later one.
    fn apply(&self, uid: &str, ticket: Option<Ticket>, revision: u64) {
        let mut tickets = self.tickets.lock().expect("view lock");
        if tickets.get(uid).is_some_and(|(_, rev)| *rev > revision) {
            return;
        }
        match ticket {
            Some(t) => tickets.insert(uid.to_string(), (t, revision)),
            None => tickets.remove(uid),
        };
    }

    /// Reads `uid`'s ticket from the bucket again (after a lost compare-and-set).
    pub async fn refresh(&self, queue: &Queue, uid: &str) -> Result<(), MmError> {
        match queue.ticket(uid).await? {
            Some((t, rev)) => self.apply(uid, Some(t), rev),
            None => {
                self.tickets.lock().expect("view lock").remove(uid);
            }
        }
        Ok(())
    }

    /// The tickets waiting (not claimed) at `now`, by game.
    pub fn waiting(&self, now: u64) -> BTreeMap<String, Vec<Held>> {
        let tickets = self.tickets.lock().expect("view lock");
        let mut games: BTreeMap<String, Vec<Held>> = BTreeMap::new();
        for held in tickets.values().filter(|(t, _)| !t.claimed(now)) {
            games.entry(held.0.game.clone()).or_default().push(held.clone());
        }
        games
    }

    /// How many tickets the view holds.
    pub fn len(&self) -> usize {
        self.tickets.lock().expect("view lock").len()
    }

    /// Whether the view holds no ticket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts watching the bucket's tickets (all of them first, then every change); from
    /// the return on, no change is missed. Run the returned [`Follow`] to apply them.
    pub async fn watch(&self, queue: &Queue) -> Result<Follow, MmError> {
        let watch = queue
            .kv
            .watch_with_history("ticket.>")
            .await
            .map_err(|e| MmError::Nats(e.to_string()))?;
        Ok(Follow {
            view: self.clone(),
            watch,
        })
    }
}

/// A started watch, to be run for the worker's life.
pub struct Follow {
    /// The view it keeps.
    view: View,
    /// The bucket's changes.
    watch: kv::Watch,
}

impl Follow {
    /// Applies changes until the watch ends (an error: the view would go stale).
    pub async fn run(mut self) -> Result<(), MmError> {
        while let Some(entry) = self.watch.next().await {
            let entry = entry.map_err(|e| MmError::Nats(e.to_string()))?;
            let Some(uid) = entry.key.strip_prefix("ticket.") else {
                continue;
            };
            let ticket = match entry.operation {
                kv::Operation::Put => serde_json::from_slice::<Ticket>(&entry.value).ok(),
                kv::Operation::Delete | kv::Operation::Purge => None,
            };
            self.view.apply(uid, ticket, entry.revision);
        }
        Err(MmError::Nats("the ticket watch ended".into()))
    }
}
