package api

import (
	"net/http"
	"reflect"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/gofiber/fiber/v2"
)

func typ[T any]() reflect.Type { return reflect.TypeFor[T]() }

// Route constructors.

func getR(path, tag, cli, summary string, resp reflect.Type, h func(*reqCtx) error, q ...Param) *Route {
	return &Route{Method: fiber.MethodGet, Path: path, Tag: tag, CLI: cli, Summary: summary, Response: resp, Status: http.StatusOK, Query: q, handler: h}
}

func listR(path, tag, cli, summary string, item reflect.Type, h func(*reqCtx) error, q ...Param) *Route {
	q = append(q, Param{"after", "string", "cursor: the next page after this id (from the previous page's next)"},
		Param{"limit", "integer", "page size, 1..1000 (default 100)"})
	return &Route{Method: fiber.MethodGet, Path: path, Tag: tag, CLI: cli, Summary: summary, ListOf: item, Status: http.StatusOK, Query: q, handler: h}
}

func actR(path, tag, cli, summary string, req reflect.Type, h func(*reqCtx) error) *Route {
	return &Route{Method: fiber.MethodPost, Path: path, Tag: tag, CLI: cli, Summary: summary, Request: req,
		Response: typ[ActionResult](), Status: http.StatusOK, Action: true, handler: h}
}

func createR(path, tag, cli, summary string, req reflect.Type, h func(*reqCtx) error) *Route {
	r := actR(path, tag, cli, summary, req, h)
	r.Status = http.StatusCreated
	return r
}

