package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/api/web"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Service routes.

// queries is the read model when it is configured and following the
// chain without an error; otherwise lists are answered from the chain
// state (and event lists from the blocks).
func (s *Server) queries() *indexer.Queries {
	if s.cfg.Queries == nil {
		return nil
	}
	if s.cfg.IndexerStatus != nil {
		if st := s.cfg.IndexerStatus(); !st.Running || st.Err != nil {
			return nil
		}
	}
	return s.cfg.Queries
}

func (s *Server) readModel() *ReadModelView {
	if s.cfg.IndexerStatus == nil {
		return nil
	}
	st := s.cfg.IndexerStatus()
	v := &ReadModelView{Height: st.Height, Lag: st.Lag, Running: st.Running}
	if st.Err != nil {
		v.Error = st.Err.Error()
	}
	return v
}

func (s *Server) healthz(rc *reqCtx) error {
	return rc.reply(http.StatusOK, Health{Status: "ok", Height: s.cfg.Chain.Height()})
}

func (s *Server) readyz(rc *reqCtx) error {
	h := s.cfg.Chain.Height()
	if h < 1 {
		return failf(PNotReady, "height %d", h)
	}
	return rc.reply(http.StatusOK, Health{Status: "ready", Height: h, ReadModel: s.readModel()})
}

func (s *Server) metricsHandler(rc *reqCtx) error {
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.svc.metrics.reg, promhttp.HandlerOpts{}))
	h(rc.c.Context())
	return nil
}

func (s *Server) consolePage(rc *reqCtx) error {
	page, err := s.console()
	if err != nil {
		return err
	}
	rc.c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	rc.c.Set(fiber.HeaderCacheControl, "no-store")
	// The console acts with its user's token: no other site may frame it.
	rc.c.Set(fiber.HeaderXFrameOptions, "DENY")
	rc.c.Set(fiber.HeaderContentSecurityPolicy, "frame-ancestors 'none'")
	return rc.c.Status(http.StatusOK).Send(page)
}

func (s *Server) consoleAsset(rc *reqCtx) error {
	b, ct, ok := web.ConsoleAsset(rc.c.Params("file"))
	if !ok {
		return failf(PNotFound, "console file %q", rc.c.Params("file"))
	}
	rc.c.Set(fiber.HeaderContentType, ct)
	rc.c.Set(fiber.HeaderCacheControl, "no-cache")
	return rc.c.Status(http.StatusOK).Send(b)
}

func (s *Server) verifyPage(rc *reqCtx) error {
	page, err := s.verifier()
	if err != nil {
		rc.c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return rc.c.Status(http.StatusServiceUnavailable).SendString(err.Error())
	}
	rc.c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	rc.c.Set(fiber.HeaderCacheControl, "no-cache")
	// The console frames it to check a bundle; no other site may.
	rc.c.Set(fiber.HeaderContentSecurityPolicy, "frame-ancestors 'self'")
	return rc.c.Status(http.StatusOK).Send(page)
}

func (s *Server) openapiHandler(rc *reqCtx) error {
	rc.c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return rc.c.Status(http.StatusOK).Send(s.openapi)
}

func (s *Server) status(rc *reqCtx) error {
	_, holds := s.cfg.Keys.Key(rc.who)
	return rc.reply(http.StatusOK, StatusView{ChainID: s.cfg.Chain.ChainID(), Height: s.cfg.Chain.Height(),
		BlockTime: s.svc.lastBlockTime.Load(), Now: rc.now(), Participant: rc.who, ReadModel: s.readModel(), HoldsKey: holds,
		DraftsWaiting: len(s.svc.drafts.list(rc.who, true))})
}

func (s *Server) me(rc *reqCtx) error {
	p, _ := get[receipt.Participant](rc.state(), receipt.ParticipantKey(rc.who))
	_, holds := s.cfg.Keys.Key(rc.who)
	return rc.reply(http.StatusOK, Me{Participant: p, HoldsKey: holds})
}

