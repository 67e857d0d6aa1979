//! The sandbox: broken files fail at load with file, line and reason; rules that throw,
//! loop or hoard memory fail one call and the game goes on; no clock, no `Math.random`;
//! `match` results are checked; a directory with a broken file still loads the rest.

use chorus_games::{Game, JsGame, Library, Limits, Player, RuleError, Ticket, Verdict};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

const GOOD: &str = r#"
export const meta = { name: "Counter", players: { min: 1, max: 4 }, tick_hz: 0 };
export function init(players, seed) { return { n: 0, seed, players: players.map(p => p.id), winner: null, draw: false }; }
export function command(state, player, input) {
  if (input.boom) throw new Error("boom " + input.boom);
  if (input.loop) { for (;;) { try { } catch (e) { } } }
  if (input.hoard) { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }
  if (input.clock === "now") return { events: [{ t: Date.now() }] };
  if (input.clock === "new") return { events: [{ t: String(new Date()) }] };
  if (input.clock === "ctor") return { events: [{ t: String(new (new Date(0).constructor)()) }] };
  if (input.clock === "call") return { events: [{ t: Date() }] };
  if (input.random) return { events: [{ r: Math.random() }] };
  if (input.undefined) return undefined;
  if (input.weird) return { error: { code: "teapot", message: "no" } };
  if (input.refuse) return { error: { code: "conflict", message: "not now" } };
  return { events: [{ add: input.add ?? 1 }] };
}
export function apply(state, event) { return { ...state, n: state.n + event.add }; }
export function match(tickets) {
  if (tickets.some(t => t.user === "dup")) return [["dup"], ["dup"]];
  if (tickets.some(t => t.user === "ghost")) return [["nobody"]];
  return tickets.map(t => [t.user]);
}
"#;

fn limits() -> Limits {
    Limits {
        budget: Duration::from_millis(50),
        memory_bytes: 16 << 20,
        ..Limits::default()
    }
}

fn load(source: &str) -> Result<JsGame, chorus_games::LoadError> {
    JsGame::from_source("test".into(), Path::new("games/test.js"), source, limits())
}

fn one() -> Vec<Player> {
    vec![Player {
        id: "ann".into(),
        name: "Ann".into(),
        skin: None,
    }]
}