// routeTable is every route of the API. The router, the OpenAPI document
// and the CLI are all built from it.
func (s *Server) routeTable() []*Route {
	P := func(name, typ, help string) Param { return Param{name, typ, help} }
	rs := []*Route{
		// Service.
		{Method: fiber.MethodGet, Path: "/healthz", Tag: "service", Summary: "liveness: the process serves HTTP", Public: true,
			Response: typ[Health](), Status: 200, handler: s.healthz},
		{Method: fiber.MethodGet, Path: "/readyz", Tag: "service", Summary: "readiness: the chain has committed a block", Public: true,
			Response: typ[Health](), Status: 200, handler: s.readyz},
		{Method: fiber.MethodGet, Path: "/metrics", Tag: "service", Summary: "Prometheus metrics (text exposition format)", Public: true,
			Status: 200, handler: s.metricsHandler},
		{Method: fiber.MethodGet, Path: "/v1/openapi.json", Tag: "service", Summary: "this document", Public: true,
			Status: 200, handler: s.openapiHandler},
		{Method: fiber.MethodGet, Path: "/", Tag: "service", Public: true, Status: 200, handler: s.consolePage,
			Summary: "the web console: sign in with a participant's token; it calls this same API"},
		{Method: fiber.MethodGet, Path: "/console/{file}", Tag: "service", Public: true, Status: 200, handler: s.consoleAsset,
			Summary: "the console's script and style sheet, built into the binary"},
		{Method: fiber.MethodGet, Path: "/verify", Tag: "service", Public: true, Status: 200, handler: s.verifyPage,
			Summary: "the offline proof verifier: one self-contained HTML page (WebAssembly inside) that checks a bundle against a genesis the bank pins, " +
				"with no request to any node; save it to disk and open it there"},
		getR("/v1/status", "service", "status", "the chain's height and time, the read model's progress, who the token is", typ[StatusView](), s.status),
		getR("/v1/me", "service", "me", "the participant this token acts for", typ[Me](), s.me),

		// Participants.
		listR("/v1/participants", "participants", "participant list", "consortium members", typ[receipt.Participant](), listOf(s, all[receipt.Participant](receipt.PrefixParticipant))),
		getR("/v1/participants/{id}", "participants", "participant get", "a member", typ[receipt.Participant](), s.record("participant")),
		newR[receipt.RegisterParticipant]("/v1/participants", "participants", "participant register",
			"admit a member (admin quorum: a draft the other admins approve)", "participant", func(_ *reqCtx, op *receipt.RegisterParticipant) string { return op.ID }),
		on("/v1/participants/{id}/suspend", "participants", "participant suspend",
			"suspend a member (admin quorum)", "participant", func(id string, req *ReasonRequest) receipt.Op {
				return &receipt.SuspendParticipant{ID: id, Reason: req.Reason}
			}),
		on("/v1/participants/{id}/reinstate", "participants", "participant reinstate",
			"lift a suspension (admin quorum)", "participant", func(id string, req *ReasonRequest) receipt.Op {
				return &receipt.ReinstateParticipant{ID: id, Reason: req.Reason}
			}),

		on("/v1/participants/{id}/rotate-key", "participants", "participant rotate-key",
			"replace the member's signing key (the member, signing with its current key; or the admin quorum for a lost key)", "participant",
			func(id string, req *RotateKeyRequest) receipt.Op {
				return &receipt.RotateKey{ID: id, NewKey: req.NewKey, Version: req.Version}
			}),

		// Warehouses and bays.
		listR("/v1/warehouses", "warehouses", "warehouse list", "licensed warehouses", typ[warehouse.Warehouse](), listOf(s, all[warehouse.Warehouse](warehouse.PrefixWarehouse))),
		getR("/v1/warehouses/{id}", "warehouses", "warehouse get", "a warehouse", typ[warehouse.Warehouse](), s.record("warehouse")),
		newR[warehouse.RegisterWarehouse]("/v1/warehouses", "warehouses", "warehouse register",
			"admit a warehouse (admin quorum)", "warehouse", func(_ *reqCtx, op *warehouse.RegisterWarehouse) string { return op.ID }),
		listR("/v1/warehouses/{id}/bays", "warehouses", "warehouse bays", "a warehouse's bays and the lot locked in each", typ[warehouse.Bay](), listOf(s, s.bayList),
			P("free", "boolean", "only bays holding no locked lot")),
		getR("/v1/warehouses/{id}/bays/{bay}/readings", "warehouses", "warehouse bay-readings",
			"the bay scale's signed readings of the last minutes, beside the lock band of the lot locked in the bay (from this member's NATS)",
			typ[BayReadingsView](), s.bayReadings, P("minutes", "integer", "how far back, 1..60 (default 10)")),
		on("/v1/warehouses/{id}/bays", "warehouses", "warehouse add-bay",
			"add a bay with its scale's empty weight (the warehouse's operator)", "warehouse", func(id string, req *BayRequest) receipt.Op {
				return &warehouse.AddBay{Warehouse: id, Bay: req.Bay, TareKg: req.TareKg}
			}),
		onR("/v1/warehouses/{id}/bays/{bay}/tare", "warehouses", "warehouse bay-tare",
			"record what an empty bay's scale reads (operator; the collateral manager co-signs)", "warehouse", func(rc *reqCtx, id string, req *TareRequest) (receipt.Op, error) {
				bay, err := rc.id("bay")
				return &warehouse.SetBayTare{Warehouse: id, Bay: bay, TareKg: req.TareKg}, err
			}),
		on("/v1/warehouses/{id}/supervisors", "warehouses", "warehouse supervisors",
			"register who may supervise the warehouse's lots besides its collateral manager (admin quorum)", "warehouse", func(id string, req *SupervisorsRequest) receipt.Op {
				return &warehouse.SetSupervisors{Warehouse: id, Supervisors: req.Supervisors}
			}),
		listR("/v1/warehouses/{id}/lots", "lots", "warehouse lots", "a warehouse's lots, with lock and health", typ[warehouse.Lot](), listOf(s, s.warehouseLotList),
			P("unhealthy", "boolean", "only lots whose supervision is not OK"), P("status", "string", "LOCKED or RELEASED")),
		listR("/v1/warehouses/{id}/release-orders", "deliveries", "warehouse release-orders", "a warehouse's open release orders: goods to load out",
			typ[warehouse.ReleaseOrder](), listOf(s, s.releaseOrderList)),

		// Lots.
		newR[warehouse.RegisterStock]("/v1/lots", "lots", "lot register",
			"register and lock a lot from signed in-tickets (operator; the collateral manager co-signs)", "lot", func(_ *reqCtx, op *warehouse.RegisterStock) string { return orNew(&op.Lot, "LOT") }),
		getR("/v1/lots/{id}", "lots", "lot get", "a lot: its lock (status, bay, quantities) and health", typ[warehouse.Lot](), s.record("lot")),
		listR("/v1/lots/{id}/receipts", "lots", "lot receipts", "the receipts on a lot", typ[receipt.Receipt](), listOf(s, s.lotReceiptList),
			P("live", "boolean", "only receipts that still stand for goods")),
		on("/v1/lots/{id}/recount", "lots", "lot recount",
			"re-count a lot in alarm: clears the alarm and unfreezes its receipts (collateral manager; a regulator co-signs)", "lot", func(id string, req *RecountRequest) receipt.Op {
				return &iot.Recount{Lot: id, Counted: req.Counted, Baseline: req.Baseline, Note: req.Note, Version: req.Version}
			}),
		getR("/v1/lots/{id}/proof", "lots", "lot proof", "a proof bundle of the lot record, checkable offline with `ewr verify`", typ[chainengine.ProofBundle](), s.proof("lot")),

		// Receipts.
		listR("/v1/receipts", "receipts", "receipt list", "receipts by holder (default: the token's participant) or lot", typ[receipt.Receipt](), listOf(s, s.receiptList),
			P("holder", "string", "holder id"), P("lot", "string", "lot id"), P("state", "string", "comma-separated states"),
			P("live", "boolean", "only receipts that still stand for goods")),
		newR[warehouse.IssueReceipt]("/v1/receipts", "receipts", "receipt issue",
			"issue a receipt against a locked, healthy lot (operator)", "receipt", func(_ *reqCtx, op *warehouse.IssueReceipt) string { return orNew(&op.ID, "WR") }),
		getR("/v1/receipts/{id}", "receipts", "receipt get", "a receipt (ETag: its version)", typ[receipt.Receipt](), s.receipt),
		listR("/v1/receipts/{id}/history", "receipts", "receipt history", "every event that concerns the receipt, in chain order (read model)",
			typ[EventView](), s.receiptHistory),
		getR("/v1/receipts/{id}/lineage", "receipts", "receipt lineage", "ancestors and descendants through splits and merges", typ[indexer.Lineage](), s.lineage),
		getR("/v1/receipts/{id}/proof", "receipts", "receipt proof", "a proof bundle of the receipt, checkable offline with `ewr verify`", typ[chainengine.ProofBundle](), s.proof("receipt"), P("min_height", "integer", "prove a state at least this recent (waited for, up to 10 s)")),
		getR("/v1/receipts/{id}/position-proof", "receipts", "receipt position-proof", "one bundle, proven at one height, of every record a bank relies on for the receipt: it, its pledge and the pledge's bank, the lot, its watch and latest alert, the loan and the price and credit policy it is marked to (or their absence); checkable offline with `ewr verify`", typ[chainengine.ProofBundle](), s.positionProof, P("min_height", "integer", "prove a state at least this recent (waited for, up to 10 s)")),
		listR("/v1/receipts/{id}/pledges", "pledges", "receipt pledges", "every pledge ever requested on the receipt", typ[receipt.Pledge](), listOf(s, s.receiptPledgeList)),
		getR("/v1/receipts/{id}/precheck", "financing", "receipt precheck", "what a bank checks before lending against the receipt, in one call",
			typ[financing.Report](), s.precheck,
			P("bank", "string", "the lending bank (default: the token's participant)"), P("borrower", "string", "default: the holder"),
			P("currency", "string", "ISO 4217"), P("maturity", "integer", "unix seconds")),
		onR("/v1/receipts/{id}/transfer", "receipts", "receipt transfer",
			"offer the receipt to a named transferee (holder; a pledged receipt's bank co-signs)", "receipt", func(rc *reqCtx, id string, req *TransferRequest) (receipt.Op, error) {
				if req.Deadline == 0 {
					req.Deadline = rc.now() + 86400
				}
				return &receipt.InitiateTransfer{Receipt: id, Version: req.Version, To: req.To, Deadline: req.Deadline}, nil
			}),
		on("/v1/receipts/{id}/accept", "receipts", "receipt accept",
			"take a receipt offered to you", "receipt", func(id string, req *VersionRequest) receipt.Op {
				return &receipt.AcceptTransfer{Receipt: id, Version: req.Version}
			}),
		on("/v1/receipts/{id}/cancel-transfer", "receipts", "receipt cancel-transfer",
			"withdraw a pending transfer", "receipt", func(id string, req *Empty) receipt.Op { return &receipt.CancelTransfer{Receipt: id} }),
		on("/v1/receipts/{id}/split", "receipts", "receipt split",
			"split into parts that add up to the quantity (holder)", "receipt", func(id string, req *SplitRequest) receipt.Op {
				return &receipt.Split{Receipt: id, Version: req.Version, Parts: req.Parts}
			}),
		newR[receipt.Merge]("/v1/receipts/merge", "receipts", "receipt merge",
			"merge receipts of one holder, lot and terms into one", "receipt", func(_ *reqCtx, op *receipt.Merge) string { return orNew(&op.Into, "WR") }),
		on("/v1/receipts/{id}/pledge", "receipts", "receipt pledge",
			"ask a bank to take the receipt as collateral (holder)", "pledge", func(id string, req *PledgeRequest) receipt.Op {
				return &receipt.RequestPledge{Pledge: orNew(&req.Pledge, "PL"), Receipt: id, Version: req.Version, Bank: req.Bank, Maturity: req.Maturity}
			}),
		onR("/v1/receipts/{id}/confirm", "receipts", "receipt confirm",
			"confirm the receipt's pending pledge (that bank)", "receipt", func(rc *reqCtx, id string, req *ConfirmPledgeRequest) (receipt.Op, error) {
				pl, err := rc.receiptPledge(id)
				return &receipt.ConfirmPledge{Pledge: pl, ReceiptVersion: req.ReceiptVersion}, err
			}),
		onR("/v1/receipts/{id}/release", "receipts", "receipt release",
			"release the receipt's active pledge (that bank)", "receipt", func(rc *reqCtx, id string, req *PledgeVersionRequest) (receipt.Op, error) {
				pl, err := rc.receiptPledge(id)
				return &receipt.ReleasePledge{Pledge: pl, Version: req.PledgeVersion}, err
			}),
		onR("/v1/receipts/{id}/deliver", "deliveries", "receipt deliver",
			"redeem goods: opens a release order (holder; a pledged receipt's bank co-signs)", "receipt", func(rc *reqCtx, id string, req *DeliverRequest) (receipt.Op, error) {
				if req.Quantity == 0 {
					if r, ok := get[receipt.Receipt](rc.state(), receipt.ReceiptKey(id)); ok {
						req.Quantity = r.Quantity
					}
				}
				return &warehouse.RequestDelivery{Receipt: id, Version: req.Version, Quantity: req.Quantity}, nil
			}),
		on("/v1/receipts/{id}/freeze", "receipts", "receipt freeze",
			"stop a receipt (regulator)", "receipt", func(id string, req *ReasonRequest) receipt.Op {
				return &receipt.Freeze{Receipt: id, Reason: req.Reason}
			}),
		on("/v1/receipts/{id}/unfreeze", "receipts", "receipt unfreeze",
			"lift a regulator's freeze (regulator)", "receipt", func(id string, req *ReasonRequest) receipt.Op {
				return &receipt.Unfreeze{Receipt: id, Reason: req.Reason}
			}),
		on("/v1/receipts/{id}/expire", "receipts", "receipt expire",
			"record that the receipt's validity passed (anyone)", "receipt", func(id string, req *Empty) receipt.Op { return &receipt.Expire{Receipt: id} }),
		on("/v1/receipts/{id}/void", "receipts", "receipt void",
			"void a receipt issued in error (its issuer)", "receipt", func(id string, req *VersionReasonRequest) receipt.Op {
				return &receipt.Void{Receipt: id, Version: req.Version, Reason: req.Reason}
			}),
		on("/v1/receipts/{id}/amend", "receipts", "receipt amend",
			"change the receipt's text (issuer; the holder co-signs)", "receipt", func(id string, req *AmendRequest) receipt.Op {
				return &receipt.Amend{Receipt: id, Version: req.Version, Description: req.Description,
					ThirdPartyClaims: req.ThirdPartyClaims, Insurance: req.Insurance}
			}),

		// Pledges.
		listR("/v1/pledges", "pledges", "pledge list", "a bank's pledges (default: the token's participant)", typ[receipt.Pledge](), listOf(s, s.pledgeList),
			P("bank", "string", "bank id"), P("status", "string", "comma-separated statuses")),
		getR("/v1/pledges/{id}", "pledges", "pledge get", "a pledge", typ[receipt.Pledge](), s.record("pledge")),
		on("/v1/pledges/{id}/confirm", "pledges", "pledge confirm",
			"take control of the receipt (the pledge's bank)", "pledge", func(id string, req *ConfirmPledgeRequest) receipt.Op {
				return &receipt.ConfirmPledge{Pledge: id, ReceiptVersion: req.ReceiptVersion}
			}),
		on("/v1/pledges/{id}/reject", "pledges", "pledge reject",
			"refuse a pending request (the bank) or withdraw it (the pledgor)", "pledge", func(id string, req *VersionReasonRequest) receipt.Op {
				return &receipt.RejectPledge{Pledge: id, Reason: req.Reason, Version: req.Version}
			}),
		on("/v1/pledges/{id}/withdraw", "pledges", "pledge withdraw",
			"withdraw a pending request (the pledgor)", "pledge", func(id string, req *VersionRequest) receipt.Op {
				return &receipt.WithdrawPledgeRequest{Pledge: id, Version: req.Version}
			}),
		on("/v1/pledges/{id}/release", "pledges", "pledge release",
			"give up control: the debt was repaid (the bank)", "pledge", func(id string, req *VersionRequest) receipt.Op {
				return &receipt.ReleasePledge{Pledge: id, Version: req.Version}
			}),
		on("/v1/pledges/{id}/invoke", "pledges", "pledge invoke",
			"enforce after a default: the receipt moves to the bank", "pledge", func(id string, req *VersionRequest) receipt.Op {
				return &receipt.InvokePledge{Pledge: id, Version: req.Version}
			}),

		// Deliveries.
		getR("/v1/release-orders/{id}", "deliveries", "release-order get", "a release order", typ[warehouse.ReleaseOrder](), s.record("release_order")),
		on("/v1/release-orders/{id}/confirm", "deliveries", "release-order confirm",
			"confirm a delivery with the out-tickets (operator)", "release_order", func(id string, req *TicketsRequest) receipt.Op { return confirmDelivery(id, req) }),
		on("/v1/release-orders/{id}/cancel", "deliveries", "release-order cancel",
			"withdraw an open release order (holder)", "release_order", func(id string, req *Empty) receipt.Op { return &warehouse.CancelDelivery{ReleaseOrder: id} }),

		// Financing.
		listR("/v1/credit-policies", "financing", "policy list", "banks' credit policies", typ[financing.CreditPolicy](), listOf(s, s.policyList), P("bank", "string", "bank id")),
		newR[financing.SetCreditPolicy]("/v1/credit-policies", "financing", "policy set",
			"set the token's bank's policy for a commodity", "", func(*reqCtx, *financing.SetCreditPolicy) string { return "" }),
		listR("/v1/prices", "financing", "price list", "the latest posted prices", typ[financing.Price](), listOf(s, all[financing.Price](financing.PrefixPrice))),
		newR[financing.PostPrice]("/v1/prices", "financing", "price post",
			"post a commodity price (oracle): open loans are marked to it", "", func(*reqCtx, *financing.PostPrice) string { return "" }),
		listR("/v1/loans", "financing", "loan list", "loans, by bank or borrower (default: the token's participant)", typ[financing.Loan](), listOf(s, s.loanList),
			P("bank", "string", "bank id"), P("borrower", "string", "borrower id"), P("status", "string", "OPEN, REPAID, DEFAULTED or CANCELLED")),
		newR[financing.OpenLoan]("/v1/loans", "financing", "loan open",
			"open a loan on confirmed pledges (bank; the borrower co-signs)", "loan", func(_ *reqCtx, op *financing.OpenLoan) string { return orNew(&op.Loan, "LN") }),
		getR("/v1/loans/{id}", "financing", "loan get", "a loan, with its open margin call", typ[financing.Loan](), s.record("loan")),
		on("/v1/loans/{id}/disburse", "financing", "loan disburse",
			"record a disbursement (the bank)", "loan", func(id string, req *AmountRequest) receipt.Op {
				return &financing.RecordDisbursement{Loan: id, Amount: req.Amount, Ref: req.Ref, Version: req.Version}
			}),
		on("/v1/loans/{id}/repay", "financing", "loan repay",
			"record a repayment (the bank); repaid in full, the collateral is released", "loan", func(id string, req *AmountRequest) receipt.Op {
				return &financing.RecordRepayment{Loan: id, Amount: req.Amount, Ref: req.Ref, Version: req.Version}
			}),
		on("/v1/loans/{id}/collateral", "financing", "loan add-collateral",
			"add confirmed pledges (the bank; the borrower co-signs)", "loan", func(id string, req *PledgesRequest) receipt.Op {
				return &financing.AddCollateral{Loan: id, Pledges: req.Pledges, Version: req.Version}
			}),
		on("/v1/loans/{id}/default", "financing", "loan default",
			"record a default (the bank)", "loan", func(id string, req *VersionRequest) receipt.Op {
				return &financing.MarkDefault{Loan: id, Version: req.Version}
			}),
		on("/v1/loans/{id}/cancel", "financing", "loan cancel",
			"cancel an undrawn loan (bank or borrower)", "loan", func(id string, req *VersionReasonRequest) receipt.Op {
				return &financing.CancelLoan{Loan: id, Reason: req.Reason, Version: req.Version}
			}),
		listR("/v1/margin-calls", "financing", "margin-call list", "open loans with an open margin call", typ[financing.Loan](), listOf(s, s.marginCallList),
			P("bank", "string", "bank id"), P("borrower", "string", "borrower id")),
		getR("/v1/banks/{id}/exposure", "financing", "bank exposure", "a bank's collateral by commodity, warehouse and unit", typ[[]indexer.Exposure](), s.exposure),

		// Trading.
		listR("/v1/offers", "trading", "offer list", "offers by seller or buyer (default: the token's participant)", typ[trading.Offer](), listOf(s, s.offerList),
			P("seller", "string", "seller id"), P("buyer", "string", "buyer id"), P("status", "string", "OPEN, ACCEPTED or WITHDRAWN")),
		newR[trading.CreateOffer]("/v1/offers", "trading", "offer create",
			"offer a receipt to a named buyer at a price (holder; a pledged receipt's bank co-signs)", "offer", func(rc *reqCtx, op *trading.CreateOffer) string {
				if op.Deadline == 0 {
					op.Deadline = rc.now() + 86400
				}
				return orNew(&op.Offer, "OF")
			}),
		getR("/v1/offers/{id}", "trading", "offer get", "an offer", typ[trading.Offer](), s.record("offer")),
		on("/v1/offers/{id}/withdraw", "trading", "offer withdraw",
			"withdraw an open offer (seller)", "offer", func(id string, req *Empty) receipt.Op { return &trading.WithdrawOffer{Offer: id} }),
		on("/v1/offers/{id}/accept", "trading", "offer accept",
			"accept an offer, naming the bank that holds the funds (buyer)", "trade", func(id string, req *AcceptOfferRequest) receipt.Op {
				return &trading.AcceptOffer{Offer: id, BuyerBank: req.BuyerBank}
			}),
		listR("/v1/trades", "trading", "trade list", "trades of a participant (default: the token's)", typ[trading.Trade](), listOf(s, s.tradeList),
			P("party", "string", "seller, buyer or a bank of the trade"), P("status", "string", "AWAITING_FUNDS, FUNDED, SETTLED or CANCELLED")),
		getR("/v1/trades/{id}", "trading", "trade get", "a trade (delivery versus payment)", typ[trading.Trade](), s.record("trade")),
		on("/v1/trades/{id}/fund", "trading", "trade fund",
			"confirm the buyer's funds are held (the buyer's bank)", "trade", func(id string, req *FundRequest) receipt.Op {
				return &trading.ConfirmFunds{Trade: id, AmountMinor: req.AmountMinor, Currency: req.Currency, EscrowRef: req.EscrowRef}
			}),
		on("/v1/trades/{id}/settle", "trading", "trade settle",
			"settle: receipt to the buyer, payment to the seller (or the loan)", "settlement", func(id string, req *Empty) receipt.Op { return &trading.Settle{Trade: id} }),
		on("/v1/trades/{id}/cancel", "trading", "trade cancel",
			"cancel a trade (a funded one: buyer and seller together)", "trade", func(id string, req *ReasonRequest) receipt.Op {
				return &trading.CancelTrade{Trade: id, Reason: req.Reason}
			}),
		getR("/v1/settlements/{id}", "trading", "settlement get", "how a trade settled", typ[trading.Settlement](), s.record("settlement")),

		// Devices and alerts.
		listR("/v1/devices", "devices", "device list", "registered devices", typ[warehouse.Device](), listOf(s, s.deviceList),
			P("warehouse", "string", "warehouse id"), P("bay", "string", "bay id")),
		getR("/v1/devices/{id}", "devices", "device get", "a device", typ[warehouse.Device](), s.record("device")),
		newR[warehouse.RegisterDevice]("/v1/devices", "devices", "device register",
			"register a device key (admin quorum)", "device", func(_ *reqCtx, op *warehouse.RegisterDevice) string { return op.ID }),
		on("/v1/devices/{id}/suspend", "devices", "device suspend",
			"revoke a device (admin quorum)", "device", func(id string, req *ReasonRequest) receipt.Op {
				return &warehouse.SuspendDevice{ID: id, Reason: req.Reason}
			}),
		on("/v1/devices/{id}/calibrate", "devices", "device calibrate",
			"record a calibration (the warehouse's collateral manager)", "device", func(id string, req *CalibrateRequest) receipt.Op {
				return &warehouse.CalibrateDevice{ID: id, CalibratedUntil: req.CalibratedUntil, Certificate: req.Certificate}
			}),
		listR("/v1/alerts", "devices", "alert list", "supervision alerts (breaches and gaps) on chain", nil, listOf(s, s.alertList),
			P("lot", "string", "lot id"), P("open", "boolean", "only open alerts")),
		getR("/v1/alerts/{id}", "devices", "alert get", "an alert", nil, s.record("alert")),
		{Method: fiber.MethodPost, Path: "/v1/simulator/faults", Tag: "devices", CLI: "simulator fault", Summary: "inject a fault into the simulated devices (ewr run only; a consortium admin's token)",
			Request: typ[FaultRequest](), Response: typ[FaultResult](), Status: http.StatusCreated, handler: simulated(s, receipt.RoleAdmin, Simulator.Fault)},
		{Method: fiber.MethodPost, Path: "/v1/simulator/intake", Tag: "devices", CLI: "simulator intake", Summary: "weigh trucks in and stack their goods on a simulated bay; returns the signed in-tickets (ewr run only)",
			Request: typ[IntakeRequest](), Response: typ[IntakeResult](), Status: http.StatusCreated, handler: simulated(s, 0, Simulator.Intake)},
		getR("/v1/simulator/load-outs/{id}", "devices", "simulator load-out", "a release order's load-out in the simulated warehouse: its out-tickets and the bay scale's closing reading once done (ewr run only)",
			typ[LoadOutView](), s.simLoadOut),

		// Blocks, txs, events.
		listR("/v1/blocks", "chain", "block list", "the newest blocks first", typ[BlockView](), s.blocks, P("before", "integer", "only blocks below this height")),
		getR("/v1/blocks/{height}", "chain", "block get", "what a block did: txs, outcomes, events, records written", typ[BlockView](), s.block),
		getR("/v1/validators", "chain", "validator list", "the consortium's validators and their voting power, as the state holds them", typ[receipt.ValidatorSet](), s.validators),
		newR[receipt.SetValidator]("/v1/validators", "chain", "validator set",
			"add a validator, change its power or (power 0) remove it (admin quorum); in force two blocks later", "",
			func(*reqCtx, *receipt.SetValidator) string { return "" }),
		getR("/v1/formats", "chain", "formats", "the record formats in force and the state upgrades scheduled and done", typ[receipt.Formats](), s.formats),
		newR[ledger.ScheduleUpgrade]("/v1/upgrades", "chain", "upgrade schedule",
			"schedule a state migration this release knows at a future height (admin quorum): every node rewrites the records at that height", "",
			func(*reqCtx, *ledger.ScheduleUpgrade) string { return "" }),
		getR("/v1/txs/{hash}", "chain", "tx get", "a tx's outcome: committed, rejected (with the rule) or pending", typ[TxView](), s.tx),
		{Method: fiber.MethodPost, Path: "/v1/txs", Tag: "chain", CLI: "", Summary: "submit a tx signed outside the node (the token's participant must be a signer)",
			Request: typ[SubmitTxRequest](), Response: typ[ActionResult](), Status: 200, Action: true, handler: s.submitTx},
		{Method: fiber.MethodPost, Path: "/v1/txs/encode", Tag: "chain", CLI: "", Summary: "the unsigned body of an op, to sign offline",
			Request: typ[EncodeTxRequest](), Response: typ[EncodedTx](), Status: 200, handler: s.encodeTx},
		listR("/v1/events", "chain", "event list", "committed events in chain order, filtered", typ[EventView](), s.events,
			P("receipt", "string", "receipt id"), P("lot", "string", "lot id"), P("participant", "string", "participant id"),
			P("type", "string", "comma-separated event types")),
		{Method: fiber.MethodGet, Path: "/v1/events/stream", Tag: "chain", CLI: "event watch", Summary: "live stream of committed events (text/event-stream); resume with Last-Event-ID",
			Status: 200, handler: s.stream, Query: []Param{P("receipt", "string", "receipt id"), P("lot", "string", "lot id"),
				P("participant", "string", "participant id"), P("from_height", "integer", "replay from this height")}},

		// Drafts: ops that need several signers.
		listR("/v1/drafts", "drafts", "draft list", "drafts the token's participant signs (awaiting=true: those still waiting for it)", typ[DraftView](), s.drafts,
			P("awaiting", "boolean", "only drafts awaiting this participant's signature")),
		createR("/v1/drafts", "drafts", "draft create", "start any op as a draft its co-signers approve", typ[DraftRequest](), s.createDraft),
		getR("/v1/drafts/{id}", "drafts", "draft get", "a draft: who signed, who is awaited, the body to sign", typ[DraftView](), s.draft),
		actR("/v1/drafts/{id}/approve", "drafts", "draft approve", "sign the draft with the key this node holds for the token's participant", typ[Empty](), s.approveDraft),
		actR("/v1/drafts/{id}/signatures", "drafts", "draft sign", "add a signature made offline over the draft's sign_bytes", typ[SignatureRequest](), s.signDraft),
		{Method: fiber.MethodPost, Path: "/v1/drafts/{id}/decline", Tag: "drafts", CLI: "draft decline", Summary: "decline to sign: the draft closes",
			Request: typ[ReasonRequest](), Response: typ[DraftView](), Status: 200, handler: s.declineDraft},
	}
	for _, r := range rs {
		if r.Method == fiber.MethodGet {
			r.Read = readPolicy[r.Path]
		}
	}
	return rs
}