// record serves one record of kind by its id.
func (s *Server) record(kind string) func(rc *reqCtx) error {
	return func(rc *reqCtx) error {
		id, err := rc.id("id")
		if err != nil {
			return err
		}
		v, err := rc.readRecord(kind, id)
		if err != nil {
			return err
		}
		return rc.reply(http.StatusOK, v)
	}
}

func (s *Server) validators(rc *reqCtx) error {
	return rc.reply(http.StatusOK, receipt.LoadValidators(&receipt.Exec{Store: rc.state()}))
}

func (s *Server) formats(rc *reqCtx) error {
	return rc.reply(http.StatusOK, receipt.FormatsInForce(rc.state()))
}

func (s *Server) receipt(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	key := receipt.ReceiptKey(id)
	val, ok := rc.state().Get(key)
	if !ok || !rc.reader().mayReadKey(key) {
		return missing("receipt", id)
	}
	e, hit := s.cache.get(key, val)
	if !hit {
		var r receipt.Receipt
		if err := receipt.DecodeRecord(val, &r); err != nil {
			return err
		}
		body, err := snake.Marshal(&r)
		if err != nil {
			return err
		}
		e = &respEntry{val: val, body: body, etag: `"` + strconv.FormatUint(r.Version, 10) + `"`}
		s.cache.put(key, e)
	}
	rc.c.Set(fiber.HeaderETag, e.etag)
	rc.c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return rc.c.Status(http.StatusOK).Send(e.body)
}

func (rc *reqCtx) list(items any, next string) error {
	return rc.reply(http.StatusOK, List{Items: items, Next: next})
}

func (rc *reqCtx) boolQuery(name string) (bool, error) {
	switch v := rc.c.Query(name); v {
	case "":
		return false, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	default:
		return false, failf(PInvalidParameter, "%s must be true or false, got %q", name, v)
	}
}

// Participants, warehouses, devices, alerts.

func hasKey(st receipt.Store, key string) bool {
	_, ok := st.Get(key)
	return ok
}

// simulated runs a request to the node's device simulator: its body
// decoded into Req, its answer 201.
// need names the role a simulator request's token must hold (0: any).
func simulated[Req, Res any](s *Server, need receipt.Role, do func(Simulator, context.Context, Req) (Res, error)) func(*reqCtx) error {
	return func(rc *reqCtx) error {
		var req Req
		if err := rc.body(&req); err != nil {
			return err
		}
		if s.cfg.Simulator == nil {
			return errNoSimulator()
		}
		if need != 0 {
			p, ok := get[receipt.Participant](rc.state(), receipt.ParticipantKey(rc.who))
			if !ok || !p.Roles.Has(need) {
				return failf(PTokenForbidden, "%s: this needs a token of a participant with the %s role", rc.who, need)
			}
		}
		res, err := do(s.cfg.Simulator, rc.ctx(), req)
		if err != nil {
			return failf(PInvalidBody, "%v", err)
		}
		return rc.reply(http.StatusCreated, res)
	}
}

func errNoSimulator() error {
	return failf(PSimulatorDisabled, "start the system with `ewr run` for simulated devices")
}

func (s *Server) simLoadOut(rc *reqCtx) error {
	if s.cfg.Simulator == nil {
		return errNoSimulator()
	}
	id := rc.c.Params("id")
	if _, err := rc.readRecord("release_order", id); err != nil {
		return err
	}
	res, err := s.cfg.Simulator.LoadOut(rc.ctx(), id)
	if errors.Is(err, ErrNoLoadOut) {
		return failf(PNotFound, "release order %s: %v", id, err)
	}
	if err != nil {
		return failf(PInvalidBody, "%v", err)
	}
	return rc.reply(http.StatusOK, res)
}

// Lots and receipts.