#[test]
fn a_rule_that_throws_fails_that_call_only() {
    let game = load(GOOD).unwrap();
    let s = game.init(&one(), 3).unwrap();
    assert_eq!(s["seed"], 3);
    let err = game.command(&s, "ann", &json!({"boom": "x"})).unwrap_err();
    let RuleError::Threw {
        function: "command",
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(message.contains("boom x"), "{message}");
    assert!(message.contains("test.js"), "says where: {message}");
    assert!(matches!(
        game.command(&s, "ann", &json!({})).unwrap(),
        Verdict::Events(_)
    ));
}

#[test]
fn a_rule_that_loops_is_interrupted_within_its_budget_and_the_game_goes_on() {
    let game = load(GOOD).unwrap();
    let s = game.init(&one(), 0).unwrap();
    let started = Instant::now();
    let err = game.command(&s, "ann", &json!({"loop": true})).unwrap_err();
    assert_eq!(
        err,
        RuleError::TooLong {
            function: "command",
            budget_ms: 50
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let Verdict::Events(events) = game.command(&s, "ann", &json!({"add": 2})).unwrap() else {
        panic!()
    };
    assert_eq!(game.apply(s, &events).unwrap()["n"], 2);
}

#[test]
fn a_rule_that_hoards_memory_fails_and_the_game_goes_on() {
    let game = load(GOOD).unwrap();
    let s = game.init(&one(), 0).unwrap();
    let err = game.command(&s, "ann", &json!({"hoard": true})).unwrap_err();
    assert!(
        matches!(err, RuleError::OutOfMemory { .. } | RuleError::TooLong { .. }),
        "{err:?}"
    );
    assert!(matches!(
        game.command(&s, "ann", &json!({})).unwrap(),
        Verdict::Events(_)
    ));
}

#[test]
fn there_is_no_clock_and_no_math_random() {
    let game = load(GOOD).unwrap();
    let s = game.init(&one(), 0).unwrap();
    for clock in ["now", "new", "ctor", "call"] {
        let err = game.command(&s, "ann", &json!({ "clock": clock })).unwrap_err();
        assert!(err.to_string().contains("no clock"), "{clock}: {err}");
    }
    let err = game.command(&s, "ann", &json!({"random": true})).unwrap_err();
    assert!(err.to_string().contains("no Math.random"), "{err}");
    // A date from a given time is fine.
    let dated = load(&GOOD.replace("return { n: 0,", "return { d: new Date(0).getTime(), n: 0,")).unwrap();
    assert_eq!(dated.init(&one(), 0).unwrap()["d"], 0);
}

#[test]
fn results_outside_the_contract_fail_the_call() {
    let game = load(GOOD).unwrap();
    let s = game.init(&one(), 0).unwrap();
    for input in [json!({"undefined": true}), json!({"weird": true})] {
        let err = game.command(&s, "ann", &input).unwrap_err();
        assert!(
            matches!(
                err,
                RuleError::BadReturn {
                    function: "command",
                    ..
                }
            ),
            "{input}: {err:?}"
        );
    }
    let Verdict::Refused(r) = game.command(&s, "ann", &json!({"refuse": true})).unwrap() else {
        panic!()
    };
    assert_eq!(r.message, "not now");
}

#[test]
fn a_syntax_error_names_the_file_and_the_line() {
    let broken = "export const meta = {name: 'x', players: {min: 1, max: 2}};\n\nexport function init(p) { return {a: 1,, b: 2}; }\nexport function apply(s) { return s; }\n";
    let err = load(broken).err().expect("refused");
    assert_eq!(err.file, Path::new("games/test.js"));
    assert_eq!(err.line, Some(3), "{err}");
    assert!(err.reason.contains("SyntaxError"), "{err}");
    assert!(
        err.to_string().starts_with("games/test.js:3: SyntaxError"),
        "{err}"
    );
}

#[test]
fn a_file_that_throws_or_loops_while_loading_is_refused() {
    let err = load("export const meta = {};\nthrow new Error('nope');\n")
        .err()
        .unwrap();
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.reason.contains("nope"), "{err}");
    let started = Instant::now();
    let err = load("while (true) {}\n").err().unwrap();
    assert!(err.reason.contains("loading ran past"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = load("import x from './other.js';\nexport const meta = {};\n")
        .err()
        .unwrap();
    assert!(err.reason.contains("other.js"), "{err}");
}

#[test]
fn missing_exports_and_bad_meta_are_refused() {
    let err = load(&GOOD.replace("export function apply", "function apply"))
        .err()
        .unwrap();
    assert!(err.reason.contains("`apply`"), "{err}");
    let err = load(&GOOD.replace("min: 1, max: 4", "min: 3, max: 2"))
        .err()
        .unwrap();
    assert!(err.reason.contains("players"), "{err}");
    let err = load(&GOOD.replace("tick_hz: 0", "tick_hz: 20")).err().unwrap();
    assert!(err.reason.contains("`tick`"), "realtime needs tick: {err}");
    let err = load(&GOOD.replace("export const meta =", "const meta ="))
        .err()
        .unwrap();
    assert!(err.reason.contains("meta"), "{err}");
}

fn ticket(user: &str) -> Ticket {
    Ticket {
        user: user.into(),
        name: user.into(),
        rating: 1500.0,
        waited_ms: 0,
    }
}

#[test]
fn match_results_are_checked() {
    let game = load(GOOD).unwrap();
    assert!(game.has_match());
    let groups = game.match_tickets(&[ticket("a"), ticket("b")]).unwrap();
    assert_eq!(groups, Some(vec![vec!["a".to_string()], vec!["b".to_string()]]));
    for bad in ["dup", "ghost"] {
        let err = game.match_tickets(&[ticket(bad)]).unwrap_err();
        assert!(
            matches!(
                err,
                RuleError::BadReturn {
                    function: "match",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
    let plain = load(&GOOD.replace("export function match", "function match")).unwrap();
    assert!(!plain.has_match());
    assert_eq!(plain.match_tickets(&[ticket("a")]).unwrap(), None);
}

#[test]
fn a_directory_with_a_broken_file_loads_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("counter.js"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("broken.js"),
        "export const meta = {\n  name: 'x',,\n};\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a game").unwrap();
    let library = Library::load_dir(dir.path(), limits());
    assert_eq!(library.ids().collect::<Vec<_>>(), ["counter"]);
    assert_eq!(library.errors().len(), 1);
    let err = &library.errors()[0];
    assert_eq!(err.file, dir.path().join("broken.js"));
    assert_eq!(err.line, Some(2), "{err}");
    assert!(library.get("counter").unwrap().init(&one(), 0).is_ok());
}

#[test]
fn the_shipped_games_all_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../games");
    let library = Library::load_dir(&dir, Limits::default());
    assert!(library.errors().is_empty(), "{:?}", library.errors());
    assert!(library.get("tictactoe").is_some());
}
