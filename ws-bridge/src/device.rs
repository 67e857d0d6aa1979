//! A small device on the TCP listener that said the bare presence hello
//! (`{"user_id":1,"friends":[2,3]}`): it hears `{"online":true,"user_id":2}` when a device it
//! lists comes online anywhere, and `{"online":false,"user_id":2}` when one that lists it
//! goes. It sends nothing more; its later lines are read only to notice it leaving.
//!
//! Across bridges through NATS: each listed friend's `device.{id}.online` and the device's
//! own `device.{id}.inbox` are joined through the fan-out (as raw lines, so one NATS
//! subscription per subject per bridge still holds), and the device announces itself on
//! `device.{id}.online`.

use crate::fanout::Encoding;
use crate::lifecycle::{finish, open};
use crate::limits::{FrameRate, Verdict};
use crate::shared::Shared;
use crate::transport::{Inbound, Sink, Source};
use chorus_protocol::CloseCode;
use chorus_protocol::device::{self, Hello, Status};
use std::sync::Arc;

/// Runs a device connection to its end.
pub(crate) async fn run<Src: Source, Snk: Sink>(
    shared: Arc<Shared>,
    mut source: Src,
    sink: Snk,
    hello: Hello,
) {
    let me = hello.user_id;
    let opened = open(&shared, sink, &format!("device:{me}"));
    tracing::debug!(device = me, friends = hello.friends.len(), "device hello");
    shared.metrics.frame_in("hello");

    let mut joined = Vec::with_capacity(hello.friends.len() + 1);
    let subjects = hello
        .friends
        .iter()
        .map(|f| device::online_subject(*f))
        .chain([device::inbox_subject(me)]);
    for subject in subjects {
        match shared
            .fanout
            .join_as(Encoding::Line, &subject, opened.conn, opened.outbox.clone())
            .await
        {
            Ok(()) => joined.push(subject),
            Err(e) => tracing::warn!(device = me, error = %e, "device subscription refused"),
        }
    }
    publish(
        &shared,
        device::online_subject(me),
        Status {
            online: true,
            user_id: me,
        },
    )
    .await;

    let rate = FrameRate::new(&shared.config);
    let ctl = opened.ctl.clone();
    while !ctl.is_closed() {
        tokio::select! {
            _ = ctl.closed() => break,
            inbound = source.next() => match inbound {
                Inbound::Frame(_) => {
                    ctl.touch();
                    if rate.check() == Verdict::Abuse {
                        ctl.close(CloseCode::RateLimited);
                    }
                }
                Inbound::Alive => ctl.touch(),
                Inbound::TooLarge => {
                    ctl.close(CloseCode::TooLarge);
                }
                Inbound::Closed => break,
            }
        }
    }

    for friend in &hello.friends {
        let status = Status {
            online: false,
            user_id: me,
        };
        publish(&shared, device::inbox_subject(*friend), status).await;
    }
    for subject in joined {
        shared
            .fanout
            .leave_as(Encoding::Line, &subject, opened.conn)
            .await;
    }
    finish(&shared, opened, source).await;
}

async fn publish(shared: &Shared, subject: String, status: Status) {
    if let Err(e) = shared.nats.publish(subject, status.encode().into()).await {
        tracing::warn!(error = %e, "device presence not published");
    }
}
