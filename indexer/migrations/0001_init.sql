-- 0001: the chain's blocks, txs and events; the receipt and warehouse
-- records; the checkpoint.
--
-- Conventions. Every text column is COLLATE "C": ordering and keyset
-- pagination are bytewise and the same on every server, whatever the
-- database's locale, so Checksum and pages agree between rebuilds. Times are
-- block times in unix seconds (bigint); quantities are integers in the
-- record's unit. Each record table keeps the record's canonical bytes (raw)
-- and the height of the block that last wrote it (updated_height).
--
-- Write cost. The indexer must keep up with the chain (thousands of record
-- writes a second), and every index is paid on every write that is not a
-- HOT update. So the often-updated tables (receipts, lots, pledges,
-- release orders) leave a quarter of each page free (fillfactor 75) for
-- HOT updates, and carry only the indexes a query in queries.go uses.

CREATE TABLE checkpoint (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    height   bigint  NOT NULL, -- the last applied block; -1 before the first
    app_hash bytea   NOT NULL  -- its app hash; empty before the first
);
INSERT INTO checkpoint (id, height, app_hash) VALUES (true, -1, '');

CREATE TABLE blocks (
    height     bigint  PRIMARY KEY,
    block_time bigint  NOT NULL,
    app_hash   bytea   NOT NULL,
    txs        integer NOT NULL
);

-- txs: every tx of every block, applied (code 0) or rejected.
CREATE TABLE txs (
    height   bigint  NOT NULL,
    tx_index integer NOT NULL,
    hash     bytea   NOT NULL,
    op_type  text COLLATE "C" NOT NULL,
    signers  text[] COLLATE "C" NOT NULL,
    code     bigint  NOT NULL,
    log      text COLLATE "C" NOT NULL,
    PRIMARY KEY (height, tx_index)
);
CREATE INDEX txs_hash ON txs (hash);

-- events: refs are "kind:id" strings in the order the event lists them;
-- attrs is an object of the event's attributes.
CREATE TABLE events (
    height      bigint  NOT NULL,
    tx_index    integer NOT NULL,
    event_index integer NOT NULL,
    type        text COLLATE "C" NOT NULL,
    refs        text[] COLLATE "C" NOT NULL,
    attrs       jsonb   NOT NULL,
    PRIMARY KEY (height, tx_index, event_index)
);
CREATE INDEX events_refs ON events USING gin (refs);
CREATE INDEX events_type ON events (type, height, tx_index, event_index);

CREATE TABLE receipts (
    id                text COLLATE "C" PRIMARY KEY,
    version           bigint  NOT NULL,
    state             text COLLATE "C" NOT NULL,
    holder            text COLLATE "C" NOT NULL,
    depositor         text COLLATE "C" NOT NULL,
    operator          text COLLATE "C" NOT NULL,
    warehouse         text COLLATE "C" NOT NULL,
    bay               text COLLATE "C" NOT NULL,
    lot               text COLLATE "C" NOT NULL,
    commodity         text COLLATE "C" NOT NULL,
    grade             text COLLATE "C" NOT NULL,
    quantity          bigint  NOT NULL,
    unit              text COLLATE "C" NOT NULL,
    delivered         bigint  NOT NULL,
    negotiable        boolean NOT NULL,
    order_of          text COLLATE "C",
    issued_at         bigint  NOT NULL,
    storage_until     bigint  NOT NULL,
    valid_until       bigint  NOT NULL,
    pledge            text COLLATE "C",
    transfer_to       text COLLATE "C",
    transfer_deadline bigint,
    release_order     text COLLATE "C",
    frozen_cause      text COLLATE "C",
    frozen_reason     text COLLATE "C",
    parents           text[] COLLATE "C" NOT NULL,
    children          text[] COLLATE "C" NOT NULL,
    updated_height    bigint  NOT NULL,
    raw               bytea   NOT NULL
) WITH (fillfactor = 75);
CREATE INDEX receipts_holder ON receipts (holder, id);
CREATE INDEX receipts_lot ON receipts (lot, id);

CREATE TABLE lots (
    id             text COLLATE "C" PRIMARY KEY,
    version        bigint  NOT NULL,
    warehouse      text COLLATE "C" NOT NULL,
    bay            text COLLATE "C" NOT NULL,
    commodity      text COLLATE "C" NOT NULL,
    grade          text COLLATE "C" NOT NULL,
    unit           text COLLATE "C" NOT NULL,
    status         text COLLATE "C" NOT NULL,
    health         text COLLATE "C" NOT NULL,
    alert          text COLLATE "C",
    registered_qty bigint  NOT NULL,
    locked_qty     bigint  NOT NULL,
    issued_qty     bigint  NOT NULL,
    live_receipts  integer NOT NULL,
    baseline       bigint  NOT NULL,
    tolerance      bigint  NOT NULL,
    registered_at  bigint  NOT NULL,
    updated_height bigint  NOT NULL,
    raw            bytea   NOT NULL
) WITH (fillfactor = 75);
CREATE INDEX lots_warehouse ON lots (warehouse, id);
CREATE INDEX lots_unhealthy ON lots (warehouse, id) WHERE health <> 'OK';

