-- 0005: the IoT supervision's records: alerts (a breach proven by signed
-- readings, or a monitoring gap), the per-lot watch, and the anchors of the
-- readings stream with each stream's head. Device times are in ms (the
-- devices' clocks); block times in unix seconds.

CREATE TABLE alerts (
    id             text COLLATE "C" PRIMARY KEY,
    version        bigint NOT NULL,
    lot            text COLLATE "C" NOT NULL,
    warehouse      text COLLATE "C" NOT NULL,
    bay            text COLLATE "C" NOT NULL,
    kind           text COLLATE "C" NOT NULL,
    status         text COLLATE "C" NOT NULL,
    digest         bytea  NOT NULL,
    readings       text[] COLLATE "C" NOT NULL,
    device         text COLLATE "C" NOT NULL,
    at_ms          bigint NOT NULL,
    last_seen_ms   bigint NOT NULL,
    submitted_by   text COLLATE "C" NOT NULL,
    frozen         text[] COLLATE "C" NOT NULL,
    opened_at      bigint NOT NULL,
    opened_height  bigint NOT NULL,
    closed_at      bigint,
    closed_by      text COLLATE "C",
    resolution     text COLLATE "C",
    counted        bigint NOT NULL,
    updated_height bigint NOT NULL,
    raw            bytea  NOT NULL
);
CREATE INDEX alerts_lot ON alerts (lot, id);
CREATE INDEX alerts_open ON alerts (warehouse, id) WHERE status = 'OPEN';

CREATE TABLE lot_watches (
    lot              text COLLATE "C" PRIMARY KEY,
    version          bigint  NOT NULL,
    baseline_at_ms   bigint  NOT NULL,
    baseline_reading text COLLATE "C",
    baseline_by      text COLLATE "C",
    counted          bigint  NOT NULL,
    alerts           integer NOT NULL,
    last_alert       text COLLATE "C",
    updated_height   bigint  NOT NULL,
    raw              bytea   NOT NULL
);

-- anchors: seq is the key's zero-padded first sequence, so the primary key
-- lists a stream's anchors in order.
CREATE TABLE anchors (
    warehouse       text COLLATE "C" NOT NULL,
    stream          text COLLATE "C" NOT NULL,
    seq             text COLLATE "C" NOT NULL,
    version         bigint  NOT NULL,
    first_seq       bigint  NOT NULL,
    last_seq        bigint  NOT NULL,
    count           integer NOT NULL,
    root            bytea   NOT NULL,
    prev_first_seq  bigint  NOT NULL,
    anchored_by     text COLLATE "C" NOT NULL,
    anchored_height bigint  NOT NULL,
    anchored_at     bigint  NOT NULL,
    updated_height  bigint  NOT NULL,
    raw             bytea   NOT NULL,
    PRIMARY KEY (warehouse, stream, seq)
);

CREATE TABLE anchor_heads (
    warehouse      text COLLATE "C" NOT NULL,
    stream         text COLLATE "C" NOT NULL,
    version        bigint NOT NULL,
    last_seq       bigint NOT NULL,
    last_key       text COLLATE "C" NOT NULL,
    anchors        bigint NOT NULL,
    readings       bigint NOT NULL,
    updated_height bigint NOT NULL,
    raw            bytea  NOT NULL,
    PRIMARY KEY (warehouse, stream)
);
