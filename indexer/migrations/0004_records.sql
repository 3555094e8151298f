-- 0004: the fallback table (fallback.go): every record whose key no typed
-- table claims, keyed by its whole state key, so that a record type newer
-- than this binary never stops the read model. kind, version and doc are
-- set when package ledger knows the key's type: kind '' (and version and
-- doc NULL) when it does not. Migrate moves rows out of it into a typed
-- table once a binary has one.

CREATE TABLE records (
    key            text COLLATE "C" PRIMARY KEY,
    kind           text COLLATE "C" NOT NULL,
    version        bigint,
    doc            jsonb,
    updated_height bigint NOT NULL,
    raw            bytea  NOT NULL
);
CREATE INDEX records_kind ON records (kind, key);