CREATE TABLE pledges (
    id              text COLLATE "C" PRIMARY KEY,
    version         bigint  NOT NULL,
    receipt         text COLLATE "C" NOT NULL,
    pledgor         text COLLATE "C" NOT NULL,
    bank            text COLLATE "C" NOT NULL,
    status          text COLLATE "C" NOT NULL,
    receipt_version bigint  NOT NULL,
    quantity        bigint  NOT NULL,
    requested_at    bigint  NOT NULL,
    confirmed_at    bigint,
    closed_at       bigint,
    maturity        bigint  NOT NULL,
    defaulted       boolean NOT NULL,
    loan            text COLLATE "C",
    note            text COLLATE "C",
    updated_height  bigint  NOT NULL,
    raw             bytea   NOT NULL
) WITH (fillfactor = 75);
CREATE INDEX pledges_bank ON pledges (bank, status, id);
CREATE INDEX pledges_receipt ON pledges (receipt, id);

CREATE TABLE participants (
    id             text COLLATE "C" PRIMARY KEY,
    version        bigint  NOT NULL,
    name           text COLLATE "C" NOT NULL,
    roles          text[] COLLATE "C" NOT NULL,
    status         text COLLATE "C" NOT NULL,
    pubkey         bytea   NOT NULL,
    updated_height bigint  NOT NULL,
    raw            bytea   NOT NULL
);

CREATE TABLE warehouses (
    id                 text COLLATE "C" PRIMARY KEY,
    version            bigint  NOT NULL,
    name               text COLLATE "C" NOT NULL,
    location           text COLLATE "C" NOT NULL,
    operator           text COLLATE "C" NOT NULL,
    collateral_manager text COLLATE "C" NOT NULL,
    status             text COLLATE "C" NOT NULL,
    updated_height     bigint  NOT NULL,
    raw                bytea   NOT NULL
);

CREATE TABLE bays (
    warehouse      text COLLATE "C" NOT NULL,
    id             text COLLATE "C" NOT NULL,
    version        bigint  NOT NULL,
    locked_by      text COLLATE "C",
    updated_height bigint  NOT NULL,
    raw            bytea   NOT NULL,
    PRIMARY KEY (warehouse, id)
);

CREATE TABLE devices (
    id               text COLLATE "C" PRIMARY KEY,
    version          bigint  NOT NULL,
    type             text COLLATE "C" NOT NULL,
    warehouse        text COLLATE "C" NOT NULL,
    bay              text COLLATE "C",
    calibrated_until bigint  NOT NULL,
    status           text COLLATE "C" NOT NULL,
    pubkey           bytea   NOT NULL,
    updated_height   bigint  NOT NULL,
    raw              bytea   NOT NULL
);
CREATE INDEX devices_warehouse ON devices (warehouse, id);

CREATE TABLE release_orders (
    id             text COLLATE "C" PRIMARY KEY,
    version        bigint  NOT NULL,
    receipt        text COLLATE "C" NOT NULL,
    lot            text COLLATE "C" NOT NULL,
    warehouse      text COLLATE "C" NOT NULL,
    holder         text COLLATE "C" NOT NULL,
    quantity       bigint  NOT NULL,
    weighed        bigint  NOT NULL,
    status         text COLLATE "C" NOT NULL,
    tickets        text[] COLLATE "C" NOT NULL,
    created_at     bigint  NOT NULL,
    closed_at      bigint,
    updated_height bigint  NOT NULL,
    raw            bytea   NOT NULL
) WITH (fillfactor = 75);
CREATE INDEX release_orders_receipt ON release_orders (receipt, id);
CREATE INDEX release_orders_open ON release_orders (warehouse, id) WHERE status = 'OPEN';

-- used_tickets: weigh ticket numbers consumed, per warehouse, forever.
-- They carry no version: a ticket is written once.
CREATE TABLE used_tickets (
    warehouse      text COLLATE "C" NOT NULL,
    number         text COLLATE "C" NOT NULL,
    direction      text COLLATE "C" NOT NULL,
    net            bigint  NOT NULL,
    used_by        text COLLATE "C" NOT NULL,
    height         bigint  NOT NULL,
    updated_height bigint  NOT NULL,
    raw            bytea   NOT NULL,
    PRIMARY KEY (warehouse, number)
);

-- config: the consortium record and the parameters ("c/" keys), with a
-- JSON rendering for people.
CREATE TABLE config (
    key            text COLLATE "C" PRIMARY KEY,
    version        bigint  NOT NULL,
    doc            jsonb   NOT NULL,
    updated_height bigint  NOT NULL,
    raw            bytea   NOT NULL
);
