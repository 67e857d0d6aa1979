//! The sessions live on this bridge: for shutdown ("going away" to everyone) and for the
//! queue-depth metrics sampled at scrape time. Touched on connect and disconnect only.

use crate::fanout::ConnId;
use crate::outbound::Outbox;
use chorus_protocol::CloseCode;
use std::collections::HashMap;
use std::sync::Mutex;

/// A live session as others see it.
#[derive(Debug)]
struct Handle {
    /// The session's queue and close signal.
    outbox: Outbox,
}

/// Every welcomed session on this bridge.
#[derive(Debug, Default)]
pub struct Sessions {
    /// Connection id → session.
    map: Mutex<HashMap<ConnId, Handle>>,
}

impl Sessions {
    /// Records a welcomed session.
    pub fn insert(&self, conn: ConnId, outbox: Outbox) {
        self.map
            .lock()
            .expect("sessions lock")
            .insert(conn, Handle { outbox });
    }

    /// Forgets a session that ended.
    pub fn remove(&self, conn: ConnId) {
        self.map.lock().expect("sessions lock").remove(&conn);
    }

    /// Closes every session with `code`.
    pub fn close_all(&self, code: CloseCode) {
        for h in self.map.lock().expect("sessions lock").values() {
            h.outbox.ctl.close(code);
        }
    }

    /// Frames queued in all sessions, and in the fullest one.
    pub fn queue_depths(&self) -> (usize, usize) {
        let map = self.map.lock().expect("sessions lock");
        map.values()
            .map(|h| h.outbox.queued())
            .fold((0, 0), |(sum, max), q| (sum + q, max.max(q)))
    }

    /// Sessions welcomed and not yet ended.
    pub fn len(&self) -> usize {
        self.map.lock().expect("sessions lock").len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
