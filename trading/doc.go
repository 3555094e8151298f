// Package trading owns the sale of receipts: offers to a named buyer, the
// two-phase transfer behind them, and delivery versus payment (DvP)
// settlement, including the sale of a pledged receipt with its bank's
// consent. Like package receipt it is a pure state machine.
//
// The flow, as on SHFE: the holder offers a receipt to a named buyer at a
// price, with a deadline (a pledged receipt only with its pledgee
// co-signing the offer: the bank's consent). The buyer accepts, naming its
// bank; from then the receipt is TRANSFER_PENDING to the buyer and locked
// against any other dealing (it cannot be sold twice, pledged, split or
// redeemed). The buyer's bank confirms the price is held in escrow. Then
// either party settles: in one tx the receipt moves to the buyer and the
// payment is released to the seller; if the receipt was pledged, the
// proceeds pay the loan it secured first, the pledge closes, and the rest
// goes to the seller. Nothing moves if any leg fails. Before the deadline a
// trade awaiting funds is cancelled by either party or the buyer's bank, a
// funded one by buyer and seller together; after it, by anyone. A
// cancelled trade returns the receipt and releases the escrow.
//
// A partial sale is a split (package receipt), then the sale of one part.
//
// Invariants (checked by package ledger after every step): a trade
// awaiting funds or funded holds its receipt TRANSFER_PENDING to its buyer,
// and a receipt is held by at most one such trade; a settled trade has a
// settlement whose legs add up to its price.
package trading