func (s *Server) receiptHistory(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	pg, err := rc.page()
	if err != nil {
		return err
	}
	q := s.queries()
	if q == nil {
		// No read model, or it stopped: scan the blocks instead.
		rc.c.Request().URI().QueryArgs().Set("receipt", id)
		return s.events(rc)
	}
	var after *indexer.EventPos
	if pg.After != "" {
		p, ok := ParseEventPos(pg.After)
		if !ok {
			return failf(PInvalidParameter, "after must be an event id height:tx:index")
		}
		after = &indexer.EventPos{Height: p.Height, TxIndex: p.TxIndex, Index: p.Index}
	}
	evs, err := q.ReceiptHistory(rc.ctx(), id, after, pg.Limit)
	if err != nil {
		return err
	}
	items := make([]EventView, 0, len(evs))
	rd := rc.reader()
	next := ""
	for _, e := range evs {
		v := indexerEventView(e)
		if len(evs) == pg.Limit {
			next = v.ID
		}
		if rd.mayReadEvent(v.Refs) {
			items = append(items, rd.redactEvent(v))
		}
	}
	return rc.list(items, next)
}

func indexerEventView(e indexer.Event) EventView {
	v := EventView{ID: EventPos{e.Height, e.TxIndex, e.Index}.String(), Height: e.Height, Time: e.BlockTime,
		TxIndex: e.TxIndex, Index: e.Index, OpType: e.OpType, Type: e.Type, Refs: []RefView{}, Attrs: e.Attrs}
	if len(e.TxHash) == 32 {
		v.TxHash = hashHex([32]byte(e.TxHash))
	}
	for _, r := range e.Refs {
		v.Refs = append(v.Refs, RefView{Kind: r.Kind, ID: r.ID})
	}
	if v.Attrs == nil {
		v.Attrs = map[string]string{}
	}
	return v
}

// lineage walks parents and children in the chain state: always current,
// a few point reads per generation.
func (s *Server) lineage(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	st := rc.state()
	rd := rc.reader()
	r, ok := get[receipt.Receipt](st, receipt.ReceiptKey(id))
	if !ok || !rd.mayRead(r) {
		return missing("receipt", id)
	}
	node := func(r *receipt.Receipt, depth int) indexer.LineageNode {
		return indexer.LineageNode{ID: r.ID, State: r.State.String(), Holder: r.Holder, Quantity: r.Quantity,
			Parents: r.Parents, Children: r.Children, Depth: depth}
	}
	out := &indexer.Lineage{Receipt: node(r, 0), Ancestors: []indexer.LineageNode{}, Descendants: []indexer.LineageNode{}}
	seen := map[string]bool{id: true}
	n := 0
	walkGen := func(start []string, next func(*receipt.Receipt) []string, sign int, into *[]indexer.LineageNode) {
		gen := start
		for depth := 1; len(gen) > 0; depth++ {
			if depth > indexer.MaxLineageDepth {
				out.Truncated = true
				return
			}
			sort.Strings(gen)
			var following []string
			for _, cid := range gen {
				if seen[cid] {
					continue
				}
				seen[cid] = true
				if n++; n > indexer.MaxLineage {
					out.Truncated = true
					return
				}
				c, ok := get[receipt.Receipt](st, receipt.ReceiptKey(cid))
				if !ok {
					continue
				}
				if rd.mayRead(c) { // the walk goes on through receipts the reader may not see
					*into = append(*into, node(c, sign*depth))
				}
				following = append(following, next(c)...)
			}
			gen = following
		}
	}
	walkGen(r.Parents, func(x *receipt.Receipt) []string { return x.Parents }, -1, &out.Ancestors)
	walkGen(r.Children, func(x *receipt.Receipt) []string { return x.Children }, 1, &out.Descendants)
	return rc.reply(http.StatusOK, out)
}

