package api

import (
	"net/http"
	"reflect"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
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
		getR("/v1/status", "service", "status", "the chain's height and time, the read model's progress, who the token is", typ[StatusView](), s.status),
		getR("/v1/me", "service", "me", "the participant this token acts for", typ[Me](), s.me),

		// Participants.
		listR("/v1/participants", "participants", "participant list", "consortium members", typ[receipt.Participant](), s.participants),
		getR("/v1/participants/{id}", "participants", "participant get", "a member", typ[receipt.Participant](), s.record("participant")),
		createR("/v1/participants", "participants", "participant register", "admit a member (admin quorum: a draft the other admins approve)",
			typ[receipt.RegisterParticipant](), s.registerParticipant),
		actR("/v1/participants/{id}/suspend", "participants", "participant suspend", "suspend a member (admin quorum)", typ[ReasonRequest](), s.suspendParticipant),
		actR("/v1/participants/{id}/reinstate", "participants", "participant reinstate", "lift a suspension (admin quorum)", typ[ReasonRequest](), s.reinstateParticipant),

		// Warehouses and bays.
		listR("/v1/warehouses", "warehouses", "warehouse list", "licensed warehouses", typ[warehouse.Warehouse](), s.warehouses),
		getR("/v1/warehouses/{id}", "warehouses", "warehouse get", "a warehouse", typ[warehouse.Warehouse](), s.record("warehouse")),
		createR("/v1/warehouses", "warehouses", "warehouse register", "admit a warehouse (admin quorum)", typ[warehouse.RegisterWarehouse](), s.registerWarehouse),
		listR("/v1/warehouses/{id}/bays", "warehouses", "warehouse bays", "a warehouse's bays and the lot locked in each", typ[warehouse.Bay](), s.bays,
			P("free", "boolean", "only bays holding no locked lot")),
		createR("/v1/warehouses/{id}/bays", "warehouses", "warehouse add-bay", "add a bay with its scale's empty weight (the warehouse's operator)", typ[BayRequest](), s.addBay),
		actR("/v1/warehouses/{id}/bays/{bay}/tare", "warehouses", "warehouse bay-tare", "record what an empty bay's scale reads (operator; the collateral manager co-signs)",
			typ[TareRequest](), s.setBayTare),
		actR("/v1/warehouses/{id}/supervisors", "warehouses", "warehouse supervisors", "register who may supervise the warehouse's lots besides its collateral manager (admin quorum)",
			typ[SupervisorsRequest](), s.setSupervisors),
		listR("/v1/warehouses/{id}/lots", "lots", "warehouse lots", "a warehouse's lots, with lock and health", typ[warehouse.Lot](), s.warehouseLots,
			P("unhealthy", "boolean", "only lots whose supervision is not OK"), P("status", "string", "LOCKED or RELEASED")),
		listR("/v1/warehouses/{id}/release-orders", "deliveries", "warehouse release-orders", "a warehouse's open release orders: goods to load out",
			typ[warehouse.ReleaseOrder](), s.warehouseReleaseOrders),

		// Lots.
		createR("/v1/lots", "lots", "lot register", "register and lock a lot from signed in-tickets (operator; the collateral manager co-signs)",
			typ[warehouse.RegisterStock](), s.registerLot),
		getR("/v1/lots/{id}", "lots", "lot get", "a lot: its lock (status, bay, quantities) and health", typ[warehouse.Lot](), s.record("lot")),
		listR("/v1/lots/{id}/receipts", "lots", "lot receipts", "the receipts on a lot", typ[receipt.Receipt](), s.lotReceipts,
			P("live", "boolean", "only receipts that still stand for goods")),
		actR("/v1/lots/{id}/recount", "lots", "lot recount", "re-count a lot in alarm: clears the alarm and unfreezes its receipts (collateral manager; a regulator co-signs)",
			typ[RecountRequest](), s.recount),
		getR("/v1/lots/{id}/proof", "lots", "lot proof", "a proof bundle of the lot record, checkable offline with `ewr verify`", typ[chainengine.ProofBundle](), s.proof("lot")),

		// Receipts.
		listR("/v1/receipts", "receipts", "receipt list", "receipts by holder (default: the token's participant) or lot", typ[receipt.Receipt](), s.receipts,
			P("holder", "string", "holder id"), P("lot", "string", "lot id"), P("state", "string", "comma-separated states"),
			P("live", "boolean", "only receipts that still stand for goods")),
		createR("/v1/receipts", "receipts", "receipt issue", "issue a receipt against a locked, healthy lot (operator)", typ[warehouse.IssueReceipt](), s.issueReceipt),
		getR("/v1/receipts/{id}", "receipts", "receipt get", "a receipt (ETag: its version)", typ[receipt.Receipt](), s.receipt),
		listR("/v1/receipts/{id}/history", "receipts", "receipt history", "every event that concerns the receipt, in chain order (read model)",
			typ[EventView](), s.receiptHistory),
		getR("/v1/receipts/{id}/lineage", "receipts", "receipt lineage", "ancestors and descendants through splits and merges", typ[indexer.Lineage](), s.lineage),
		getR("/v1/receipts/{id}/proof", "receipts", "receipt proof", "a proof bundle of the receipt, checkable offline with `ewr verify`", typ[chainengine.ProofBundle](), s.proof("receipt")),
		listR("/v1/receipts/{id}/pledges", "pledges", "receipt pledges", "every pledge ever requested on the receipt", typ[receipt.Pledge](), s.receiptPledges),
		getR("/v1/receipts/{id}/precheck", "financing", "receipt precheck", "what a bank checks before lending against the receipt, in one call",
			typ[financing.Report](), s.precheck,
			P("bank", "string", "the lending bank (default: the token's participant)"), P("borrower", "string", "default: the holder"),
			P("currency", "string", "ISO 4217"), P("maturity", "integer", "unix seconds")),
		actR("/v1/receipts/{id}/transfer", "receipts", "receipt transfer", "offer the receipt to a named transferee (holder; a pledged receipt's bank co-signs)",
			typ[TransferRequest](), s.transfer),
		actR("/v1/receipts/{id}/accept", "receipts", "receipt accept", "take a receipt offered to you", typ[VersionRequest](), s.acceptTransfer),
		actR("/v1/receipts/{id}/cancel-transfer", "receipts", "receipt cancel-transfer", "withdraw a pending transfer", typ[Empty](), s.cancelTransfer),
		actR("/v1/receipts/{id}/split", "receipts", "receipt split", "split into parts that add up to the quantity (holder)", typ[SplitRequest](), s.split),
		createR("/v1/receipts/merge", "receipts", "receipt merge", "merge receipts of one holder, lot and terms into one", typ[receipt.Merge](), s.merge),
		actR("/v1/receipts/{id}/pledge", "receipts", "receipt pledge", "ask a bank to take the receipt as collateral (holder)", typ[PledgeRequest](), s.pledge),
		actR("/v1/receipts/{id}/confirm", "receipts", "receipt confirm", "confirm the receipt's pending pledge (that bank)", typ[ConfirmPledgeRequest](), s.confirmOnReceipt),
		actR("/v1/receipts/{id}/release", "receipts", "receipt release", "release the receipt's active pledge (that bank)", typ[Empty](), s.releaseOnReceipt),
		actR("/v1/receipts/{id}/deliver", "deliveries", "receipt deliver", "redeem goods: opens a release order (holder; a pledged receipt's bank co-signs)",
			typ[DeliverRequest](), s.deliver),
		actR("/v1/receipts/{id}/freeze", "receipts", "receipt freeze", "stop a receipt (regulator)", typ[ReasonRequest](), s.freeze),
		actR("/v1/receipts/{id}/unfreeze", "receipts", "receipt unfreeze", "lift a regulator's freeze (regulator)", typ[ReasonRequest](), s.unfreeze),
		actR("/v1/receipts/{id}/expire", "receipts", "receipt expire", "record that the receipt's validity passed (anyone)", typ[Empty](), s.expire),
		actR("/v1/receipts/{id}/void", "receipts", "receipt void", "void a receipt issued in error (its issuer)", typ[VersionReasonRequest](), s.void),
		actR("/v1/receipts/{id}/amend", "receipts", "receipt amend", "change the receipt's text (issuer; the holder co-signs)", typ[AmendRequest](), s.amend),

		// Pledges.
		listR("/v1/pledges", "pledges", "pledge list", "a bank's pledges (default: the token's participant)", typ[receipt.Pledge](), s.pledges,
			P("bank", "string", "bank id"), P("status", "string", "comma-separated statuses")),
		getR("/v1/pledges/{id}", "pledges", "pledge get", "a pledge", typ[receipt.Pledge](), s.record("pledge")),
		actR("/v1/pledges/{id}/confirm", "pledges", "pledge confirm", "take control of the receipt (the pledge's bank)", typ[ConfirmPledgeRequest](), s.confirmPledge),
		actR("/v1/pledges/{id}/reject", "pledges", "pledge reject", "refuse a pending request (the bank) or withdraw it (the pledgor)", typ[ReasonRequest](), s.rejectPledge),
		actR("/v1/pledges/{id}/withdraw", "pledges", "pledge withdraw", "withdraw a pending request (the pledgor)", typ[Empty](), s.withdrawPledge),
		actR("/v1/pledges/{id}/release", "pledges", "pledge release", "give up control: the debt was repaid (the bank)", typ[Empty](), s.releasePledge),
		actR("/v1/pledges/{id}/invoke", "pledges", "pledge invoke", "enforce after a default: the receipt moves to the bank", typ[Empty](), s.invokePledge),

		// Deliveries.
		getR("/v1/release-orders/{id}", "deliveries", "release-order get", "a release order", typ[warehouse.ReleaseOrder](), s.record("release_order")),
		actR("/v1/release-orders/{id}/confirm", "deliveries", "release-order confirm", "confirm a delivery with the out-tickets (operator)", typ[TicketsRequest](), s.confirmDelivery),
		actR("/v1/release-orders/{id}/cancel", "deliveries", "release-order cancel", "withdraw an open release order (holder)", typ[Empty](), s.cancelDelivery),

		// Financing.
		listR("/v1/credit-policies", "financing", "policy list", "banks' credit policies", typ[financing.CreditPolicy](), s.policies, P("bank", "string", "bank id")),
		createR("/v1/credit-policies", "financing", "policy set", "set the token's bank's policy for a commodity", typ[financing.SetCreditPolicy](), s.setPolicy),
		listR("/v1/prices", "financing", "price list", "the latest posted prices", typ[financing.Price](), s.prices),
		createR("/v1/prices", "financing", "price post", "post a commodity price (oracle): open loans are marked to it", typ[financing.PostPrice](), s.postPrice),
		listR("/v1/loans", "financing", "loan list", "loans, by bank or borrower (default: the token's participant)", typ[financing.Loan](), s.loans,
			P("bank", "string", "bank id"), P("borrower", "string", "borrower id"), P("status", "string", "OPEN, REPAID, DEFAULTED or CANCELLED")),
		createR("/v1/loans", "financing", "loan open", "open a loan on confirmed pledges (bank; the borrower co-signs)", typ[financing.OpenLoan](), s.openLoan),
		getR("/v1/loans/{id}", "financing", "loan get", "a loan, with its open margin call", typ[financing.Loan](), s.record("loan")),
		actR("/v1/loans/{id}/disburse", "financing", "loan disburse", "record a disbursement (the bank)", typ[AmountRequest](), s.disburse),
		actR("/v1/loans/{id}/repay", "financing", "loan repay", "record a repayment (the bank); repaid in full, the collateral is released", typ[AmountRequest](), s.repay),
		actR("/v1/loans/{id}/collateral", "financing", "loan add-collateral", "add confirmed pledges (the bank; the borrower co-signs)", typ[PledgesRequest](), s.addCollateral),
		actR("/v1/loans/{id}/default", "financing", "loan default", "record a default (the bank)", typ[Empty](), s.markDefault),
		actR("/v1/loans/{id}/cancel", "financing", "loan cancel", "cancel an undrawn loan (bank or borrower)", typ[ReasonRequest](), s.cancelLoan),
		listR("/v1/margin-calls", "financing", "margin-call list", "open loans with an open margin call", typ[financing.Loan](), s.marginCalls,
			P("bank", "string", "bank id"), P("borrower", "string", "borrower id")),
		getR("/v1/banks/{id}/exposure", "financing", "bank exposure", "a bank's collateral by commodity, warehouse and unit", typ[[]indexer.Exposure](), s.exposure),

		// Trading.
		listR("/v1/offers", "trading", "offer list", "offers by seller or buyer (default: the token's participant)", typ[trading.Offer](), s.offers,
			P("seller", "string", "seller id"), P("buyer", "string", "buyer id"), P("status", "string", "OPEN, ACCEPTED or WITHDRAWN")),
		createR("/v1/offers", "trading", "offer create", "offer a receipt to a named buyer at a price (holder; a pledged receipt's bank co-signs)",
			typ[trading.CreateOffer](), s.createOffer),
		getR("/v1/offers/{id}", "trading", "offer get", "an offer", typ[trading.Offer](), s.record("offer")),
		actR("/v1/offers/{id}/withdraw", "trading", "offer withdraw", "withdraw an open offer (seller)", typ[Empty](), s.withdrawOffer),
		actR("/v1/offers/{id}/accept", "trading", "offer accept", "accept an offer, naming the bank that holds the funds (buyer)", typ[AcceptOfferRequest](), s.acceptOffer),
		listR("/v1/trades", "trading", "trade list", "trades of a participant (default: the token's)", typ[trading.Trade](), s.trades,
			P("party", "string", "seller, buyer or a bank of the trade"), P("status", "string", "AWAITING_FUNDS, FUNDED, SETTLED or CANCELLED")),
		getR("/v1/trades/{id}", "trading", "trade get", "a trade (delivery versus payment)", typ[trading.Trade](), s.record("trade")),
		actR("/v1/trades/{id}/fund", "trading", "trade fund", "confirm the buyer's funds are held (the buyer's bank)", typ[FundRequest](), s.fundTrade),
		actR("/v1/trades/{id}/settle", "trading", "trade settle", "settle: receipt to the buyer, payment to the seller (or the loan)", typ[Empty](), s.settle),
		actR("/v1/trades/{id}/cancel", "trading", "trade cancel", "cancel a trade (a funded one: buyer and seller together)", typ[ReasonRequest](), s.cancelTrade),
		getR("/v1/settlements/{id}", "trading", "settlement get", "how a trade settled", typ[trading.Settlement](), s.record("settlement")),

		// Devices and alerts.
		listR("/v1/devices", "devices", "device list", "registered devices", typ[warehouse.Device](), s.devices,
			P("warehouse", "string", "warehouse id"), P("bay", "string", "bay id")),
		getR("/v1/devices/{id}", "devices", "device get", "a device", typ[warehouse.Device](), s.record("device")),
		createR("/v1/devices", "devices", "device register", "register a device key (admin quorum)", typ[warehouse.RegisterDevice](), s.registerDevice),
		actR("/v1/devices/{id}/suspend", "devices", "device suspend", "revoke a device (admin quorum)", typ[ReasonRequest](), s.suspendDevice),
		actR("/v1/devices/{id}/calibrate", "devices", "device calibrate", "record a calibration (the warehouse's collateral manager)", typ[CalibrateRequest](), s.calibrateDevice),
		listR("/v1/alerts", "devices", "alert list", "supervision alerts (breaches and gaps) on chain", nil, s.alerts,
			P("lot", "string", "lot id"), P("open", "boolean", "only open alerts")),
		getR("/v1/alerts/{id}", "devices", "alert get", "an alert", nil, s.record("alert")),
		{Method: fiber.MethodPost, Path: "/v1/simulator/faults", Tag: "devices", CLI: "simulator fault", Summary: "inject a fault into the simulated devices (ewr run only)",
			Request: typ[FaultRequest](), Response: typ[FaultResult](), Status: http.StatusCreated, handler: simulated(s, Simulator.Fault)},
		{Method: fiber.MethodPost, Path: "/v1/simulator/intake", Tag: "devices", CLI: "simulator intake", Summary: "weigh trucks in and stack their goods on a simulated bay; returns the signed in-tickets (ewr run only)",
			Request: typ[IntakeRequest](), Response: typ[IntakeResult](), Status: http.StatusCreated, handler: simulated(s, Simulator.Intake)},
		getR("/v1/simulator/load-outs/{id}", "devices", "simulator load-out", "a release order's load-out in the simulated warehouse: its out-tickets and the bay scale's closing reading once done (ewr run only)",
			typ[LoadOutView](), s.simLoadOut),

		// Blocks, txs, events.
		listR("/v1/blocks", "chain", "block list", "the newest blocks first", typ[BlockView](), s.blocks, P("before", "integer", "only blocks below this height")),
		getR("/v1/blocks/{height}", "chain", "block get", "what a block did: txs, outcomes, events, records written", typ[BlockView](), s.block),
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
	return rs
}
