-- 0003: the trading records: offers, trades (an accepted offer, with the
-- offer's id) and settlements (a settled trade, written once, with the
-- trade's id). Prices are in minor units of the row's currency.

CREATE TABLE offers (
    id              text COLLATE "C" PRIMARY KEY,
    version         bigint NOT NULL,
    status          text COLLATE "C" NOT NULL,
    seller          text COLLATE "C" NOT NULL,
    buyer           text COLLATE "C" NOT NULL,
    receipt         text COLLATE "C" NOT NULL,
    receipt_version bigint NOT NULL,
    price           bigint NOT NULL,
    currency        text COLLATE "C" NOT NULL,
    deadline        bigint NOT NULL,
    pledge          text COLLATE "C",
    pledge_bank     text COLLATE "C",
    loan            text COLLATE "C",
    created_at      bigint NOT NULL,
    closed_at       bigint,
    updated_height  bigint NOT NULL,
    raw             bytea  NOT NULL
) WITH (fillfactor = 75);
CREATE INDEX offers_seller ON offers (seller, status, id);
CREATE INDEX offers_buyer ON offers (buyer, status, id);
CREATE INDEX offers_receipt ON offers (receipt, id);

CREATE TABLE trades (
    id             text COLLATE "C" PRIMARY KEY,
    version        bigint NOT NULL,
    status         text COLLATE "C" NOT NULL,
    seller         text COLLATE "C" NOT NULL,
    buyer          text COLLATE "C" NOT NULL,
    buyer_bank     text COLLATE "C" NOT NULL,
    receipt        text COLLATE "C" NOT NULL,
    price          bigint NOT NULL,
    currency       text COLLATE "C" NOT NULL,
    deadline       bigint NOT NULL,
    pledge         text COLLATE "C",
    pledge_bank    text COLLATE "C",
    loan           text COLLATE "C",
    accepted_at    bigint NOT NULL,
    funded_at      bigint,
    escrow_ref     text COLLATE "C",
    closed_at      bigint,
    note           text COLLATE "C",
    updated_height bigint NOT NULL,
    raw            bytea  NOT NULL
) WITH (fillfactor = 75);
CREATE INDEX trades_seller ON trades (seller, status, id);
CREATE INDEX trades_buyer ON trades (buyer, status, id);
CREATE INDEX trades_buyer_bank ON trades (buyer_bank, status, id);
CREATE INDEX trades_receipt ON trades (receipt, id);

CREATE TABLE settlements (
    id               text COLLATE "C" PRIMARY KEY,
    version          bigint NOT NULL,
    receipt          text COLLATE "C" NOT NULL,
    receipt_version  bigint NOT NULL,
    seller           text COLLATE "C" NOT NULL,
    buyer            text COLLATE "C" NOT NULL,
    buyer_bank       text COLLATE "C" NOT NULL,
    price            bigint NOT NULL,
    currency         text COLLATE "C" NOT NULL,
    to_loan          bigint NOT NULL,
    to_seller        bigint NOT NULL,
    loan             text COLLATE "C",
    pledge           text COLLATE "C",
    pledge_bank      text COLLATE "C",
    loan_outstanding bigint NOT NULL,
    settled_at       bigint NOT NULL,
    settled_height   bigint NOT NULL,
    updated_height   bigint NOT NULL,
    raw              bytea  NOT NULL
);
CREATE INDEX settlements_receipt ON settlements (receipt, id);
CREATE INDEX settlements_loan ON settlements (loan, id) WHERE loan IS NOT NULL;
