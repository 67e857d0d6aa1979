//! Rooms through a real bridge: two signed-in players on WebSockets, a tic-tac-toe room
//! created by another worker (`int.rooms.create`, which grants them the room's subjects),
//! played to a win with `svc.rooms.input`; both see every state on `room.{rid}.state`;
//! refused inputs come back as `err` frames with their codes; a player who reconnects gets
//! the room at once from `svc.rooms.state`; the replay folds to the final board.

mod common;

use chorus_games::{Game, JsGame, Limits, Player};
use chorus_testkit::client::{WAIT, Ws};
use common::Harness;
use serde_json::{Value, json};
use std::net::SocketAddr;

const PRIVATE: &str = "/core/game/v1/real-time/private";

/// A signed-in player's connection, and the room states it has seen.
struct Seat {
    ws: Ws,
    states: Vec<Value>,
    next_id: u32,
}

impl Seat {
    async fn connect(http: SocketAddr, login: &Value) -> Seat {
        let token = login["access_token"].as_str().unwrap();
        let (ws, welcome) = Ws::connect(http, &format!("{PRIVATE}?token={token}"), &[])
            .await
            .unwrap();
        assert_eq!(welcome["user"], login["user"]);
        Seat {
            ws,
            states: Vec::new(),
            next_id: 0,
        }
    }

    /// Sends `frame` with a fresh id; returns the `ok`/`reply`/`err` for it, keeping any
    /// room state that arrives meanwhile.
    async fn ask(&mut self, mut frame: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id.to_string();
        frame["id"] = json!(id);
        self.ws.send(frame).await;
        loop {
            let got = self.ws.recv().await;
            if got["op"] == "msg" {
                self.states.push(got["data"].clone());
            } else if got["id"] == json!(id) {
                return got;
            }
        }
    }

    async fn req(&mut self, subject: &str, data: Value) -> Value {
        self.ask(json!({"op": "req", "subject": subject, "data": data}))
            .await
    }

    /// Subscribes once the room's grant has reached the bridge (it travels on its own).
    async fn subscribe_granted(&mut self, subject: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let answer = self.ask(json!({"op": "sub", "subject": subject})).await;
            if answer["op"] == "ok" {
                return;
            }
            assert_eq!(answer["code"], "forbidden", "{answer}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "the room's grant never arrived"
            );
        }
    }

    /// Reads until this seat has seen the state of `seq`.
    async fn await_seq(&mut self, seq: u64) -> Value {
        while !self.states.iter().any(|s| s["seq"] == seq) {
            let got = self.ws.recv().await;
            if got["op"] == "msg" {
                self.states.push(got["data"].clone());
            }
        }
        self.states.iter().find(|s| s["seq"] == seq).unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_play_tictactoe_to_a_win_through_the_bridge() {
    let (h, db) = Harness::with_accounts(900).await;
    let worker = h.nats_client().await;
    let settings = chorus_rooms::Settings::for_tests();
    let games_dir = settings.games_dir.clone();
    let (_rooms, _served) = chorus_rooms::spawn_in_process(worker.clone(), db.url(), settings)
        .await
        .unwrap();
    let ann_login = h.sign_up_and_log_in("ann").await;
    let bob_login = h.sign_up_and_log_in("bob").await;
    let (ann_id, bob_id) = (ann_login["user"]["id"].clone(), bob_login["user"]["id"].clone());
    let mut ann = Seat::connect(h.http, &ann_login).await;
    let mut bob = Seat::connect(h.http, &bob_login).await;

    let players = json!([{"id": ann_id, "name": "ann"}, {"id": bob_id, "name": "bob"}]);
    let rid = common::create_room(&worker, "tictactoe", players, true).await;
    let subject = format!("room.{rid}.state");
    ann.subscribe_granted(&subject).await;
    bob.subscribe_granted(&subject).await;

    // Refused inputs: out of turn, illegal, from a stranger; none changes the room.
    let input = |cell: Value| json!({"room": rid, "input": {"cell": cell}});
    assert_eq!(
        bob.req("svc.rooms.input", input(json!(0))).await["code"],
        "conflict"
    );
    assert_eq!(
        ann.req("svc.rooms.input", input(json!(42))).await["code"],
        "bad_request"
    );
    let mut eve = Seat::connect(h.http, &h.sign_up_and_log_in("eve").await).await;
    assert_eq!(
        eve.req("svc.rooms.input", input(json!(0))).await["code"],
        "forbidden"
    );
    assert_eq!(
        eve.ask(json!({"op": "sub", "subject": subject})).await["code"],
        "forbidden"
    );

    let moves = [
        (0, 4),
        (1, 0),
        (0, 2),
        (1, 6),
        (0, 3),
        (1, 5),
        (0, 1),
        (1, 8),
        (0, 7),
    ];
    for (i, (who, cell)) in moves.iter().enumerate() {
        let seat = if *who == 0 { &mut ann } else { &mut bob };
        let reply = seat.req("svc.rooms.input", input(json!(cell))).await;
        assert_eq!(reply["data"], json!({"seq": i + 1}), "{reply}");
    }
    for seat in [&mut ann, &mut bob] {
        let last = seat.await_seq(9).await;
        let seqs: Vec<u64> = seat.states.iter().map(|s| s["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=9).collect::<Vec<_>>(), "every state, in order, once");
        assert_eq!(last["state"]["winner"], ann_id);
        assert_eq!(
            last["state"]["board"],
            json!(["O", "X", "X", "X", "X", "O", "O", "X", "O"])
        );
    }

    // Bob reloads: a new connection gets the room at once.
    drop(bob);
    let mut bob = Seat::connect(h.http, &bob_login).await;
    let now = bob.req("svc.rooms.state", json!({"room": rid})).await;
    assert_eq!(now["data"]["seq"], 9, "{now}");
    assert_eq!(now["data"]["over"], true);
    assert_eq!(now["data"]["state"]["winner"], ann_id);

    // The replay folds to the final board; ratings moved.
    let replay = bob.req("svc.rooms.replay", json!({"room": rid})).await["data"].clone();
    let game = JsGame::load(&games_dir.join("tictactoe.js"), Limits::default()).unwrap();
    let players: Vec<Player> = serde_json::from_value(replay["players"].clone()).unwrap();
    let start = game
        .init(&players, replay["seed"].as_u64().unwrap() as u32)
        .unwrap();
    let end = game.apply(start, replay["events"].as_array().unwrap()).unwrap();
    assert_eq!(end, now["data"]["state"]);
    let top = bob.req("svc.rating.top", json!({"game": "tictactoe"})).await;
    assert_eq!(top["data"]["top"][0]["id"], ann_id, "{top}");
}
