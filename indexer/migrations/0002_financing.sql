-- 0002: the financing records: credit policies, prices, loans with their
-- open margin call, and the open-loan index. Money is in minor units of the
-- row's currency, rates in basis points (bps), times in block time.
--
-- Loan figures that can pass bigint are numeric: an LTV against no value is
-- financing.InfiniteLTV (2^64 - 1), and a saturated value is 2^64 - 1 too.
-- Everything a loan's own op bounds (principal, disbursed, outstanding, at
-- most 10^18) is bigint.

CREATE TABLE credit_policies (
    bank                  text COLLATE "C" NOT NULL,
    commodity             text COLLATE "C" NOT NULL,
    version               bigint  NOT NULL,
    haircut_bps           integer NOT NULL,
    initial_ltv_bps       integer NOT NULL,
    maintenance_ltv_bps   integer NOT NULL,
    margin_call_grace_sec bigint  NOT NULL,
    max_price_age_sec     bigint  NOT NULL,
    updated_at            bigint  NOT NULL,
    updated_height        bigint  NOT NULL,
    raw                   bytea   NOT NULL,
    PRIMARY KEY (bank, commodity)
);

-- prices: the latest post per currency and commodity (the chain keeps no
-- history; the events table has every price.posted).
CREATE TABLE prices (
    currency        text COLLATE "C" NOT NULL,
    commodity       text COLLATE "C" NOT NULL,
    version         bigint NOT NULL,
    minor_per_tonne bigint NOT NULL,
    posted_at       bigint NOT NULL,
    posted_height   bigint NOT NULL,
    oracle          text COLLATE "C" NOT NULL,
    updated_height  bigint NOT NULL,
    raw             bytea  NOT NULL,
    PRIMARY KEY (currency, commodity)
);

-- loans: exposure is financing.Loan.Exposure (outstanding, plus the undrawn
-- principal while OPEN). The call_ columns are the open margin call, all
-- NULL when there is none. Written on every disbursement, repayment and
-- change of call, so fillfactor 75 leaves room for HOT updates.
CREATE TABLE loans (
    id                    text COLLATE "C" PRIMARY KEY,
    version               bigint  NOT NULL,
    status                text COLLATE "C" NOT NULL,
    bank                  text COLLATE "C" NOT NULL,
    borrower              text COLLATE "C" NOT NULL,
    commodity             text COLLATE "C" NOT NULL,
    currency              text COLLATE "C" NOT NULL,
    pledges               text[] COLLATE "C" NOT NULL,
    principal             bigint  NOT NULL,
    disbursed             bigint  NOT NULL,
    outstanding           bigint  NOT NULL,
    exposure              bigint  NOT NULL,
    haircut_bps           integer NOT NULL,
    initial_ltv_bps       integer NOT NULL,
    maintenance_ltv_bps   integer NOT NULL,
    margin_call_grace_sec bigint  NOT NULL,
    policy_version        bigint  NOT NULL,
    maturity              bigint  NOT NULL,
    opened_at             bigint  NOT NULL,
    call_raised_at        bigint,
    call_deadline         bigint,
    call_ltv_bps          numeric,
    call_value            numeric,
    call_price_per_tonne  bigint,
    call_shortfall        bigint,
    defaulted_at          bigint,
    default_reason        text COLLATE "C",
    closed_at             bigint,
    updated_height        bigint  NOT NULL,
    raw                   bytea   NOT NULL
) WITH (fillfactor = 75);
CREATE INDEX loans_bank ON loans (bank, status, id);
CREATE INDEX loans_borrower ON loans (borrower, status, id);
CREATE INDEX loans_status ON loans (status, id);
-- Open margin calls, by bank and deadline: few rows, so a partial index.
CREATE INDEX loans_open_calls ON loans (bank, call_deadline, id) WHERE call_raised_at IS NOT NULL;

-- open_loans: the chain's index of OPEN loans per currency and commodity,
-- which a price post re-evaluates.
CREATE TABLE open_loans (
    currency       text COLLATE "C" NOT NULL,
    commodity      text COLLATE "C" NOT NULL,
    version        bigint  NOT NULL,
    loans          text[] COLLATE "C" NOT NULL,
    loan_count     integer NOT NULL,
    updated_height bigint  NOT NULL,
    raw            bytea   NOT NULL,
    PRIMARY KEY (currency, commodity)
);
