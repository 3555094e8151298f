-- 0006: collateral, derived from pledges and receipts (collateral.go):
-- one row per ACTIVE pledge that secures a loan, with its receipt's
-- current warehouse, unit and quantity. Exposure and loan-to-value read it
-- instead of a pledge and a receipt row per pledge. It is filled here from
-- the tables as they are, and kept in each block's transaction after.

CREATE TABLE collateral (
    pledge         text COLLATE "C" PRIMARY KEY,
    loan           text COLLATE "C" NOT NULL,
    bank           text COLLATE "C" NOT NULL,
    receipt        text COLLATE "C" NOT NULL,
    warehouse      text COLLATE "C" NOT NULL,
    unit           text COLLATE "C" NOT NULL,
    quantity       bigint NOT NULL,
    updated_height bigint NOT NULL -- the later of its pledge's and its receipt's
);
CREATE INDEX collateral_bank ON collateral (bank, loan, warehouse) INCLUDE (unit, quantity);
CREATE INDEX collateral_loan ON collateral (loan, warehouse) INCLUDE (unit, quantity);
CREATE INDEX collateral_receipt ON collateral (receipt);

INSERT INTO collateral (pledge, loan, bank, receipt, warehouse, unit, quantity, updated_height)
SELECT p.id, p.loan, p.bank, r.id, r.warehouse, r.unit, r.quantity, greatest(p.updated_height, r.updated_height)
FROM pledges p JOIN receipts r ON r.id = p.receipt
WHERE p.status = 'ACTIVE' AND p.loan IS NOT NULL;
