//! The sessions live on this bridge, by connection and by user: for shutdown ("going
//! away" to everyone), for grants, revokes and kicks addressed to a user, and for the
//! queue-depth metrics sampled at scrape time. Touched on connect, disconnect and control
//! messages only, never per delivery.

use crate::command::Command;
use crate::fanout::ConnId;
use crate::outbound::Outbox;
use chorus_protocol::CloseCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A live session as others see it.
#[derive(Debug)]
struct Handle {
    /// Its user.
    user: String,
    /// Its queue, close signal and command slot.
    outbox: Outbox,
}

#[derive(Debug, Default)]
struct Maps {
    /// Connection id → session.
    by_conn: HashMap<ConnId, Handle>,
    /// User id → that user's connections here.
    by_user: HashMap<String, Vec<ConnId>>,
}

/// Every welcomed session on this bridge.
#[derive(Debug, Default)]
pub struct Sessions {
    maps: Mutex<Maps>,
}

impl Sessions {
    /// Records a session; commands for its user reach it through its control.
    pub fn insert(&self, conn: ConnId, user: &str, outbox: Outbox) {
        let mut maps = self.maps.lock().expect("sessions lock");
        maps.by_user.entry(user.to_string()).or_default().push(conn);
        maps.by_conn.insert(
            conn,
            Handle {
                user: user.to_string(),
                outbox,
            },
        );
    }

    /// Forgets a session that ended.
    pub fn remove(&self, conn: ConnId) {
        let mut maps = self.maps.lock().expect("sessions lock");
        let Some(handle) = maps.by_conn.remove(&conn) else {
            return;
        };
        if let Some(conns) = maps.by_user.get_mut(&handle.user) {
            conns.retain(|c| *c != conn);
            if conns.is_empty() {
                maps.by_user.remove(&handle.user);
            }
        }
    }

    /// Hands `command` to every session of `user` here.
    pub fn command(&self, user: &str, command: Command) {
        let command = Arc::new(command);
        let maps = self.maps.lock().expect("sessions lock");
        for conn in maps.by_user.get(user).into_iter().flatten() {
            if let Some(handle) = maps.by_conn.get(conn) {
                handle.outbox.ctl.command(command.clone());
            }
        }
    }

    /// Closes every session with `code`.
    pub fn close_all(&self, code: CloseCode) {
        for h in self.maps.lock().expect("sessions lock").by_conn.values() {
            h.outbox.ctl.close(code);
        }
    }

    /// Frames queued in all sessions, and in the fullest one.
    pub fn queue_depths(&self) -> (usize, usize) {
        let maps = self.maps.lock().expect("sessions lock");
        maps.by_conn
            .values()
            .map(|h| h.outbox.queued())
            .fold((0, 0), |(sum, max), q| (sum + q, max.max(q)))
    }

    /// Sessions welcomed and not yet ended.
    pub fn len(&self) -> usize {
        self.maps.lock().expect("sessions lock").by_conn.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
