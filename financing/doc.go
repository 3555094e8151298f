// Package financing owns lending against pledged receipts: the banks'
// credit policies, commodity prices, loans, loan-to-value, margin calls,
// default and the guards that keep a loan's collateral in place. Like
// package receipt it is a pure state machine: block time is the only clock
// and every figure is an integer.
//
// Words, from the trade:
//
//   - credit policy: what a bank lends against one commodity: the haircut,
//     the initial loan-to-value (LTV) it advances at, the maintenance LTV
//     past which it calls for margin, and the grace a margin call gives.
//     The figures are the bank's own (DOMAIN.md calls them indicative); a
//     loan copies them when it opens, so a later change binds new loans only;
//   - price: the latest price an oracle posted for a commodity in a
//     currency, in minor units per tonne, stamped with block time;
//   - collateral value: Σ quantity × price × (1 − haircut) over the loan's
//     ACTIVE pledges, in minor units, rounded down (collateral is valued
//     conservatively);
//   - LTV: the loan's outstanding amount over its collateral value, in basis
//     points, rounded up;
//   - margin call: recorded when a price post, a disbursement or the sale of
//     part of its collateral takes a loan past its maintenance LTV (at
//     exactly the maintenance LTV there is no call), with a deadline in block
//     time. It is
//     cured when the LTV is back at or below maintenance: by repayment or
//     more collateral at any time, by a price recovery only before the
//     deadline (after it the bank's right to enforce has arisen);
//   - default: recorded by the bank once a margin call is uncured past its
//     deadline, or the maturity passed with money outstanding. It marks the
//     loan's pledges so the bank may invoke them (control of the receipt
//     moves to the bank) before their maturity.
//
// Invariants this package keeps (CheckInvariants in package ledger checks
// them after every step): outstanding ≤ disbursed ≤ principal; a pledge
// secures at most one loan, and the loan lists it; a margin call is open
// only on an OPEN loan; the open-loan index of a commodity and currency
// lists exactly its OPEN loans; a pledge is invoked only if its loan is in
// default; the collateral of a loan with money at risk is released only if
// what remains keeps the loan within its initial LTV.
//
// Money is an integer in minor units with an ISO 4217 currency. Arithmetic
// on values is exact (math/big), so no quantity or price overflows.
package financing