func (s *Server) precheck(rc *reqCtx) error {
	id, err := rc.id("id")
	if err != nil {
		return err
	}
	st := rc.state()
	rd := rc.reader()
	bank := rc.c.Query("bank", rc.who)
	// A bank's due diligence, or a party's look at its receipt; as itself:
	// another bank's policy is that bank's to read.
	if !rd.everything() && (!(rd.roles.Has(receipt.RoleBank) || rd.mayReadKey(receipt.ReceiptKey(id))) || bank != rc.who) {
		return missing("receipt", id)
	}
	borrower := rc.c.Query("borrower")
	if borrower == "" {
		if r, ok := get[receipt.Receipt](st, receipt.ReceiptKey(id)); ok {
			borrower = r.Holder
		}
	}
	maturity, err := rc.queryInt("maturity", rc.now()+90*86400)
	if err != nil {
		return err
	}
	x := &receipt.Exec{Block: receipt.Block{Height: s.cfg.Chain.Height() + 1, Time: rc.now(), ChainID: s.cfg.Chain.ChainID()},
		Store: st, Stock: warehouse.Stock{}}
	rep := financing.Precheck(x, financing.PrecheckRequest{Receipt: id, Borrower: borrower, Bank: bank,
		Currency: rc.c.Query("currency", "USD"), Maturity: maturity})
	return rc.reply(http.StatusOK, rep)
}

func (s *Server) proof(kind string) func(rc *reqCtx) error {
	return s.proofOf(kind, "proof", func(id string) func(func(string) ([]byte, bool)) []string {
		return func(func(string) ([]byte, bool)) []string { return []string{kinds[kind].prefix + id} }
	})
}

// positionProof is a receipt's position bundle: every record a bank relies
// on for it (ledger.PositionKeys), proven in one state.
func (s *Server) positionProof(rc *reqCtx) error {
	return s.proofOf("receipt", "position", func(id string) func(func(string) ([]byte, bool)) []string {
		return func(get func(string) ([]byte, bool)) []string { return ledger.PositionKeys(get, id) }
	})(rc)
}

// proofOf answers a proof bundle of the record of kind with the path's id,
// proving the keys keysOf names, in a state no older than the record's last
// change and the min_height the client names (waited for, up to 10 s).
func (s *Server) proofOf(kind, name string, keysOf func(id string) func(func(string) ([]byte, bool)) []string) func(rc *reqCtx) error {
	return func(rc *reqCtx) error {
		id, err := rc.id("id")
		if err != nil {
			return err
		}
		if s.cfg.Prover == nil {
			return failf(PProofUnavailable, "this node serves no proofs")
		}
		minHeight, err := rc.queryInt("min_height", 0)
		if err != nil {
			return err
		}
		v, err := rc.readRecord(kind, id)
		if err != nil {
			return err
		}
		switch r := v.(type) {
		case *receipt.Receipt:
			minHeight = max(minHeight, r.UpdatedHeight)
		}
		ctx, cancel := context.WithTimeout(rc.ctx(), 10*time.Second)
		defer cancel()
		// The bundle proves only what the reader may read: a position
		// bundle leaves out another party's records (a warehouse does not
		// get the bank's loan).
		rd, keys := rc.reader(), keysOf(id)
		readable := func(get func(string) ([]byte, bool)) []string {
			var out []string
			for i, k := range keys(get) {
				if i == 0 || rd.mayReadKey(k) {
					out = append(out, k)
				}
			}
			return out
		}
		b, err := s.cfg.Prover.BundleOf(ctx, readable, minHeight)
		if errors.Is(err, chainengine.ErrNotYetProvable) {
			return failf(PProofUnavailable, "state at height %d not yet under a signed header", minHeight)
		}
		if err != nil {
			return err
		}
		// The bundle's own JSON (encoding/json): `ewr verify` reads it as is.
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rc.c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		rc.c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+kind+"-"+id+"."+name+`.json"`)
		return rc.c.Status(http.StatusOK).Send(raw)
	}
}

// Pledges and financing.

// ExposureView is a bank's collateral by commodity, warehouse and unit.
type ExposureView struct {
	Bank     string             `json:"bank"`
	Exposure []indexer.Exposure `json:"exposure"`
}

