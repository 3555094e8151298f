-- 0007: the lock as a physical model. A lot's expected bay weight (its
-- bay's tare plus the goods, moved by every authorized movement) beside
-- the adopted baseline reading; the lock's history; the device marks.

ALTER TABLE lots ADD COLUMN expected bigint NOT NULL DEFAULT 0;

-- A lot's lock history: its current phase (what the bay should weigh, the
-- release orders open and what they may take off) and how far back it
-- reaches; the phases are in raw.
CREATE TABLE lock_histories (
    lot             text COLLATE "C" PRIMARY KEY,
    version         bigint  NOT NULL,
    phases          integer NOT NULL,
    since_ms        bigint  NOT NULL,
    expected        bigint  NOT NULL,
    open_orders     integer NOT NULL,
    out_qty         bigint  NOT NULL,
    updated_height  bigint  NOT NULL,
    raw             bytea   NOT NULL
);

-- The last reading of each device the chain used as evidence.
CREATE TABLE device_marks (
    device          text COLLATE "C" PRIMARY KEY,
    version         bigint  NOT NULL,
    epoch           bigint  NOT NULL,
    seq             bigint  NOT NULL,
    time_ms         bigint  NOT NULL,
    op              text COLLATE "C" NOT NULL,
    height          bigint  NOT NULL,
    updated_height  bigint  NOT NULL,
    raw             bytea   NOT NULL
);
