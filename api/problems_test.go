package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators/demo"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Participants, short.
const (
	pA   = ledger.TraderA
	pB   = ledger.TraderB
	pBA  = ledger.BankA
	pBB  = ledger.BankB
	pWO  = ledger.Operator
	pCM  = ledger.Inspector
	pWO2 = ledger.Operator2
	pCM2 = ledger.Inspector2 // the node holds no key for it: it signs offline
	pREG = ledger.Regulator
	pOR  = ledger.Oracle
	pAD1 = ledger.Admin1
	pAD2 = ledger.Admin2
)

// notReached are the problem types no test reaches through the API, and
// why. Every other registered rule error and every API problem type must
// be reached at least once (TestSystem/EveryProblemType checks it).
var notReached = map[string]string{
	receipt.ErrEncumbered.Name:           "requireFree's fallback: every encumbered state has a more specific rule (pledged, transfer or redemption pending)",
	"pledge_pending":                     "declared, never returned by any rule",
	warehouse.ErrCommodityMismatch.Name:  "declared, never returned by any rule",
	warehouse.ErrLockHistoryFull.Name:    "needs 512 lock movements of one lot inside the evidence window",
	warehouse.ErrLockShortfall.Name:      "reserved: a delivery within its tolerance lowers the lock at most to the receipts that stay",
	warehouse.ErrWarehouseSuspended.Name: "no op suspends a warehouse yet",
	warehouse.ErrLotTooManyReceipts.Name: "needs 5,000 live receipts on one lot",
	financing.ErrTooManyLoans.Name:       "needs 1,000 open loans on one commodity",
	ledger.ErrGenesis.Name:               "genesis only",
	receipt.ErrFormatNotInForce.Name:     "needs a chain on an older format: chainengine's upgrade test reaches it on chain",
	api.PTxReplay.Name:                   "the node answers a replay with the first outcome (idempotent), never with this",
	api.PNodeBusy.Name:                   "load-dependent: 100,000 txs waiting on one node",
	api.PTooManyStreamsMine.Name:         "TestPerParticipantLimits, with the limits set low",
	api.PTooManyDrafts.Name:              "TestPerParticipantLimits, with the limits set low",
	api.PRateLimited.Name:                "TestPerParticipantLimits, with the limits set low",
	api.PMempoolFull.Name:                "load-dependent: a full mempool",
	api.PNodeDuplicate.Name:              "timing-dependent: a tx dropped from the mempool but in its cache",
	api.PNodeRejected.Name:               "the mempool's own pre-check refusals",
}

// iotEvidence are package iot's rules on the content of signed readings:
// they judge the evidence the supervisor submits, and package iot's and
// the supervisor's tests reach them with crafted readings. Through the API
// a client would have to forge the same readings; these are not claimed.
var iotEvidence = map[string]bool{
	"reading_signature": true, "evidence_too_few": true, "within_tolerance": true, "not_sustained": true, "evidence_gap": true,
	"evidence_stale": true, "not_a_breach": true, "release_order_open": true, "lot_unverified": true, "no_baseline": true,
	"recount_short": true, "anchor_overlap": true, "reading_replayed": true, "reading_clock_skew": true,
	"reading_implausible": true, "reading_subject_mismatch": true,
	// The evidence's freshness and single use, and the baselines' and gaps'
	// agreement with the goods: package ledger's direct-to-chain tests.
	"evidence_too_old": true, "reading_consumed": true, "baseline_disagrees": true, "gap_contradicted": true,
}

func iotRule(e *receipt.Error) bool { return iotEvidence[e.Name] }