func (s *Server) exposure(rc *reqCtx) error {
	bank, err := rc.id("id")
	if err != nil {
		return err
	}
	if rd := rc.reader(); bank != rc.who && !rd.everything() {
		return failf(PNotFound, "bank %q: a bank's exposure is its own to read", bank)
	}
	if q := s.queries(); q != nil {
		ex, err := q.PledgedExposure(rc.ctx(), bank)
		if err != nil {
			return err
		}
		if ex == nil {
			ex = []indexer.Exposure{}
		}
		return rc.reply(http.StatusOK, ExposureView{Bank: bank, Exposure: ex})
	}
	st := rc.state()
	type gk struct{ c, w, u string }
	groups := map[gk]*indexer.Exposure{}
	all, _ := walk[receipt.Pledge](st, receipt.PrefixPledge, indexer.Page{Limit: 1 << 30}, func(p *receipt.Pledge) bool {
		return p.Bank == bank && p.Status == receipt.PledgeActive
	})
	for _, p := range all {
		r, ok := get[receipt.Receipt](st, receipt.ReceiptKey(p.Receipt))
		if !ok {
			continue
		}
		k := gk{r.Commodity, r.Warehouse, r.Unit}
		e := groups[k]
		if e == nil {
			e = &indexer.Exposure{Commodity: k.c, Warehouse: k.w, Unit: k.u}
			groups[k] = e
		}
		e.Pledges++
		e.Quantity += r.Quantity
	}
	out := []indexer.Exposure{}
	for _, e := range groups {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Commodity != b.Commodity {
			return a.Commodity < b.Commodity
		}
		if a.Warehouse != b.Warehouse {
			return a.Warehouse < b.Warehouse
		}
		return a.Unit < b.Unit
	})
	return rc.reply(http.StatusOK, ExposureView{Bank: bank, Exposure: out})
}

// Trading.

// Blocks and txs.

func (s *Server) blocks(rc *reqCtx) error {
	lim, err := rc.queryInt("limit", 20)
	if err != nil {
		return err
	}
	if lim < 1 || lim > 100 {
		return failf(PInvalidParameter, "limit must be 1..100")
	}
	top := s.cfg.Chain.Height()
	before, err := rc.queryInt("before", top+1)
	if err != nil {
		return err
	}
	if after := rc.c.Query("after"); after != "" { // the cursor of the previous page
		n, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return failf(PInvalidParameter, "after must be a height")
		}
		before = n
	}
	items := []BlockView{}
	h := min(before-1, top)
	for ; h >= 0 && int64(len(items)) < lim; h-- {
		rec, ok, err := s.svc.blocks.get(h)
		if err != nil {
			return err
		}
		if ok {
			items = append(items, rc.reader().redactBlock(blockView(rec)))
		}
	}
	next := ""
	if h >= 0 && len(items) > 0 {
		next = strconv.FormatInt(items[len(items)-1].Height, 10)
	}
	return rc.list(items, next)
}

func (s *Server) block(rc *reqCtx) error {
	h, err := strconv.ParseInt(rc.c.Params("height"), 10, 64)
	if err != nil || h < 0 {
		return failf(PInvalidParameter, "height must be a non-negative integer")
	}
	rec, ok, err := s.svc.blocks.get(h)
	if err != nil {
		return err
	}
	if !ok {
		return failf(PNotFound, "block %d (height is %d)", h, s.cfg.Chain.Height())
	}
	return rc.reply(http.StatusOK, rc.reader().redactBlock(blockView(rec)))
}

func (s *Server) tx(rc *reqCtx) error {
	hash, ok := parseHash(rc.c.Params("hash"))
	if !ok {
		return failf(PInvalidParameter, "hash must be 64 hex digits")
	}
	_, h, found, err := s.cfg.Chain.CommittedTx(hash)
	if err != nil {
		return err
	}
	if found {
		rec, ok, err := s.svc.blocks.get(h)
		if err != nil {
			return err
		}
		if ok {
			for i := range rec.Txs {
				if rec.Txs[i].Hash == hash {
					return rc.reply(http.StatusOK, rc.reader().redactTx(txView(rec, &rec.Txs[i])))
				}
			}
		}
	}
	if _, pending := s.svc.pending.has(hash); pending {
		return rc.reply(http.StatusOK, TxView{Hash: hashHex(hash), Status: "pending", Signers: []string{}, Events: []EventView{}, Writes: []string{}})
	}
	return failf(PNotFound, "tx %s: not committed, and not submitted through this node", hashHex(hash))
}

