//! `chorus-chat`: channels and direct messages. Clients never publish chat themselves: they
//! ask this worker (`svc.chat.*`), which checks the author's rights (guests read only,
//! members only, mutes, blocks), the length and the rate, gives the message an id and a
//! server time, stores it in the memory-only KV bucket `chat` for a TTL, and only then
//! publishes it on `chat.{channel}` or both sides' `user.{uid}.dm`. Messages are never
//! logged and never touch a disk; when the TTL ends they are gone. `README.md` has the
//! methods and the JSON of every message and event.
//!
//! # Layout
//! - [`service`]: the `svc.chat.*` endpoints, each method and its handler.
//! - [`chat`]: the worker's state and the rules every method shares.
//! - [`write`]: `send`, `dm`, `edit`, `retract`.
//! - [`read`]: the `history` method.
//! - [`members`]: `join`, `leave`, `mute`, `unmute`.
//! - [`messages`]: the `chat` bucket: store, compare-and-set rewrite with a TTL, history.
//! - [`channels`]: the `chat-channels` bucket: owners, members, mutes.
//! - [`buckets`]: creating and checking both buckets at start.
//! - [`blocks`]: asking the accounts worker whether two users block each other.
//! - [`message`]: the stored message and the published events.
//! - [`names`]: channel names, message ids, user ids, places and their keys.
//! - [`settings`]: every setting and its default.

pub mod blocks;
pub mod buckets;
pub mod channels;
pub mod chat;
pub mod members;
pub mod message;
pub mod messages;
pub mod names;
pub mod read;
pub mod service;
pub mod settings;
pub mod write;

pub use buckets::BucketError;
pub use chat::Chat;
pub use message::{Author, Event, Message, Retracted};
pub use service::service;
pub use settings::Settings;
