//! The store's schema. Everything a balance is made of is inserted, never updated or
//! deleted: the ledger (a trigger refuses changes), purchases, refunds and the answers kept
//! for idempotency keys. Only `store_wallets.balance` changes, always in the transaction
//! that appends the ledger row it sums, so the balance equals the sum of its ledger.

use chorus_kit::db::Migration;

/// Applied in order by the kit at start-up.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "wallets, ledger, purchases, refunds, keyed answers",
    sql: "
    CREATE TABLE store_wallets (
        user_id text PRIMARY KEY,
        balance bigint NOT NULL CHECK (balance >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE store_ledger (
        id bigserial PRIMARY KEY,
        user_id text NOT NULL REFERENCES store_wallets (user_id),
        amount bigint NOT NULL,
        reason text NOT NULL CHECK (reason IN ('grant', 'purchase', 'refund', 'reward')),
        ref text NOT NULL,
        balance bigint NOT NULL CHECK (balance >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (reason, ref)
    );
    CREATE INDEX store_ledger_user ON store_ledger (user_id, id);
    CREATE FUNCTION store_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'store_ledger is append-only';
    END $$;
    CREATE TRIGGER store_ledger_append_only BEFORE UPDATE OR DELETE ON store_ledger
        FOR EACH ROW EXECUTE FUNCTION store_ledger_append_only();
    CREATE TABLE store_purchases (
        id bigserial PRIMARY KEY,
        user_id text NOT NULL REFERENCES store_wallets (user_id),
        good text NOT NULL,
        kind text NOT NULL,
        price bigint NOT NULL CHECK (price >= 0),
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX store_purchases_user ON store_purchases (user_id, good);
    CREATE TABLE store_refunds (
        purchase_id bigint PRIMARY KEY REFERENCES store_purchases (id),
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE store_answers (
        user_id text NOT NULL REFERENCES store_wallets (user_id),
        idempotency_key text NOT NULL,
        good text NOT NULL,
        reply text,
        error_code text,
        error_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, idempotency_key),
        CHECK ((reply IS NULL) <> (error_code IS NULL))
    );
",
}];