// Readings is where a member's API reads a bay scale's recent readings:
// its own NATS (member), not the chain.
type Readings interface {
	BayReadings(ctx context.Context, warehouse, bay string, since time.Time, max int) ([]iot.SignedReading, error)
}

// BayReadingsView is a bay scale's recent readings beside the lock band of
// the lot locked in the bay.
type BayReadingsView struct {
	Warehouse string        `json:"warehouse"`
	Bay       string        `json:"bay"`
	Lot       string        `json:"lot"`
	Unit      string        `json:"unit"`
	Expected  uint64        `json:"expected"` // what the scale should read: the bay's tare and the goods
	Tolerance uint64        `json:"tolerance"`
	Readings  []ReadingView `json:"readings"`
	// LastStable is the latest stable reading the chain has not used yet
	// (newer than its device's last reading used as evidence or baseline),
	// signed, exactly as the device sent it: what a re-count offers as the
	// lot's new baseline (POST /v1/lots/{id}/recount).
	LastStable *iot.SignedReading `json:"last_stable,omitempty"`
}

// ReadingView is one signed weight reading, as the device sent it.
type ReadingView struct {
	Device string `json:"device"`
	Seq    uint64 `json:"seq"`
	TimeMs int64  `json:"time_ms"`
	Qty    uint64 `json:"qty"`
	Unit   string `json:"unit"`
	Stable bool   `json:"stable"`
}

// maxBayReadings bounds one answer (ten minutes of a scale at a few
// readings a second).
const maxBayReadings = 3000

func (s *Server) bayReadings(rc *reqCtx) error {
	wh, err := rc.id("id")
	if err != nil {
		return err
	}
	bayID, err := rc.id("bay")
	if err != nil {
		return err
	}
	b, ok := get[warehouse.Bay](rc.state(), warehouse.BayKey(wh, bayID))
	// The readings are the locked lot's business: its parties see them.
	if !ok || b.LockedBy == "" || !rc.reader().mayReadKey(warehouse.LotKey(b.LockedBy)) {
		return failf(PNotFound, "bay %s/%s holds no lot you are a party to", wh, bayID)
	}
	l, ok := get[warehouse.Lot](rc.state(), warehouse.LotKey(b.LockedBy))
	if !ok {
		return failf(PNotFound, "lot %s", b.LockedBy)
	}
	if s.cfg.Readings == nil {
		return failf(PNotFound, "this node reads no device bus: no readings")
	}
	minutes, err := rc.queryInt("minutes", 10)
	if err != nil || minutes < 1 || minutes > 60 {
		return failf(PInvalidParameter, "minutes must be 1..60")
	}
	rs, err := s.cfg.Readings.BayReadings(rc.ctx(), wh, bayID, time.Now().Add(-time.Duration(minutes)*time.Minute), maxBayReadings)
	if err != nil {
		return err
	}
	out := BayReadingsView{Warehouse: wh, Bay: bayID, Lot: l.ID, Unit: l.Unit, Expected: l.Expected, Tolerance: l.Tolerance, Readings: []ReadingView{}}
	used := map[string]iot.Pos{} // each device's last reading the chain used
	for _, sr := range rs {
		r := sr.Reading
		if r.Weight == nil {
			continue
		}
		out.Readings = append(out.Readings, ReadingView{Device: r.Device, Seq: r.Seq, TimeMs: r.TimeMs, Qty: r.Weight.Qty, Unit: r.Weight.Unit, Stable: r.Weight.Stable})
		mark, seen := used[r.Device]
		if !seen {
			if m, ok := get[iot.DeviceMark](rc.state(), iot.DeviceMarkKey(r.Device)); ok {
				mark = m.Pos()
			}
			used[r.Device] = mark
		}
		if r.Weight.Stable && r.Pos().After(mark) {
			out.LastStable = &sr
		}
	}
	return rc.reply(http.StatusOK, out)
}