// testEveryProblem reaches every problem type through HTTP. story is the
// demo's result (its theft froze a receipt on sensor evidence).
func testEveryProblem(t *testing.T, sys *apitest.System, c *caller, story *demo.Result) {
	now := c.now()
	day := int64(86400)
	rid := func(s string) string { return "P-" + s }

	// Stock: one big lot, and receipts in every state the rules care about.
	lot := c.lot("P1", 10, 40_000)
	r1 := c.issue(rid("R1"), lot, pA, 10_000)
	rNN := c.issue(rid("NN"), lot, pA, 1_000, func(o *warehouse.IssueReceipt) { o.Negotiable = false })
	rSup := c.issue(rid("SUP"), lot, pA, 2_000)
	c.act(pA, "/v1/receipts/"+rSup+"/split", api.SplitRequest{Version: c.v(rSup), Parts: []receipt.Part{{ID: rid("SUP.a"), Quantity: 1_000}, {ID: rid("SUP.b"), Quantity: 1_000}}})
	rFz := c.issue(rid("FZ"), lot, pA, 1_000)
	c.act(pREG, "/v1/receipts/"+rFz+"/freeze", api.ReasonRequest{Reason: "court order"})
	rTP := c.issue(rid("TP"), lot, pA, 1_000)
	c.act(pA, "/v1/receipts/"+rTP+"/transfer", api.TransferRequest{Version: c.v(rTP), To: pB})
	rTP2 := c.issue(rid("TP2"), lot, pA, 1_000)
	c.act(pA, "/v1/receipts/"+rTP2+"/transfer", api.TransferRequest{Version: c.v(rTP2), To: pB, Deadline: c.now() + 4})
	rExp := c.issue(rid("EXP"), lot, pA, 1_000, func(o *warehouse.IssueReceipt) { o.ValidUntil = c.now() + 4 })
	rPL := c.issue(rid("PL"), lot, pA, 10_000)
	plE1 := rid("PL1")
	c.act(pA, "/v1/receipts/"+rPL+"/pledge", api.PledgeRequest{Version: c.v(rPL), Pledge: plE1, Bank: pBA, Maturity: now + 90*day})
	c.act(pBA, "/v1/pledges/"+plE1+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.pv(plE1)})
	rPP := c.issue(rid("PP"), lot, pA, 1_000)
	plE2 := rid("PL2")
	c.act(pA, "/v1/receipts/"+rPP+"/pledge", api.PledgeRequest{Version: c.v(rPP), Pledge: plE2, Bank: pBA, Maturity: now + 90*day})
	rRO := c.issue(rid("RO"), lot, pA, 5_000)
	c.act(pA, "/v1/receipts/"+rRO+"/deliver", api.DeliverRequest{Version: c.v(rRO), Quantity: 1_000})
	rMV := c.issue(rid("MV"), lot, pA, 1_000)
	c.act(pA, "/v1/receipts/"+rMV+"/transfer", api.TransferRequest{Version: c.v(rMV), To: pB})
	c.act(pB, "/v1/receipts/"+rMV+"/accept", api.VersionRequest{Version: c.v(rMV)})
	rV3 := c.issue(rid("V3"), lot, pA, 1_000, func(o *warehouse.IssueReceipt) { o.ValidUntil = c.now() + 100*day })
	// Timed: a pledge and a loan that mature in seconds, an offer that lapses.
	rT1 := c.issue(rid("T1"), lot, pA, 1_000)
	plT := rid("PLT")
	// The loan matures with its pledge: a loan may not outlive it, and
	// "now + 4" after two commits could (a loaded machine takes >1 s).
	plTDue := c.now() + 5
	c.act(pA, "/v1/receipts/"+rT1+"/pledge", api.PledgeRequest{Version: c.v(rT1), Pledge: plT, Bank: pBA, Maturity: plTDue})
	c.act(pBA, "/v1/pledges/"+plT+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.pv(plT)})
	lnT := rid("LNT")
	c.act(pBA, "/v1/loans", financing.OpenLoan{Loan: lnT, Borrower: pA, Pledges: []string{plT}, Currency: "USD", Principal: 100, Maturity: plTDue})
	rT2 := c.issue(rid("T2"), lot, pA, 1_000)
	ofT := rid("OFT")
	c.act(pA, "/v1/offers", trading.CreateOffer{Offer: ofT, Receipt: rT2, Version: c.v(rT2), Buyer: pB, PriceMinor: 100, Currency: "USD", Deadline: c.now() + 4})
	timedFrom := c.now()

	// Receipt rules.
	c.post("invalid_op", pA, "/v1/receipts/"+r1+"/split", api.SplitRequest{Version: c.v(r1), Parts: []receipt.Part{{ID: rid("X1"), Quantity: 10_000}}})
	issue := func(mut func(*warehouse.IssueReceipt)) warehouse.IssueReceipt {
		op := warehouse.IssueReceipt{ID: rid("NEW"), Lot: lot, Depositor: pA, Negotiable: true, Quantity: 10, Description: "x",
			PlaceOfIssue: "Qingdao", StorageUntil: now + 365*day, ValidUntil: now + 180*day, StorageAgreementDate: now - day,
			StorageTermsRef: "T", ThirdPartyClaims: "none", Fees: receipt.FeeTerms{Currency: "CNY"}}
		mut(&op)
		return op
	}
	c.post("invalid_id", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.ID = "bad id" }))
	c.post("invalid_quantity", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.Quantity = 0 }))
	c.post("missing_field", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.Description = "" }))
	c.post("receipt_exists", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.ID = r1 }))
	c.post("bad_validity", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.ValidUntil = o.StorageUntil + 1 }))
	c.post("over_issue", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.Quantity = 1_000_000 }))
	c.post("not_operator", pWO2, "/v1/receipts", issue(func(*warehouse.IssueReceipt) {}))
	c.draftRefused("cosigner_not_needed", &receipt.Freeze{Receipt: r1, Reason: "x"}, pREG, "ghost")
	{ // A tx signed by a participant the chain does not know, submitted whole.
		ghostKey := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
		body := chainengine.OpBody(c.sys.Localnet.ChainID(), []string{pREG, "ghost"}, 7, c.sys.Localnet.Node(0).Height()+100,
			&receipt.Freeze{Receipt: r1, Reason: "x"})
		raw := chainengine.AssembleTx(body, []chainengine.Signature{chainengine.SignBody(c.sys.World.Key(pREG), body), chainengine.SignBody(ghostKey, body)})
		c.post("unknown_signer", pREG, "/v1/txs", api.SubmitTxRequest{Tx: raw})
	}
	c.post("forbidden", pB, "/v1/pledges/"+plE2+"/reject", api.VersionReasonRequest{Reason: "x", Version: c.plv(plE2)})
	c.post("missing_role", pA, "/v1/receipts/"+r1+"/freeze", api.ReasonRequest{Reason: "x"})
	c.draftRefused("admin_quorum", &receipt.SuspendParticipant{ID: pB, Reason: "x"}, pAD1)
	c.draftRefused("cosigner_missing", &receipt.Amend{Receipt: r1, Version: 1, Description: "y", ThirdPartyClaims: "none"}, pWO)
	// State upgrades and key rotation: this chain is on the current formats.
	var formats receipt.Formats
	require.NoError(t, c.as(pA).Get(c.ctx, "/v1/formats", &formats))
	require.Equal(t, byte(receipt.ParticipantFormat), formats.Of("participant"))
	c.post("upgrade_invalid", pAD1, "/v1/upgrades", ledger.ScheduleUpgrade{Migration: "no-such-migration", Height: 1 << 40, Version: formats.Version})
	c.draftRefused("upgrade_invalid", &ledger.ScheduleUpgrade{Migration: "participant-key-history", Height: 1 << 40, Version: formats.Version}, pAD1, pAD2)
	var vs receipt.ValidatorSet
	require.NoError(t, c.as(pA).Get(c.ctx, "/v1/validators", &vs))
	require.Len(t, vs.Validators, 4, "the test system's four validators")
	c.post("validator_set_invalid", pAD1, "/v1/validators", receipt.SetValidator{PubKey: receipt.PubKey{9}, Power: 0, Version: vs.Version})
	c.post("validator_set_invalid", pAD1, "/v1/validators", receipt.SetValidator{PubKey: vs.Validators[0].PubKey, Power: vs.Validators[0].Power, Version: vs.Version})
	var pa receipt.Participant
	require.NoError(t, c.as(pA).Get(c.ctx, "/v1/participants/"+pA, &pa))
	c.post("key_rotation_invalid", pA, "/v1/participants/"+pA+"/rotate-key", api.RotateKeyRequest{NewKey: pa.PubKey, Version: pa.Version})
	c.post("stale_version", pA, "/v1/participants/"+pA+"/rotate-key", api.RotateKeyRequest{NewKey: receipt.PubKey{1}, Version: pa.Version + 1})
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public().(ed25519.PublicKey)
	var pk receipt.PubKey
	copy(pk[:], pub)
	c.post("participant_exists", pAD1, "/v1/participants", receipt.RegisterParticipant{ID: pA, Name: "x", Roles: receipt.RoleTrader, PubKey: pk})
	c.post("unknown_participant", pA, "/v1/receipts/"+r1+"/transfer", api.TransferRequest{Version: c.v(r1), To: "nobody"})
	c.get("receipt_not_found", pA, "/v1/receipts/NOPE")
	c.post("receipt_terminal", pA, "/v1/receipts/"+rSup+"/transfer", api.TransferRequest{Version: c.v(rSup), To: pB})
	c.post("stale_version", pA, "/v1/receipts/"+r1+"/transfer", api.TransferRequest{To: pB, Version: 99})
	c.post("missing_field", pA, "/v1/receipts/"+r1+"/transfer", api.TransferRequest{To: pB})
	c.post("not_holder", pB, "/v1/receipts/"+r1+"/transfer", api.TransferRequest{Version: c.v(r1), To: pA})
	c.post("receipt_frozen", pA, "/v1/receipts/"+rFz+"/transfer", api.TransferRequest{Version: c.v(rFz), To: pB})
	c.post("not_negotiable", pA, "/v1/receipts/"+rNN+"/transfer", api.TransferRequest{Version: c.v(rNN), To: pB})
	c.post("transfer_pending", pA, "/v1/receipts/"+rTP+"/pledge", api.PledgeRequest{Version: c.v(rTP), Bank: pBA, Maturity: now + 30*day})
	c.post("no_pending_transfer", pB, "/v1/receipts/"+r1+"/accept", api.VersionRequest{Version: c.v(r1)})
	c.post("not_transferee", pBA, "/v1/receipts/"+rTP+"/accept", api.VersionRequest{Version: c.v(rTP)})
	c.post("bad_deadline", pA, "/v1/receipts/"+r1+"/transfer", api.TransferRequest{Version: c.v(r1), To: pB, Deadline: 1})
	c.post("self_transfer", pA, "/v1/receipts/"+r1+"/transfer", api.TransferRequest{Version: c.v(r1), To: pA})
	c.post("not_eligible_holder", pA, "/v1/receipts/"+r1+"/transfer", api.TransferRequest{Version: c.v(r1), To: pREG})
	c.draftRefused("pledgee_consent_required", &receipt.InitiateTransfer{Receipt: rPL, Version: c.receipt(rPL).Version, To: pB, Deadline: now + day}, pA)
	c.post("split_not_conserved", pA, "/v1/receipts/"+r1+"/split", api.SplitRequest{Version: c.v(r1), Parts: []receipt.Part{{ID: rid("X1"), Quantity: 1}, {ID: rid("X2"), Quantity: 1}}})
	c.post("merge_mismatch", pA, "/v1/receipts/merge", receipt.Merge{Into: rid("M"), Receipts: []receipt.VersionedRef{{ID: r1, Version: c.v(r1)}, {ID: rV3, Version: c.v(rV3)}}})
	c.post("already_pledged", pA, "/v1/receipts/"+rPL+"/pledge", api.PledgeRequest{Version: c.v(rPL), Bank: pBB, Maturity: now + 30*day})
	c.get("pledge_not_found", pA, "/v1/pledges/NOPE")
	c.post("pledge_exists", pA, "/v1/receipts/"+r1+"/pledge", api.PledgeRequest{Version: c.v(r1), Pledge: plE1, Bank: pBA, Maturity: now + 30*day})
	c.post("pledge_not_pending", pBA, "/v1/pledges/"+plE1+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.receipt(rPL).Version})
	c.post("pledge_not_active", pBA, "/v1/pledges/"+plE2+"/release", api.VersionRequest{Version: c.plv(plE2)})
	c.post("not_pledgee", pBB, "/v1/pledges/"+plE2+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.receipt(rPP).Version})
	c.post("not_a_bank", pA, "/v1/receipts/"+r1+"/pledge", api.PledgeRequest{Version: c.v(r1), Bank: pB, Maturity: now + 30*day})
	c.post("no_default", pBA, "/v1/pledges/"+plE1+"/invoke", api.VersionRequest{Version: c.plv(plE1)})
	c.post("validity_too_short", pA, "/v1/receipts/"+r1+"/pledge", api.PledgeRequest{Version: c.v(r1), Bank: pBA, Maturity: now + 400*day})
	c.post("already_frozen", pREG, "/v1/receipts/"+rFz+"/freeze", api.ReasonRequest{Reason: "again"})
	c.post("not_frozen", pREG, "/v1/receipts/"+r1+"/unfreeze", api.ReasonRequest{Reason: "x"})
	if !story.TheftSkipped {
		c.post("breach_freeze", pREG, "/v1/receipts/"+story.TheftReceipt+"/unfreeze", api.ReasonRequest{Reason: "x"})
		c.post("lot_unhealthy", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.Lot = story.TheftLot }))
	}
	c.post("not_yet_expired", pB, "/v1/receipts/"+r1+"/expire", api.Empty{})
	c.post("void_not_allowed", pWO, "/v1/receipts/"+rMV+"/void", api.VersionReasonRequest{Version: c.v(rMV), Reason: "x"})
	c.post("redemption_pending", pA, "/v1/receipts/"+rRO+"/pledge", api.PledgeRequest{Version: c.v(rRO), Bank: pBA, Maturity: now + 30*day})
	c.post("not_issuer", pWO2, "/v1/receipts/"+r1+"/void", api.VersionReasonRequest{Version: c.v(r1), Reason: "x"})
	c.post("limit_exceeded", pREG, "/v1/receipts/"+r1+"/freeze", api.ReasonRequest{Reason: strings.Repeat("x", 2000)})
	c.post("delivery_quantity", pA, "/v1/receipts/"+r1+"/deliver", api.DeliverRequest{Version: c.v(r1), Quantity: 1_000_000})

	// A pledged receipt being transferred with its bank's consent; a
	// receipt locked by a trade.
	rPL2 := c.issue(rid("PL2R"), lot, pA, 1_000)
	plE5 := rid("PL5")
	c.act(pA, "/v1/receipts/"+rPL2+"/pledge", api.PledgeRequest{Version: c.v(rPL2), Pledge: plE5, Bank: pBA, Maturity: now + 90*day})
	c.act(pBA, "/v1/pledges/"+plE5+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.pv(plE5)})
	c.act(pA, "/v1/receipts/"+rPL2+"/transfer", api.TransferRequest{Version: c.v(rPL2), To: pB}) // draft: bank-a approves
	c.post("pledge_transfer_active", pBA, "/v1/pledges/"+plE5+"/release", api.VersionRequest{Version: c.plv(plE5)})
	rTR := c.issue(rid("TR"), lot, pA, 1_000)
	ofTR := rid("OFTR")
	c.act(pA, "/v1/offers", trading.CreateOffer{Offer: ofTR, Receipt: rTR, Version: c.v(rTR), Buyer: pB, PriceMinor: 5_000, Currency: "USD"})
	c.act(pB, "/v1/offers/"+ofTR+"/accept", api.AcceptOfferRequest{BuyerBank: pBB})
	c.post("trade_locked", pA, "/v1/receipts/"+rTR+"/cancel-transfer", api.Empty{})

	// Warehouse rules.
	c.get("warehouse_not_found", pA, "/v1/warehouses/NOPE")
	c.post("warehouse_exists", pAD1, "/v1/warehouses", warehouse.RegisterWarehouse{ID: ledger.Warehouse1, Name: "x", Location: "x", Operator: pWO, CollateralManager: pCM})
	stock := func(lotID, bay string, ts []warehouse.SignedTicket, mut ...func(*warehouse.RegisterStock)) warehouse.RegisterStock {
		op := warehouse.RegisterStock{Lot: lotID, Warehouse: ledger.Warehouse1, Bay: bay, Commodity: "copper cathode", Grade: "A", Unit: "kg", Tolerance: 10, Tickets: ts}
		for _, m := range mut {
			m(&op)
		}
		return op
	}
	c.act(pWO, "/v1/warehouses/"+ledger.Warehouse1+"/bays", api.BayRequest{Bay: "BAY-PX"})
	c.post("bay_not_found", pWO, "/v1/lots", stock(rid("L2"), "NOPE", c.tickets(ledger.Weighbridge1, "PX1", 1, 1_000)))
	c.post("bay_exists", pWO, "/v1/warehouses/"+ledger.Warehouse1+"/bays", api.BayRequest{Bay: "BAY-P1"})
	c.post("bay_locked", pWO, "/v1/lots", stock(rid("L2"), "BAY-P1", c.tickets(ledger.Weighbridge1, "PX1", 1, 1_000)))
	c.post("lot_exists", pWO, "/v1/lots", stock(lot, "BAY-PX", c.tickets(ledger.Weighbridge1, "PX1", 1, 1_000)))
	c.post("ticket_used", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", c.tickets(ledger.Weighbridge1, "P1", 1, 40_000)))
	big := c.tickets(ledger.Weighbridge1, "PXB", 2, 600_000_000_000_000)
	c.post("quantity_overflow", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", big))
	c.post("unit_mismatch", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", c.tickets(ledger.Weighbridge1, "PX1", 1, 1_000), func(o *warehouse.RegisterStock) { o.Unit = "g" }))
	c.post("bad_unit", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", c.tickets(ledger.Weighbridge1, "PX1", 1, 1_000), func(o *warehouse.RegisterStock) { o.Unit = "lb" }))
	c.draftRefused("not_collateral_manager", &warehouse.RegisterStock{Lot: rid("L2"), Warehouse: ledger.Warehouse1, Bay: "BAY-PX", Commodity: "c", Grade: "g", Unit: "kg",
		Tickets: c.tickets(ledger.Weighbridge1, "PX1", 1, 1_000)}, pWO)
	w := sys.World
	mkTicket := func(num, wh, dev string, key ed25519.PrivateKey, dir warehouse.Direction, gross, tare uint64, ro string) warehouse.SignedTicket {
		return warehouse.SignTicket(warehouse.WeighTicket{Number: num, Warehouse: wh, Device: dev, Direction: dir, Gross: gross, Tare: tare,
			Net: gross - tare, Unit: "kg", Plate: "P", ReleaseOrder: ro, WeighedAt: now}, key)
	}
	lc := ledger.Warehouse1 + "-LC-04"
	c.post("device_not_bound", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", []warehouse.SignedTicket{
		mkTicket("PXD1", ledger.Warehouse1, ledger.Weighbridge2, w.Devices[ledger.Weighbridge2].Key, warehouse.In, 20_000, 10_000, "")}))
	c.post("device_type", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", []warehouse.SignedTicket{
		mkTicket("PXD2", ledger.Warehouse1, lc, w.Devices[lc].Key, warehouse.In, 20_000, 10_000, "")}))
	c.post("ticket_signature", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", []warehouse.SignedTicket{
		mkTicket("PXD3", ledger.Warehouse1, ledger.Weighbridge1, w.Devices[lc].Key, warehouse.In, 20_000, 10_000, "")}))
	c.post("ticket_invalid", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", []warehouse.SignedTicket{
		mkTicket("PXD4", ledger.Warehouse1, ledger.Weighbridge1, w.Devices[ledger.Weighbridge1].Key, warehouse.In, 10_000, 20_000, "")}))
	c.post("ticket_direction", pWO, "/v1/lots", stock(rid("L2"), "BAY-PX", []warehouse.SignedTicket{
		mkTicket("PXD5", ledger.Warehouse1, ledger.Weighbridge1, w.Devices[ledger.Weighbridge1].Key, warehouse.Out, 20_000, 10_000, "ro-x-1")}))
	roRO := c.receipt(rRO).ReleaseOrder
	wbKey := w.Devices[ledger.Weighbridge1].Key
	c.post("ticket_release_order", pWO, "/v1/release-orders/"+roRO+"/confirm", api.TicketsRequest{Tickets: []warehouse.SignedTicket{
		mkTicket("PXO1", ledger.Warehouse1, ledger.Weighbridge1, wbKey, warehouse.Out, 11_000, 10_000, "ro-other-1")}})
	c.post("delivery_out_of_tolerance", pWO, "/v1/release-orders/"+roRO+"/confirm", api.TicketsRequest{Tickets: []warehouse.SignedTicket{
		mkTicket("PXO2", ledger.Warehouse1, ledger.Weighbridge1, wbKey, warehouse.Out, 15_000, 10_000, roRO)}})
	c.get("lot_not_found", pA, "/v1/lots/NOPE")
	c.get("release_order_not_found", pA, "/v1/release-orders/NOPE")
	c.get("device_not_found", pA, "/v1/devices/NOPE")
	c.post("device_exists", pAD1, "/v1/devices", warehouse.RegisterDevice{ID: ledger.Weighbridge1, Kind: warehouse.Weighbridge, PubKey: pk,
		Warehouse: ledger.Warehouse1, CalibratedUntil: now + 365*day})
	c.post("device_uncalibrated", pCM, "/v1/devices/"+lc+"/calibrate", api.CalibrateRequest{CalibratedUntil: 1, Certificate: "C"})
	// A lot delivered in full (released), and one left short by a load-out.
	lotRel := c.lot("PR", 1, 10_000)
	rRel := c.issue(rid("REL"), lotRel, pA, 10_000)
	c.act(pA, "/v1/receipts/"+rRel+"/deliver", api.DeliverRequest{Version: c.v(rRel)})
	roRel := c.receipt(rRel).ReleaseOrder
	c.act(pWO, "/v1/release-orders/"+roRel+"/confirm", api.TicketsRequest{Tickets: []warehouse.SignedTicket{
		mkTicket("PXR1", ledger.Warehouse1, ledger.Weighbridge1, wbKey, warehouse.Out, 20_000, 10_000, roRel)}})
	c.post("lot_not_locked", pWO, "/v1/receipts", issue(func(o *warehouse.IssueReceipt) { o.Lot = lotRel }))
	c.post("release_order_closed", pWO, "/v1/release-orders/"+roRel+"/confirm", api.TicketsRequest{Tickets: []warehouse.SignedTicket{
		mkTicket("PXR2", ledger.Warehouse1, ledger.Weighbridge1, wbKey, warehouse.Out, 20_000, 10_000, roRel)}})

	// Participants: suspension and reinstatement (admin quorum), a device
	// suspended, a participant whose key the node does not hold.
	c.act(pAD1, "/v1/participants/"+pCM2+"/suspend", api.ReasonRequest{Reason: "licence review"})
	c.post("participant_suspended", pCM2, "/v1/devices/"+ledger.Weighbridge2+"/calibrate", api.CalibrateRequest{CalibratedUntil: now + 365*day, Certificate: "C"})
	c.act(pAD1, "/v1/participants/"+pCM2+"/reinstate", api.ReasonRequest{Reason: "review done"})
	c.post("participant_not_suspended", pAD1, "/v1/participants/"+pCM2+"/reinstate", api.ReasonRequest{Reason: "again"})
	seal := ledger.Warehouse2 + "-SEAL-04"
	c.act(pAD1, "/v1/devices/"+seal+"/suspend", api.ReasonRequest{Reason: "replaced"})
	c.post("device_suspended", pCM2, "/v1/devices/"+seal+"/calibrate", api.CalibrateRequest{CalibratedUntil: now + 365*day, Certificate: "C"})
	c.post("key_not_held", pCM2, "/v1/devices/"+ledger.Weighbridge2+"/calibrate", api.CalibrateRequest{CalibratedUntil: now + 365*day, Certificate: "C"})

	// Financing rules.
	policy := financing.SetCreditPolicy{Commodity: "copper cathode", HaircutBps: 1_000, InitialLTVBps: 7_500, MaintenanceLTVBps: 8_500, MarginCallGraceSec: 7 * day}
	c.act(pBA, "/v1/credit-policies", policy)
	c.act(pOR, "/v1/prices", financing.PostPrice{Commodity: "copper cathode", Currency: "USD", MinorPerTonne: 600_000})
	bad := policy
	bad.HaircutBps = 10_000
	c.post("credit_policy_invalid", pBA, "/v1/credit-policies", bad)
	bad = policy
	bad.Commodity = "a/b"
	c.post("bad_commodity", pBA, "/v1/credit-policies", bad)
	c.post("bad_currency", pOR, "/v1/prices", financing.PostPrice{Commodity: "copper cathode", Currency: "us", MinorPerTonne: 1})
	c.post("bad_amount", pOR, "/v1/prices", financing.PostPrice{Commodity: "copper cathode", Currency: "USD", MinorPerTonne: 0})
	loan := func(id, bank, borrower string, pledges []string, mut ...func(*financing.OpenLoan)) financing.OpenLoan {
		op := financing.OpenLoan{Loan: id, Borrower: borrower, Pledges: pledges, Currency: "USD", Principal: 100_000, Maturity: now + 30*day}
		for _, m := range mut {
			m(&op)
		}
		return op
	}
	c.post("loan_exists", pBA, "/v1/loans", loan(story.Loan, pBA, pA, []string{plE1}))
	c.post("no_price", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{plE1}, func(o *financing.OpenLoan) { o.Currency = "EUR" }))
	c.post("too_many_pledges", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{}))
	lnE1 := rid("LN1")
	c.act(pBA, "/v1/loans", loan(lnE1, pBA, pA, []string{plE1}))
	c.post("pledge_secures_loan", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{plE1}))
	c.post("pledge_not_to_bank", pBB, "/v1/loans", loan(rid("LN0"), pBB, pA, []string{plE1}))
	rPL3 := c.issue(rid("PL3R"), lot, pA, 10_000)
	plE3 := rid("PL3")
	c.act(pA, "/v1/receipts/"+rPL3+"/pledge", api.PledgeRequest{Version: c.v(rPL3), Pledge: plE3, Bank: pBA, Maturity: now + 90*day})
	c.act(pBA, "/v1/pledges/"+plE3+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.pv(plE3)})
	c.post("pledgor_not_borrower", pBA, "/v1/loans", loan(rid("LN0"), pBA, pB, []string{plE3}))
	c.post("over_advance", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{plE3}, func(o *financing.OpenLoan) { o.Principal = 10_000_000_000 }))
	c.post("bad_maturity", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{plE3}, func(o *financing.OpenLoan) { o.Maturity = now + 120*day }))
	// Aluminium: the mix needs another commodity.
	c.act(pWO, "/v1/warehouses/"+ledger.Warehouse1+"/bays", api.BayRequest{Bay: "BAY-PAL2"})
	c.act(pWO, "/v1/lots", stock(rid("LAL2"), "BAY-PAL2", c.tickets(ledger.Weighbridge1, "PAL2", 1, 10_000), func(o *warehouse.RegisterStock) { o.Commodity = "aluminium ingot" }))
	rAl := c.issue(rid("AL2"), rid("LAL2"), pA, 10_000)
	plAl := rid("PLAL")
	c.act(pA, "/v1/receipts/"+rAl+"/pledge", api.PledgeRequest{Version: c.v(rAl), Pledge: plAl, Bank: pBA, Maturity: now + 90*day})
	c.act(pBA, "/v1/pledges/"+plAl+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.pv(plAl)})
	c.post("collateral_commodity_mix", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{plE3, plAl}))
	c.post("no_credit_policy", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{plAl}))
	c.get("loan_not_found", pA, "/v1/loans/NOPE")
	c.post("not_lender", pBB, "/v1/loans/"+story.Loan+"/disburse", api.AmountRequest{Amount: 1, Version: c.lv(story.Loan)})
	c.post("loan_not_open", pBA, "/v1/loans/"+story.Loan+"/disburse", api.AmountRequest{Amount: 1, Version: c.lv(story.Loan)})
	c.post("over_disbursement", pBA, "/v1/loans/"+lnE1+"/disburse", api.AmountRequest{Amount: 100_001, Version: c.lv(lnE1)})
	c.post("over_repayment", pBA, "/v1/loans/"+lnE1+"/repay", api.AmountRequest{Amount: 1, Version: c.lv(lnE1)})
	c.post("no_loan_default", pBA, "/v1/loans/"+lnE1+"/default", api.VersionRequest{Version: c.lv(lnE1)})
	c.act(pBA, "/v1/loans/"+lnE1+"/disburse", api.AmountRequest{Amount: 100_000, Version: c.lv(lnE1)})
	c.post("release_breaches_ltv", pBA, "/v1/pledges/"+plE1+"/release", api.VersionRequest{Version: c.plv(plE1)})
	c.post("loan_drawn", pBA, "/v1/loans/"+lnE1+"/cancel", api.VersionReasonRequest{Reason: "x", Version: c.lv(lnE1)})
	stale := policy
	stale.MaxPriceAgeSec = 1
	c.act(pBA, "/v1/credit-policies", stale)
	aged := c.now() + 1
	testkit.PollTrue(t, 10*time.Second, "the price ages past the policy's second", func() bool { return c.now() > aged })
	c.post("price_stale", pBA, "/v1/loans", loan(rid("LN0"), pBA, pA, []string{plE3}))
	c.act(pBA, "/v1/credit-policies", policy)

	// Trading rules.
	offer := func(id, rcpt string, mut ...func(*trading.CreateOffer)) trading.CreateOffer {
		op := trading.CreateOffer{Offer: id, Receipt: rcpt, Version: c.v(rcpt), Buyer: pB, PriceMinor: 5_000, Currency: "USD"}
		for _, m := range mut {
			m(&op)
		}
		return op
	}
	c.post("offer_exists", pA, "/v1/offers", offer(story.Offer, r1))
	c.get("offer_not_found", pA, "/v1/offers/NOPE")
	c.post("offer_not_open", pB, "/v1/offers/"+story.Offer+"/accept", api.AcceptOfferRequest{BuyerBank: pBB})
	ofE1 := rid("OF1")
	c.act(pA, "/v1/offers", offer(ofE1, r1))
	c.post("not_buyer", pBA, "/v1/offers/"+ofE1+"/accept", api.AcceptOfferRequest{BuyerBank: pBB})
	c.post("not_seller", pB, "/v1/offers/"+ofE1+"/withdraw", api.Empty{})
	c.post("trade_bad_deadline", pA, "/v1/offers", offer(rid("OF0"), r1, func(o *trading.CreateOffer) { o.Deadline = 1 }))
	c.draftRefused("sale_needs_pledgee_consent", &trading.CreateOffer{Offer: rid("OF0"), Receipt: rPL, Version: c.receipt(rPL).Version, Buyer: pB,
		PriceMinor: 1, Currency: "USD", Deadline: now + day}, pA)
	c.draftRefused("currency_mismatch", &trading.CreateOffer{Offer: rid("OF0"), Receipt: rPL, Version: c.receipt(rPL).Version, Buyer: pB,
		PriceMinor: 1, Currency: "EUR", Deadline: now + day}, pA, pBA)
	c.get("trade_not_found", pA, "/v1/trades/NOPE")
	c.post("not_buyer_bank", pBA, "/v1/trades/"+ofTR+"/fund", api.FundRequest{AmountMinor: 5_000, Currency: "USD"})
	c.post("funds_not_held", pB, "/v1/trades/"+ofTR+"/settle", api.Empty{})
	c.post("funds_mismatch", pBB, "/v1/trades/"+ofTR+"/fund", api.FundRequest{AmountMinor: 4_000, Currency: "USD"})
	c.post("not_trade_party", pBA, "/v1/trades/"+ofTR+"/settle", api.Empty{})
	c.act(pBB, "/v1/trades/"+ofTR+"/fund", api.FundRequest{AmountMinor: 5_000, Currency: "USD", EscrowRef: "E"})
	c.post("not_awaiting_funds", pBB, "/v1/trades/"+ofTR+"/fund", api.FundRequest{AmountMinor: 5_000, Currency: "USD"})
	c.draftRefused("cancel_refused", &trading.CancelTrade{Trade: ofTR, Reason: "changed my mind"}, pA)
	c.post("trade_closed", pB, "/v1/trades/"+story.Offer+"/settle", api.Empty{})
	rCh := c.issue(rid("CH"), lot, pA, 1_000)
	ofCh := rid("OFCH")
	c.act(pA, "/v1/offers", offer(ofCh, rCh))
	c.act(pREG, "/v1/receipts/"+rCh+"/freeze", api.ReasonRequest{Reason: "check"})
	c.act(pREG, "/v1/receipts/"+rCh+"/unfreeze", api.ReasonRequest{Reason: "ok"})
	c.post("offer_receipt_changed", pB, "/v1/offers/"+ofCh+"/accept", api.AcceptOfferRequest{BuyerBank: pBB})

	// IoT rules the API reaches: shapes, lots' states, roles.
	if !story.TheftSkipped {
		lc1 := ledger.Warehouse1 + "-LC-01"
		reading := func(seq uint64, signed bool) iot.SignedReading {
			r := iot.Reading{Event: fmt.Sprintf("P-ev-%d", seq), Device: lc1, Epoch: uint64(time.Now().Unix()), Seq: seq, TimeMs: time.Now().UnixMilli(),
				Weight: &iot.BayWeight{Qty: 75_000, Unit: "kg", Stable: true}}
			if !signed {
				return iot.SignedReading{Reading: r}
			}
			return iot.Sign(r, w.Devices[lc1].Key)
		}
		c.draftRefused("breach_kind", &iot.Breach{Lot: story.Lot, Kind: iot.AlertGap, Evidence: []iot.SignedReading{reading(1, true)}}, pCM)
		c.draftRefused("reading_unsigned", &iot.Breach{Lot: story.Lot, Kind: iot.AlertStep, Evidence: []iot.SignedReading{reading(1, false)}}, pCM)
		c.draftRefused("evidence_order", &iot.Breach{Lot: story.Lot, Kind: iot.AlertStep, Evidence: []iot.SignedReading{reading(2, true), reading(1, true)}}, pCM)
		empty := reading(1, true)
		empty.Reading.Weight = nil
		c.draftRefused("reading_invalid", &iot.Breach{Lot: story.Lot, Kind: iot.AlertStep, Evidence: []iot.SignedReading{empty}}, pCM)
		c.draftRefused("lot_in_alarm", &iot.Breach{Lot: story.TheftLot, Kind: iot.AlertStep, Evidence: []iot.SignedReading{reading(1, true)}}, pCM)
		c.draftRefused("lot_healthy", &iot.Verified{Lot: story.Lot, Evidence: []iot.SignedReading{reading(1, true)}}, pCM)
		c.draftRefused("gap_too_short", &iot.Gap{Lot: story.Lot, Device: lc1, LastSeenMs: time.Now().UnixMilli() - 1, AtMs: time.Now().UnixMilli()}, pCM)
		c.draftRefused("baseline_set", &iot.SetBaseline{Lot: story.Lot, Reading: reading(1, true)}, pCM)
		c.draftRefused("iot_rules_invalid", &iot.SetRules{}, pAD1, pAD2)
		c.draftRefused("anchor_invalid", &iot.AnchorBatch{Warehouse: ledger.Warehouse1, Stream: "EWR_READINGS", FirstSeq: 5, LastSeq: 1, Count: 1, Root: [32]byte{1}}, pCM)
		c.draftRefused("not_supervisor", &iot.AnchorBatch{Warehouse: ledger.Warehouse1, Stream: "EWR_READINGS", FirstSeq: 1, LastSeq: 1, Count: 1, Root: [32]byte{1}}, pA)
	}

	// The ledger.
	c.post("unknown_op", pA, "/v1/drafts", api.DraftRequest{OpType: "nope.op"})
	app := sys.App()
	regKey := sys.World.Key(pREG)
	bodyOf := func(chainID string, signers []string, expires int64, opType string, op []byte, version uint8) []byte {
		b := chainengine.Body{Version: version, ChainID: chainID, Signers: signers, Nonce: chainengine.RandomNonce(), ExpiresAt: expires, OpType: opType, Op: op}
		return canonMarshal(&b)
	}
	tx := func(body []byte, keys ...ed25519.PrivateKey) []byte {
		var sigs []chainengine.Signature
		for _, k := range keys {
			sigs = append(sigs, chainengine.SignBody(k, body))
		}
		return chainengine.AssembleTx(body, sigs)
	}
	h := app.Height() + 100
	freezeOp := ledger.EncodeOp(&receipt.Freeze{Receipt: r1, Reason: "x"})
	good := func() []byte {
		return bodyOf(app.ChainID(), []string{pREG}, h, "receipt.freeze", freezeOp, chainengine.TxVersion)
	}
	c.post("malformed_op", pREG, "/v1/txs", api.SubmitTxRequest{Tx: tx(bodyOf(app.ChainID(), []string{pREG}, h, "receipt.freeze", []byte{0xff, 0xff}, 1), regKey)})
	c.post("tx_malformed", pREG, "/v1/txs", api.SubmitTxRequest{Tx: []byte("not a tx")})
	c.post("tx_too_large", pREG, "/v1/txs", api.SubmitTxRequest{Tx: bytes.Repeat([]byte{1}, chainengine.MaxTxBytes+1)})
	c.post("tx_version", pREG, "/v1/txs", api.SubmitTxRequest{Tx: tx(bodyOf(app.ChainID(), []string{pREG}, h, "receipt.freeze", freezeOp, 9), regKey)})
	c.post("tx_signers", pREG, "/v1/txs", api.SubmitTxRequest{Tx: tx(bodyOf(app.ChainID(), []string{pREG, pA}, h, "receipt.freeze", freezeOp, 1), regKey)})
	forged := tx(good(), regKey)
	forged[len(forged)-3] ^= 1
	c.post("tx_bad_signature", pREG, "/v1/txs", api.SubmitTxRequest{Tx: forged})
	c.post("tx_wrong_chain", pREG, "/v1/txs", api.SubmitTxRequest{Tx: tx(bodyOf("other-chain", []string{pREG}, h, "receipt.freeze", freezeOp, 1), regKey)})
	c.post("tx_expired", pREG, "/v1/txs", api.SubmitTxRequest{Tx: tx(bodyOf(app.ChainID(), []string{pREG}, 1, "receipt.freeze", freezeOp, 1), regKey)})
	c.post("tx_expiry_range", pREG, "/v1/txs", api.SubmitTxRequest{Tx: tx(bodyOf(app.ChainID(), []string{pREG}, app.Height()+chainengine.MaxTxTTLHeights+100, "receipt.freeze", freezeOp, 1), regKey)})
	c.post("tx_signer_key", pREG, "/v1/txs", api.SubmitTxRequest{Tx: tx(good(), sys.World.Key(pA))})
	c.post("token_forbidden", pA, "/v1/txs", api.SubmitTxRequest{Tx: tx(good(), regKey)})

	// The API's own problems.
	c.refused("unauthorized", "", http.MethodGet, "/v1/receipts/"+r1, nil)
	_, err := apiclient.New(sys.URL, "ewr_not-a-token").Do(c.ctx, http.MethodGet, "/v1/me", nil, nil)
	p, _ := apiclient.AsProblem(err)
	require.NotNil(t, p)
	assert.Equal(t, "unauthorized", p.Name())
	c.get("route_not_found", pA, "/v1/nope")
	c.get("not_found", pA, "/v1/blocks/999999999")
	c.refused("method_not_allowed", pA, http.MethodDelete, "/v1/receipts/"+r1, nil)
	c.post("invalid_body", pA, "/v1/receipts/"+r1+"/transfer", rawJSON(`{"to":`))
	c.post("invalid_body", pA, "/v1/receipts/"+r1+"/transfer", rawJSON(`{"to":"trader-b","bogus":1}`))
	c.post("invalid_body", pA, "/v1/receipts/"+r1+"/deliver", rawJSON(`{"quantity":-5}`))
	c.post("invalid_body", pA, "/v1/receipts/"+r1+"/deliver", rawJSON(`{"quantity":18446744073709551616}`))
	c.get("invalid_parameter", pA, "/v1/receipts?limit=0")
	c.get("invalid_parameter", pA, "/v1/receipts/bad%20id")
	c.refused("unsupported_media_type", pA, http.MethodPost, "/v1/receipts/"+r1+"/transfer", []byte("to=trader-b"), apiclient.Header("Content-Type", "text/plain"))
	c.get("draft_not_found", pA, "/v1/drafts/DR-nope")

	// Servers built differently on the same chain: no prover, no
	// simulator, one stream at most, a chain that fails, one not yet
	// committed.
	cfg := sys.Config()
	cfg.Prover, cfg.Simulator, cfg.MaxStreams, cfg.IdempotencyDir, cfg.BodyLimit = nil, nil, 1, "", 4096
	srv, err := api.New(cfg)
	require.NoError(t, err)
	// Faults are a test's tool: a consortium admin's only.
	c.post("token_forbidden", pWO, "/v1/simulator/faults", api.FaultRequest{Kind: api.FaultTheft, Warehouse: ledger.Warehouse1, Bay: "BAY-01"})
	url2 := apitest.Serve(t, srv)
	c2 := &caller{t: t, sys: &apitest.System{URL: url2, Tokens: sys.Tokens, World: sys.World}, ctx: c.ctx, seen: c.seen}
	c2.get("proof_unavailable", pA, "/v1/receipts/"+r1+"/proof")
	c2.post("body_too_large", pA, "/v1/receipts/"+r1+"/transfer", rawJSON(`{"to":"`+strings.Repeat("x", 8192)+`"}`))
	c2.post("simulator_unavailable", pWO, "/v1/simulator/faults", api.FaultRequest{Kind: api.FaultTheft, Warehouse: ledger.Warehouse1, Bay: "BAY-01"})
	streamCtx, stopStream := context.WithCancel(c.ctx)
	req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, url2+"/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+sys.Tokens[pA])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	c2.get("too_many_streams", pA, "/v1/events/stream")
	stopStream()
	resp.Body.Close()

	cfg = sys.Config()
	cfg.IdempotencyDir = ""
	cfg.Chain = brokenChain{Chain: cfg.Chain, secret: "pebble: corrupt sstable 000042 at /secret/path"}
	srv, err = api.New(cfg)
	require.NoError(t, err)
	c3 := &caller{t: t, sys: &apitest.System{URL: apitest.Serve(t, srv), Tokens: sys.Tokens}, ctx: c.ctx, seen: c.seen}
	p = c3.get("internal", pA, "/v1/blocks/1")
	assert.Equal(t, 500, p.Status)
	assert.NotContains(t, string(p.Raw), "sstable", "a 500 must not leak internals")
	assert.NotContains(t, string(p.Raw), "/secret/path")
	assert.NotEmpty(t, p.RequestID, "a 500 names the request id the server logged")
	p = c3.get("not_ready", "", "/readyz")
	assert.Equal(t, 503, p.Status)

	// The timed cases, once their deadlines passed.
	testkit.PollTrue(t, 30*time.Second, "the timed cases' deadlines pass", func() bool { return c.now() >= timedFrom+6 })
	c.post("receipt_expired", pA, "/v1/receipts/"+rExp+"/transfer", api.TransferRequest{Version: c.v(rExp), To: pB})
	c.post("deadline_passed", pB, "/v1/receipts/"+rTP2+"/accept", api.VersionRequest{Version: c.v(rTP2)})
	c.post("loan_not_defaulted", pBA, "/v1/pledges/"+plT+"/invoke", api.VersionRequest{Version: c.plv(plT)})
	c.post("loan_matured", pBA, "/v1/loans/"+lnT+"/disburse", api.AmountRequest{Amount: 1, Version: c.lv(lnT)})
	c.post("trade_deadline_passed", pB, "/v1/offers/"+ofT+"/accept", api.AcceptOfferRequest{BuyerBank: pBB})
	c.act(pA, "/v1/receipts/"+rT2+"/pledge", api.PledgeRequest{Version: c.v(rT2), Bank: pBB, Maturity: c.now() + 30*day}) // the lapsed offer locks nothing
}

