//! The `svc.chat.*` endpoints: each method's name and the handler that serves it, over the
//! worker's shared [`Chat`].

use crate::chat::Chat;
use crate::{members, read, write};
use chorus_kit::Service;
use std::sync::Arc;

/// The `svc.chat.*` endpoints over `chat`.
pub fn service(chat: Arc<Chat>) -> Service<Arc<Chat>> {
    Service::with_state("chat", chat)
        .method("send", write::send)
        .method("dm", write::dm)
        .method("edit", write::edit)
        .method("retract", write::retract)
        .method("history", read::history)
        .method("join", members::join)
        .method("leave", members::leave)
        .method("mute", members::mute)
        .method("unmute", members::unmute)
}
