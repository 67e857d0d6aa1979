//! The rooms schema: finished rooms with their players and whole log, and ratings per game.

use chorus_kit::db::Migration;

/// Applied in order by the kit at start-up.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "finished rooms, their players and logs; ratings",
    sql: "
        CREATE TABLE room_results (
            room text PRIMARY KEY,
            game text NOT NULL,
            rated boolean NOT NULL,
            seed bigint NOT NULL,
            players jsonb NOT NULL,
            winner text,
            draw boolean NOT NULL,
            seq bigint NOT NULL,
            log jsonb NOT NULL,
            events jsonb NOT NULL,
            final_state jsonb NOT NULL,
            created_at timestamptz NOT NULL,
            finished_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE room_players (
            room text NOT NULL REFERENCES room_results (room) ON DELETE CASCADE,
            user_id text NOT NULL,
            name text NOT NULL,
            seat integer NOT NULL,
            PRIMARY KEY (room, user_id)
        );
        CREATE INDEX room_players_user ON room_players (user_id);
        CREATE TABLE ratings (
            game text NOT NULL,
            user_id text NOT NULL,
            name text NOT NULL,
            rating double precision NOT NULL,
            rd double precision NOT NULL,
            volatility double precision NOT NULL,
            games integer NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (game, user_id)
        );
        CREATE INDEX ratings_top ON ratings (game, rating DESC);
    ",
}];
