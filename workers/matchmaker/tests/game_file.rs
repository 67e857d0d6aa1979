//! A game file's own `match(tickets)` groups its queue instead of the rating window, and
//! the shipped `games/` directory gives the matchmaker its games and their seats.

mod support;

use chorus_games::{JsGame, Library, Limits};
use chorus_matchmaker::Catalog;
use chorus_testkit::NatsServer;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use support::{fake_rooms, join, settings};

/// Pairs the strongest with the weakest: what the rating window never does.
const MISMATCH: &str = r#"
export const meta = { name: "Mismatch", players: { min: 2, max: 2 }, tick_hz: 0 };
export function init(players, seed) { return { players: players.map(p => p.id), winner: null, draw: false }; }
export function command(state, player, input) { return { events: [] }; }
export function apply(state, event) { return state; }
export function match(tickets) {
  if (tickets.length < 4) return [];
  const t = [...tickets].sort((a, b) => a.rating - b.rating);
  const groups = [];
  while (t.length >= 2) groups.push([t.shift().user, t.pop().user]);
  return groups;
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_file_groups_its_own_queue() {
    let server = NatsServer::start().await;
    let nats = async_nats::connect(server.url()).await.unwrap();
    let ratings = HashMap::from([
        ("w1".to_string(), 1000.0),
        ("w2".to_string(), 1010.0),
        ("s1".to_string(), 1990.0),
        ("s2".to_string(), 2000.0),
    ]);
    let _creates = fake_rooms(&nats, ratings).await;
    let mut told = nats.subscribe("user.*.match").await.unwrap();
    let game = JsGame::from_source(
        "mismatch".into(),
        Path::new("games/mismatch.js"),
        MISMATCH,
        Limits::default(),
    )
    .unwrap();
    let mut library = Library::default();
    library.insert(Arc::new(game));
    let catalog = Catalog::from_library(&library, &settings());
    support::replica_with(&server, settings(), catalog).await;

    for uid in ["w1", "s1", "w2", "s2"] {
        join(&nats, uid, "mismatch").await.unwrap();
    }
    let mut partners = HashMap::new();
    while partners.len() < 4 {
        let msg = told.next().await.unwrap();
        let notice: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
        let ids: Vec<String> = notice["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        let me = msg.subject.split('.').nth(1).unwrap().to_string();
        let other = ids.into_iter().find(|i| *i != me).unwrap();
        partners.insert(me, other);
    }
    assert_eq!(partners["w1"], "s2");
    assert_eq!(partners["w2"], "s1");
}

#[test]
fn the_shipped_games_directory_names_the_games_and_their_seats() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../games");
    let library = Library::load_dir(&dir, Limits::default());
    assert!(
        library.errors().is_empty(),
        "{:?}",
        library
            .errors()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
    let mut s = settings();
    s.games.clear();
    let catalog = Catalog::from_library(&library, &s);
    let ttt = catalog.get("tictactoe").expect("tic-tac-toe is shipped");
    assert_eq!((ttt.seats.min, ttt.seats.max), (2, 2));
}
