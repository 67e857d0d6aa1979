//! The accounts schema.

use chorus_kit::db::Migration;

/// Applied in order by the kit at start-up.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts and refresh tokens",
        sql: "
        CREATE TABLE accounts (
            id bigserial PRIMARY KEY,
            name text NOT NULL,
            password_hash bytea NOT NULL,
            password_salt bytea NOT NULL,
            password_iterations integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX accounts_name_lower ON accounts (lower(name));
        CREATE TABLE refresh_tokens (
            token_hash bytea PRIMARY KEY,
            account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            family text NOT NULL,
            expires_at timestamptz NOT NULL,
            used_at timestamptz,
            revoked_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
        CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);
    ",
    },
    Migration {
        version: 2,
        name: "friends, friend requests and blocks",
        sql: "
        CREATE TABLE friendships (
            a bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            b bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (a, b),
            CHECK (a < b)
        );
        CREATE INDEX friendships_b ON friendships (b);
        CREATE TABLE friend_requests (
            from_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            to_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (from_id, to_id),
            CHECK (from_id <> to_id)
        );
        CREATE INDEX friend_requests_to ON friend_requests (to_id);
        CREATE TABLE blocks (
            blocker bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            blocked bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (blocker, blocked),
            CHECK (blocker <> blocked)
        );
        CREATE INDEX blocks_blocked ON blocks (blocked);
    ",
    },
];