// checkCoverage asserts every problem type was reached with its status,
// or is listed in notReached.
func checkCoverage(t *testing.T, seen map[string]int) {
	rules, reached := 0, 0
	for _, e := range receipt.Errors() {
		rules++
		if _, ok := seen[e.Name]; ok {
			reached++
		}
	}
	t.Logf("reached %d of %d domain rules and %d problem types in all through the API", reached, rules, len(seen))
	for _, e := range receipt.Errors() {
		status, ok := seen[e.Name]
		switch {
		case ok:
			assert.Equal(t, api.StatusOf(e.Kind), status, "rule %s", e.Name)
		case notReached[e.Name] != "" || iotRule(e):
		default:
			assert.Fail(t, "rule never reached through the API", "%s (code %d): %s", e.Name, e.Code, e.Msg)
		}
	}
	for _, name := range api.APIProblemTypes() {
		status, ok := seen[name]
		want, _, _ := api.APIProblem(name)
		switch {
		case ok:
			assert.Equal(t, want, status, "problem %s", name)
		case notReached[name] != "":
		default:
			assert.Fail(t, "API problem never reached", "%s", name)
		}
	}
	for name := range seen {
		_, _, isAPI := api.APIProblem(name)
		isRule := false
		for _, e := range receipt.Errors() {
			isRule = isRule || e.Name == name
		}
		assert.True(t, isAPI || isRule, "seen problem %s is neither a rule nor an API problem", name)
	}
}

// rawJSON is a raw JSON body.
func rawJSON(s string) []byte { return []byte(s) }

// brokenChain is a node whose block store fails, and that has not
// committed: its errors must not reach the client.
type brokenChain struct {
	api.Chain
	secret string
}

func (b brokenChain) Block(int64) (*ledger.BlockRecord, bool, error) {
	return nil, false, errors.New(b.secret)
}

func (b brokenChain) Height() int64 { return 0 }

func canonMarshal(b *chainengine.Body) []byte { return canon.Marshal(b) }
