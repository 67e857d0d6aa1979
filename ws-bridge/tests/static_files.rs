//! The bridge serves the web app at `/` and the game files at `/games/` from their own
//! directories, and nothing outside them: no `..`, no hidden files, no `node_modules`.

mod common;

use common::{Harness, http_get};

#[tokio::test]
async fn serves_the_app_and_the_games_and_nothing_else() {
    let web = tempfile::tempdir().unwrap();
    let games = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<h1>app</h1>").unwrap();
    std::fs::write(web.path().join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir(web.path().join("node_modules")).unwrap();
    std::fs::write(web.path().join("node_modules/x.js"), "tooling").unwrap();
    std::fs::write(web.path().join("tictactoe.js"), "the app's own, not the game").unwrap();
    std::fs::write(games.path().join("tictactoe.js"), "export const meta = {};").unwrap();
    let (web_dir, games_dir) = (web.path().to_path_buf(), games.path().to_path_buf());
    let h = Harness::start_with(move |c| {
        c.web_dir = Some(web_dir);
        c.games_dir = Some(games_dir);
    })
    .await;

    assert_eq!(http_get(h.http, "/").await, (200, "<h1>app</h1>".to_string()));
    assert_eq!(
        http_get(h.http, "/games/tictactoe.js").await,
        (200, "export const meta = {};".to_string())
    );
    assert_eq!(
        http_get(h.http, "/tictactoe.js").await.1,
        "the app's own, not the game"
    );
    for refused in [
        "/.env",
        "/node_modules/x.js",
        "/games/../index.html",
        "/games/missing.js",
    ] {
        assert_eq!(http_get(h.http, refused).await.0, 404, "{refused}");
    }
}

#[tokio::test]
async fn without_a_games_dir_nothing_is_served_there() {
    let web = tempfile::tempdir().unwrap();
    std::fs::create_dir(web.path().join("games")).unwrap();
    std::fs::write(web.path().join("games/x.js"), "from the web dir").unwrap();
    let web_dir = web.path().to_path_buf();
    let h = Harness::start_with(move |c| c.web_dir = Some(web_dir)).await;
    assert_eq!(http_get(h.http, "/games/x.js").await.1, "from the web dir");
}
