package main

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/ewrchain/ewr/chainengine/merkle"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/indexer"
	"github.com/ewrchain/ewr/indexer/pgcluster"
	"github.com/ewrchain/ewr/internal/machine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/lib/pq"
)

func init() {
	registerBench(&benchmark{name: "query", summary: "read model: indexer blocks/s and rows/s, bank exposure and pre-lending check latency", run: runBenchQuery})
}

// queryBenchConfig is what `ewr bench query` loads and measures.
type queryBenchConfig struct {
	Receipts, Loans               int
	Lanes                         int // txs per block: one op per lane
	Banks, Traders, Warehouses    int
	Commodities                   int
	ReceiptsPerLot                int
	ExposureSamples, PrecheckRuns int
	ReadModelPrechecks            int
	Seed                          uint64
	DatabaseURL                   string // "" starts a private cluster, fsync on
	Keep                          bool   // keep the database on the DatabaseURL server
	Progress                      io.Writer
}

// queryBenchResult is the report: one JSON object.
type queryBenchResult struct {
	Cores     int     `json:"cores"`
	LoadAvg1m float64 `json:"loadavg_1m"`
	Database  string  `json:"database"`

	Receipts    int `json:"receipts"`
	Loans       int `json:"loans"`
	OpenLoans   int `json:"open_loans"`
	MarginCalls int `json:"margin_calls"`
	Trades      int `json:"settlements"`
	Banks       int `json:"banks"`
	Commodities int `json:"commodities"`
	Warehouses  int `json:"warehouses"`
	Lots        int `json:"lots"`
	Records     int `json:"records"` // chain state records at the end

	Blocks    int     `json:"blocks"`
	Txs       int     `json:"txs"`
	Rejected  int     `json:"rejected"`
	Events    int     `json:"events"`
	Rows      int     `json:"rows"` // rows the indexer wrote: records (deduped per block), txs, events, blocks
	GenerateS float64 `json:"generate_s"`
	LoadS     float64 `json:"load_s"`

	IndexerBlocksPerS float64 `json:"indexer_blocks_per_s"`
	IndexerRowsPerS   float64 `json:"indexer_rows_per_s"`
	IndexerTxPerS     float64 `json:"indexer_tx_per_s"`

	ExposureP50Ms   float64 `json:"exposure_p50_ms"`
	ExposureP99Ms   float64 `json:"exposure_p99_ms"`
	ExposureSamples int     `json:"exposure_samples"`
	ExposureRows    float64 `json:"exposure_rows_avg"`

	PrecheckP50Ms   float64 `json:"precheck_p50_ms"`
	PrecheckP99Ms   float64 `json:"precheck_p99_ms"`
	PrecheckPath    string  `json:"precheck_path"`
	PrecheckSamples int     `json:"precheck_samples"`
	PrecheckOK      float64 `json:"precheck_ok_fraction"`

	ReadModelPrecheckP50Ms   float64 `json:"readmodel_precheck_p50_ms"`
	ReadModelPrecheckP99Ms   float64 `json:"readmodel_precheck_p99_ms"`
	ReadModelPrecheckSamples int     `json:"readmodel_precheck_samples"`

	LTVP50Ms float64 `json:"ltv_p50_ms"` // Valuations of one borrower's loans
	LTVP99Ms float64 `json:"ltv_p99_ms"`
}

func runBenchQuery(ctx context.Context, args []string) error {
	fs := newFlags("bench query")
	var cfg queryBenchConfig
	fs.IntVar(&cfg.Receipts, "receipts", 100_000, "receipts to issue")
	fs.IntVar(&cfg.Loans, "loans", 10_000, "loans to open (each on 1 to 3 pledged receipts)")
	fs.IntVar(&cfg.Lanes, "lanes", 1000, "txs per block: each lane submits one op per block")
	fs.IntVar(&cfg.Banks, "banks", 20, "banks")
	fs.IntVar(&cfg.Traders, "traders", 200, "traders (borrowers)")
	fs.IntVar(&cfg.Warehouses, "warehouses", 10, "warehouses")
	fs.IntVar(&cfg.Commodities, "commodities", len(benchCommodities), "commodities (at most 8), each priced in USD and CNY")
	fs.IntVar(&cfg.ReceiptsPerLot, "receipts-per-lot", 50, "receipts issued against one lot")
	fs.IntVar(&cfg.ExposureSamples, "exposure-samples", 1000, "exposure queries to time, for random banks")
	fs.IntVar(&cfg.PrecheckRuns, "precheck-samples", 20_000, "pre-lending checks on chain state to time, for random receipts")
	fs.IntVar(&cfg.ReadModelPrechecks, "readmodel-precheck-samples", 2000, "pre-lending checks on the read model to time")
	seed := fs.Uint64("seed", 1, "seed of the load and the samples")
	fs.BoolVar(&cfg.Keep, "keep", false, "with --database-url: keep the loaded database (its name is in the report) to query it after")
	fs.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL server to load into a fresh database (default: env DATABASE_URL, else a private cluster with fsync on)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.Seed = *seed
	cfg.Progress = stderr
	if cfg.Receipts < 1 || cfg.Loans < 0 || cfg.Lanes < 1 || cfg.Banks < 1 || cfg.Traders < 1 || cfg.Warehouses < 1 ||
		cfg.Commodities < 1 || cfg.Commodities > len(benchCommodities) || cfg.ReceiptsPerLot < 4 || cfg.ExposureSamples < 1 ||
		cfg.PrecheckRuns < 1 || cfg.ReadModelPrechecks < 0 || cfg.Receipts%cfg.Lanes != 0 {
		return usagef("bad flags (--receipts must be a multiple of --lanes)")
	}
	if cfg.Loans > cfg.Commodities*2*financing.MaxOpenLoansPerIndex {
		return usagef("at most %d open loans per commodity and currency: --loans %d is too many for %d commodities",
			financing.MaxOpenLoansPerIndex, cfg.Loans, cfg.Commodities)
	}
	res, err := benchQuery(ctx, cfg)
	if err != nil {
		return err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

// benchCommodities are the load's commodities with their haircut and price
// per tonne in US cents (CNY is 7.2 times that, in fen).
var benchCommodities = []struct {
	name       string
	haircutBps uint32
	usdPerT    uint64
}{
	{"copper cathode", 1_200, 850_000}, {"aluminium ingot", 1_500, 240_000}, {"zinc", 1_500, 270_000},
	{"nickel", 2_000, 1_650_000}, {"wheat", 2_500, 30_000}, {"soybeans", 2_500, 45_000},
	{"cotton", 3_000, 180_000}, {"rubber", 3_000, 170_000},
}

var benchCurrencies = []string{"USD", "CNY"}

func benchQuery(ctx context.Context, cfg queryBenchConfig) (*queryBenchResult, error) {
	say := func(format string, a ...any) { fmt.Fprintf(cfg.Progress, "bench query: "+format+"\n", a...) }
	res := &queryBenchResult{Cores: runtime.NumCPU(), Banks: cfg.Banks, Commodities: cfg.Commodities, Warehouses: cfg.Warehouses}

	// 1. The chain: blocks from a ledger.Sim.
	began := time.Now()
	g, err := newQueryLoad(cfg)
	if err != nil {
		return nil, err
	}
	if err := g.run(ctx, say); err != nil {
		return nil, err
	}
	res.GenerateS = time.Since(began).Seconds()
	recs := g.sim.Records
	res.Blocks = len(recs)
	for _, rec := range recs {
		seen := map[string]bool{}
		for _, tx := range rec.Txs {
			res.Txs++
			res.Events += len(tx.Events)
			res.Rows += 1 + len(tx.Events)
			if tx.Code != 0 {
				res.Rejected++
			}
			for _, w := range tx.Writes {
				if !seen[w.Key] {
					seen[w.Key] = true
					res.Rows++
				}
			}
		}
		res.Rows++ // the block
	}
	res.Receipts, res.Lots, res.Records = g.issued, len(g.lots), g.sim.Store.Len()
	for _, l := range loadAll[financing.Loan](g.sim.Store, financing.PrefixLoan) {
		res.Loans++
		if l.Status == financing.LoanOpen {
			res.OpenLoans++
		}
		if l.Call != nil {
			res.MarginCalls++
		}
	}
	res.Trades = len(loadAll[trading.Settlement](g.sim.Store, trading.PrefixSettlement))
	say("%d blocks, %d txs (%d rejected), %d events, %d receipts, %d loans (%d open, %d margin calls) in %.1fs",
		res.Blocks, res.Txs, res.Rejected, res.Events, res.Receipts, res.Loans, res.OpenLoans, res.MarginCalls, res.GenerateS)
	if res.Rejected*1000 > res.Txs {
		return nil, fmt.Errorf("bench query: %d of %d txs rejected: the load is broken (first: %s)", res.Rejected, res.Txs, g.firstReject)
	}

	// 2. PostgreSQL.
	db, dbName, stop, err := benchDatabase(ctx, cfg.DatabaseURL, cfg.Keep, say)
	if err != nil {
		return nil, err
	}
	defer stop()
	res.Database = dbName
	if err := indexer.Migrate(ctx, db); err != nil {
		return nil, err
	}

	// 3. The indexer following a source that holds every block.
	src := indexer.NewMemSource(0)
	src.Append(recs...)
	ix := indexer.New(db, indexer.Config{PollMin: time.Millisecond})
	say("indexing %d blocks…", len(recs))
	began = time.Now()
	if _, err := ix.CatchUp(ctx, src); err != nil {
		return nil, err
	}
	load := time.Since(began)
	res.LoadS = load.Seconds()
	res.IndexerBlocksPerS = float64(res.Blocks) / res.LoadS
	res.IndexerRowsPerS = float64(res.Rows) / res.LoadS
	res.IndexerTxPerS = float64(res.Txs) / res.LoadS
	say("indexed in %.1fs: %.1f blocks/s, %.0f rows/s, %.0f tx/s", res.LoadS, res.IndexerBlocksPerS, res.IndexerRowsPerS, res.IndexerTxPerS)
	// Statistics as autovacuum would have them on a read model that has
	// been running: the planner needs them for the joins.
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	q := indexer.NewQueries(db)

	// 4. Exposure of random banks.
	say("timing %d exposure queries…", cfg.ExposureSamples)
	var lat []time.Duration
	rows := 0
	for i := -cfg.ExposureSamples / 10; i < cfg.ExposureSamples; i++ { // a tenth as warm-up
		bank := g.banks[rng.IntN(len(g.banks))]
		t0 := time.Now()
		exp, err := q.BankExposure(ctx, bank)
		d := time.Since(t0)
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			lat = append(lat, d)
			rows += len(exp)
		}
	}
	res.ExposureSamples = len(lat)
	res.ExposureP50Ms, res.ExposureP99Ms = pctMs(lat, 50), pctMs(lat, 99)
	res.ExposureRows = float64(rows) / float64(len(lat))

	lat = lat[:0]
	for i := -50; i < cfg.ExposureSamples; i++ {
		trader := g.traders[rng.IntN(len(g.traders))]
		t0 := time.Now()
		if _, _, err := q.Valuations(ctx, indexer.LoanFilter{Borrower: trader}, indexer.Page{}); err != nil {
			return nil, err
		}
		if i >= 0 {
			lat = append(lat, time.Since(t0))
		}
	}
	res.LTVP50Ms, res.LTVP99Ms = pctMs(lat, 50), pctMs(lat, 99)

	// 5. The pre-lending check, as a node runs it: financing.Precheck on
	// the state tree (point reads in the authenticated trie).
	say("building the state tree of %d records…", g.sim.Store.Len())
	var pairs []merkle.KV
	for _, k := range g.sim.Store.Keys() {
		v, _ := g.sim.Store.Get(k)
		pairs = append(pairs, merkle.KV{Key: []byte(k), Value: v})
	}
	tree := merkle.Build(pairs)
	pairs = nil
	last := recs[len(recs)-1]
	blk := receipt.Block{Height: last.Height, Time: last.Time, ChainID: benchQueryChainID}
	reqs := make([]financing.PrecheckRequest, 4096)
	for i := range reqs {
		reqs[i] = g.precheckRequest(rng, last.Time)
	}
	say("timing %d pre-lending checks on chain state…", cfg.PrecheckRuns)
	lat = lat[:0]
	ok := 0
	for i := -cfg.PrecheckRuns / 10; i < cfg.PrecheckRuns; i++ {
		req := reqs[(i+len(reqs))%len(reqs)]
		t0 := time.Now()
		rep := financing.Precheck(&receipt.Exec{Block: blk, Store: treeStore{tree}, Stock: warehouse.Stock{}}, req)
		d := time.Since(t0)
		if i >= 0 {
			lat = append(lat, d)
			if rep.OK {
				ok++
			}
		}
	}
	res.PrecheckSamples = len(lat)
	res.PrecheckP50Ms, res.PrecheckP99Ms = pctMs(lat, 50), pctMs(lat, 99)
	res.PrecheckOK = float64(ok) / float64(len(lat))
	res.PrecheckPath = "chain state: financing.Precheck over the authenticated state trie (merkle.Tree), as a node answers it"

	// 6. The same check on the read model.
	if cfg.ReadModelPrechecks > 0 {
		say("timing %d pre-lending checks on the read model…", cfg.ReadModelPrechecks)
		lat = lat[:0]
		for i := -cfg.ReadModelPrechecks / 10; i < cfg.ReadModelPrechecks; i++ {
			req := reqs[(i+len(reqs))%len(reqs)]
			t0 := time.Now()
			got, err := q.Precheck(ctx, req, last.Time)
			d := time.Since(t0)
			if err != nil {
				return nil, err
			}
			if i >= 0 {
				lat = append(lat, d)
			}
			if i < 20 { // a few checked against the chain's answer
				want := financing.Precheck(&receipt.Exec{Block: blk, Store: treeStore{tree}, Stock: warehouse.Stock{}}, req)
				want.Height = got.Height
				if got.OK != want.OK || !slices.Equal(got.Failed(), want.Failed()) || got.ValueMinor != want.ValueMinor {
					return nil, fmt.Errorf("bench query: the read model's pre-lending check of %s differs from the chain's: %v vs %v",
						req.Receipt, got.Failed(), want.Failed())
				}
			}
		}
		res.ReadModelPrecheckSamples = len(lat)
		res.ReadModelPrecheckP50Ms, res.ReadModelPrecheckP99Ms = pctMs(lat, 50), pctMs(lat, 99)
	}
	res.LoadAvg1m = machine.LoadAvg1m()
	return res, nil
}

// treeStore reads the state trie as a receipt.Store, as chainengine's
// committed-state view does.
type treeStore struct{ t *merkle.Tree }

func (s treeStore) Get(key string) ([]byte, bool) { return s.t.Get([]byte(key)) }
func (treeStore) Set(string, []byte)              { panic("bench query: write to the state tree") }
func (treeStore) Delete(string)                   { panic("bench query: write to the state tree") }

// pctMs is the p-th percentile of ds in milliseconds (nearest rank).
func pctMs(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}

// benchDatabase returns a fresh, empty database: on the server of dsn
// (created, and dropped by stop), or on a private cluster with fsync on in
// a temporary directory (removed by stop).
func benchDatabase(ctx context.Context, dsn string, keep bool, say func(string, ...any)) (*sql.DB, string, func(), error) {
	name := fmt.Sprintf("ewr_bench_query_%d", os.Getpid())
	if dsn != "" {
		if err := createFreshDatabase(ctx, dsn, name, true); err != nil {
			return nil, "", nil, err
		}
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, "", nil, err
		}
		u.Path = "/" + name
		db, err := sql.Open("postgres", u.String())
		if err != nil {
			return nil, "", nil, err
		}
		stop := func() {
			db.Close()
			if keep {
				return
			}
			u.Path = "/postgres"
			if admin, err := sql.Open("postgres", u.String()); err == nil {
				admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
				admin.Close()
			}
		}
		return db, "DATABASE_URL server, database " + name, stop, nil
	}
	dir, err := os.MkdirTemp("", "ewr-bench-query-")
	if err != nil {
		return nil, "", nil, err
	}
	say("starting a private PostgreSQL cluster (fsync on) in %s", dir)
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Fsync: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	if err := c.CreateDatabase(ctx, name); err != nil {
		c.Stop()
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	db, err := sql.Open("postgres", c.DSN(name))
	if err != nil {
		c.Stop()
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	stop := func() {
		db.Close()
		if err := c.Stop(); err != nil {
			say("stopping PostgreSQL: %v", err)
		}
		os.RemoveAll(dir)
	}
	return db, "private cluster, fsync on", stop, nil
}

// loadAll decodes every record of a prefix.
func loadAll[T any](st *ledger.MemStore, prefix string) []*T {
	var out []*T
	st.Range(prefix, func(_ string, v []byte) {
		x := new(T)
		if err := receipt.DecodeRecord(v, x); err == nil {
			out = append(out, x)
		}
	})
	return out
}

// The load. Lanes each own two lots and one trader's receipts on them, and
// walk a script one op per block, as the chain benchmark's lanes do: issue
// their receipts, then open loans (pledge requests, confirmations, the
// loan, its disbursement), then a repayment and a sale (offer, acceptance,
// escrow, DvP). An oracle posts every price every priceEvery blocks (each
// post re-values every open loan on it), with a fall of a quarter in two
// commodities near the end that calls for margin.

const (
	benchQueryChainID = "ewr-bench-query"
	benchReceiptKg    = 2_000
	priceEvery        = 20
	day               = 86_400
)

type benchLot struct {
	id, warehouse, operator string
	commodity               int
}

type queryLoad struct {
	cfg     queryBenchConfig
	sim     *ledger.Sim
	rng     *rand.Rand
	start   int64
	banks   []string
	traders []string
	lots    []benchLot
	lanes   []*benchLane
	price   map[[2]int]uint64 // (currency, commodity) → minor per tonne
	open    map[[2]int]int    // open loans per (currency, commodity)
	issued  int
	loans   int
	blocks  int
	// firstReject is the first rejected tx, for the error.
	firstReject string
	shocked     bool
}

type benchLane struct {
	n       int
	trader  string
	lots    []int
	toIssue int
	issued  int
	free    map[int][]string // lot → receipts issued and not pledged
	toLoan  int
	loans   []string // opened
	// The loan in progress.
	step     int
	pledges  []string
	receipts []string
	bank     string
	currency int
	loanID   string
	// After the loans: repay, then sell a receipt.
	extra int
	sale  string
	buyer string
	bbank string
	done  bool
}

func newQueryLoad(cfg queryBenchConfig) (*queryLoad, error) {
	g := &queryLoad{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xb0a7)), start: 1_767_225_600,
		price: map[[2]int]uint64{}, open: map[[2]int]int{}}
	w := ledger.NewWorld("bench-query", g.start+10*365*day)
	add := func(id string, roles receipt.Role) {
		var pk receipt.PubKey
		copy(pk[:], ledger.DemoKey("bench-query", id).Public().(ed25519.PublicKey))
		w.Genesis.Participants = append(w.Genesis.Participants, receipt.Participant{ID: id, Name: id, Roles: roles, PubKey: pk})
	}
	for i := range cfg.Banks {
		g.banks = append(g.banks, fmt.Sprintf("bank-%02d", i+1))
		add(g.banks[i], receipt.RoleBank)
	}
	for i := range cfg.Traders {
		g.traders = append(g.traders, fmt.Sprintf("trader-%03d", i+1))
		add(g.traders[i], receipt.RoleTrader)
	}
	lotsPerLane := max(1, cfg.Receipts/cfg.Lanes/cfg.ReceiptsPerLot)
	nLots := lotsPerLane * cfg.Lanes
	for i := range cfg.Warehouses {
		wh, op, cm := fmt.Sprintf("WH-%02d", i+1), fmt.Sprintf("wo-%02d", i+1), fmt.Sprintf("cm-%02d", i+1)
		add(op, receipt.RoleOperator)
		add(cm, receipt.RoleCollateralManager)
		w.Genesis.Warehouses = append(w.Genesis.Warehouses, warehouse.Warehouse{ID: wh, Name: "Bench warehouse " + wh, Location: "Qingdao",
			Operator: op, CollateralManager: cm})
	}
	perLot := uint64(cfg.Receipts/nLots+1) * benchReceiptKg
	for i := range nLots {
		wi := i % cfg.Warehouses
		l := benchLot{id: fmt.Sprintf("LOT-%05d", i), warehouse: fmt.Sprintf("WH-%02d", wi+1), operator: fmt.Sprintf("wo-%02d", wi+1),
			commodity: (i / lotsPerLane) % cfg.Commodities}
		bay := fmt.Sprintf("B%05d", i)
		w.Genesis.Bays = append(w.Genesis.Bays, warehouse.Bay{Warehouse: l.warehouse, ID: bay})
		w.Genesis.Lots = append(w.Genesis.Lots, warehouse.Lot{ID: l.id, Warehouse: l.warehouse, Bay: bay,
			Commodity: benchCommodities[l.commodity].name, Grade: "standard", Unit: "kg", LockedQty: perLot, Tolerance: 500})
		g.lots = append(g.lots, l)
	}
	sim, err := ledger.NewSim(w, benchQueryChainID, g.start)
	if err != nil {
		return nil, err
	}
	sim.RecordBlocks()
	g.sim = sim
	loansPerLane, extraLoans := cfg.Loans/cfg.Lanes, cfg.Loans%cfg.Lanes
	for i := range cfg.Lanes {
		ln := &benchLane{n: i, trader: g.traders[i%len(g.traders)], toIssue: cfg.Receipts / cfg.Lanes, free: map[int][]string{},
			toLoan: loansPerLane}
		if i < extraLoans {
			ln.toLoan++
		}
		for j := range lotsPerLane {
			ln.lots = append(ln.lots, i*lotsPerLane+j)
		}
		g.lanes = append(g.lanes, ln)
	}
	return g, nil
}

// block applies txs as the next block, 6 s after the last.
func (g *queryLoad) block(txs []ledger.Signed) {
	g.sim.Advance(6)
	rec := g.sim.DoBlock(txs)
	g.blocks++
	for _, tx := range rec.Txs {
		if tx.Code != 0 && g.firstReject == "" {
			g.firstReject = fmt.Sprintf("block %d %s: %s", rec.Height, tx.OpType, tx.Log)
		}
	}
}

func (g *queryLoad) run(ctx context.Context, say func(string, ...any)) error {
	// Policies and first prices.
	var setup []ledger.Signed
	for _, bank := range g.banks {
		for ci := range g.cfg.Commodities {
			c := benchCommodities[ci]
			initial := uint32(7_000 + 500*g.rng.IntN(2))
			setup = append(setup, ledger.Signed{Signers: []string{bank}, Op: &financing.SetCreditPolicy{Commodity: c.name,
				HaircutBps: c.haircutBps, InitialLTVBps: initial, MaintenanceLTVBps: initial + 1_000, MarginCallGraceSec: 2 * day}})
		}
	}
	g.block(setup)
	g.block(g.pricePosts(false))
	lastSay := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var txs []ledger.Signed
		busy := false
		for _, ln := range g.lanes {
			if tx, ok := g.next(ln); ok {
				txs = append(txs, tx)
				busy = true
			}
		}
		if !busy {
			break
		}
		if g.blocks%priceEvery == 0 {
			// After every other tx of the block: a loan opened in it was
			// sized on the price before.
			txs = append(txs, g.pricePosts(g.loans >= g.cfg.Loans*9/10 && !g.shocked)...)
		}
		g.block(txs)
		if time.Since(lastSay) > 5*time.Second {
			say("generating: block %d, %d receipts, %d loans", g.blocks, g.issued, g.loans)
			lastSay = time.Now()
		}
	}
	// A last round of prices: loans marked to market at the end.
	g.block(g.pricePosts(!g.shocked))
	return nil
}

// pricePosts posts every price: a random step of at most 3%, or with
// shock a fall of a quarter in the first two commodities.
func (g *queryLoad) pricePosts(shock bool) []ledger.Signed {
	var txs []ledger.Signed
	for cur := range benchCurrencies {
		for ci := range g.cfg.Commodities {
			k := [2]int{cur, ci}
			p := g.price[k]
			switch {
			case p == 0:
				p = benchCommodities[ci].usdPerT
				if cur == 1 {
					p = p * 72 / 10
				}
			case shock && ci < 2:
				p = p * 3 / 4
			default:
				p = p * uint64(97+g.rng.IntN(7)) / 100
			}
			g.price[k] = p
			txs = append(txs, ledger.Signed{Signers: []string{ledger.Oracle}, Op: &financing.PostPrice{
				Commodity: benchCommodities[ci].name, Currency: benchCurrencies[cur], MinorPerTonne: p}})
		}
	}
	if shock {
		g.shocked = true
	}
	return txs
}

func (g *queryLoad) receipt(id string) *receipt.Receipt {
	r, ok := g.sim.Receipt(id)
	if !ok {
		panic("bench query: lost receipt " + id)
	}
	return r
}

// next is lane ln's op for the next block, if it has one.
func (g *queryLoad) next(ln *benchLane) (ledger.Signed, bool) {
	now := g.sim.Block.Time + 6
	if ln.issued < ln.toIssue {
		li := ln.lots[ln.issued%len(ln.lots)]
		lot := g.lots[li]
		id := fmt.Sprintf("R-%04d-%03d", ln.n, ln.issued)
		ln.issued++
		g.issued++
		ln.free[li] = append(ln.free[li], id)
		return ledger.Signed{Signers: []string{lot.operator}, Op: &warehouse.IssueReceipt{
			ID: id, Lot: lot.id, Depositor: ln.trader, Negotiable: true, Quantity: benchReceiptKg, Description: "bulk, in bags",
			PlaceOfIssue: "Qingdao", StorageUntil: g.start + 3*365*day, ValidUntil: g.start + 2*365*day, StorageAgreementDate: g.start - day,
			StorageTermsRef: "BENCH-ST", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY", MinorPerTonnePerDay: 100},
		}}, true
	}
	if ln.toLoan > 0 || ln.loanID != "" {
		if tx, ok := g.nextLoanStep(ln, now); ok {
			return tx, true
		}
	}
	return g.nextExtra(ln, now)
}

// nextLoanStep walks one loan: request each pledge, confirm each, open,
// disburse.
func (g *queryLoad) nextLoanStep(ln *benchLane, now int64) (ledger.Signed, bool) {
	if ln.loanID == "" {
		// Pick 1 to 3 free receipts of one lot, a bank and the currency
		// whose index of open loans on the commodity has room.
		k := 1 + g.rng.IntN(3)
		li := -1
		for _, l := range ln.lots {
			if len(ln.free[l]) >= k {
				li = l
				break
			}
		}
		ci := g.lots[max(li, 0)].commodity
		cur := g.rng.IntN(2)
		if g.open[[2]int{cur, ci}] >= financing.MaxOpenLoansPerIndex {
			cur = 1 - cur
		}
		if li < 0 || g.open[[2]int{cur, ci}] >= financing.MaxOpenLoansPerIndex {
			ln.toLoan = 0 // no collateral or no room: this lane lends no more
			return ledger.Signed{}, false
		}
		ln.toLoan--
		ln.currency = cur
		ln.bank = g.banks[(ln.n+len(ln.loans))%len(g.banks)]
		ln.loanID = fmt.Sprintf("LN-%04d-%02d", ln.n, len(ln.loans))
		ln.receipts = append([]string(nil), ln.free[li][len(ln.free[li])-k:]...)
		ln.free[li] = ln.free[li][:len(ln.free[li])-k]
		ln.pledges = nil
		for j := range ln.receipts {
			ln.pledges = append(ln.pledges, fmt.Sprintf("%s-P%d", ln.loanID, j))
		}
		ln.step = 0
		g.open[[2]int{cur, ci}]++ // reserved now, opened in a few blocks
	}
	k := len(ln.receipts)
	s := ln.step
	ln.step++
	switch {
	case s < k:
		r := g.receipt(ln.receipts[s])
		return ledger.Signed{Signers: []string{ln.trader}, Op: &receipt.RequestPledge{Pledge: ln.pledges[s], Receipt: r.ID, Version: r.Version,
			Bank: ln.bank, Maturity: now + 180*day}}, true
	case s < 2*k:
		r := g.receipt(ln.receipts[s-k])
		return ledger.Signed{Signers: []string{ln.bank}, Op: &receipt.ConfirmPledge{Pledge: ln.pledges[s-k], ReceiptVersion: r.Version}}, true
	case s == 2*k:
		ci := g.commodityOf(ln.receipts[0])
		pol, _ := ledger.Get[financing.CreditPolicy](g.sim.Store, financing.PolicyKey(ln.bank, benchCommodities[ci].name))
		grams := new(big.Int).SetUint64(uint64(k) * benchReceiptKg * 1000)
		v := financing.CollateralValue(grams, g.price[[2]int{ln.currency, ci}], pol.HaircutBps)
		principal := financing.Saturate(financing.MaxAdvance(v, pol.InitialLTVBps)) * 9 / 10
		return ledger.Signed{Signers: []string{ln.bank, ln.trader}, Op: &financing.OpenLoan{Loan: ln.loanID, Borrower: ln.trader,
			Pledges: ln.pledges, Currency: benchCurrencies[ln.currency], Principal: max(principal, 1), Maturity: now + 90*day}}, true
	default:
		l, ok := ledger.Get[financing.Loan](g.sim.Store, financing.LoanKey(ln.loanID))
		ln.loanID = ""
		if !ok {
			return ledger.Signed{}, false // refused: the error names it
		}
		ln.loans = append(ln.loans, l.ID)
		g.loans++
		return ledger.Signed{Signers: []string{l.Bank}, Op: &financing.RecordDisbursement{Loan: l.ID, Amount: l.Principal, Ref: "MT103-" + l.ID, Version: l.Version}}, true
	}
}

func (g *queryLoad) commodityOf(receiptID string) int {
	r := g.receipt(receiptID)
	for i, c := range benchCommodities {
		if c.name == r.Commodity {
			return i
		}
	}
	panic("bench query: unknown commodity " + r.Commodity)
}

// nextExtra is what a lane does after its loans: a part repayment, then a
// sale of a free receipt to the next lane's trader by DvP.
func (g *queryLoad) nextExtra(ln *benchLane, now int64) (ledger.Signed, bool) {
	if ln.done {
		return ledger.Signed{}, false
	}
	s := ln.extra
	ln.extra++
	switch s {
	case 0:
		if len(ln.loans) == 0 {
			return g.nextExtra(ln, now)
		}
		l, _ := ledger.Get[financing.Loan](g.sim.Store, financing.LoanKey(ln.loans[0]))
		if l.Status != financing.LoanOpen || l.Outstanding < 10 {
			return g.nextExtra(ln, now)
		}
		return ledger.Signed{Signers: []string{l.Bank}, Op: &financing.RecordRepayment{Loan: l.ID, Amount: l.Outstanding / 3, Ref: "MT103-R-" + l.ID, Version: l.Version}}, true
	case 1:
		var id string
		for _, li := range ln.lots {
			if n := len(ln.free[li]); n > 0 {
				id = ln.free[li][n-1]
				ln.free[li] = ln.free[li][:n-1]
				break
			}
		}
		if id == "" {
			ln.done = true
			return ledger.Signed{}, false
		}
		r := g.receipt(id)
		ln.sale = "OF-" + id
		ln.buyer = g.traders[(ln.n+1)%len(g.traders)]
		if ln.buyer == ln.trader {
			ln.buyer = g.traders[(ln.n+2)%len(g.traders)]
		}
		if ln.buyer == ln.trader {
			ln.done = true // one trader: nobody to sell to
			return ledger.Signed{}, false
		}
		ln.bbank = g.banks[(ln.n+3)%len(g.banks)]
		ci := g.commodityOf(id)
		price := g.price[[2]int{0, ci}] * benchReceiptKg / 1000
		return ledger.Signed{Signers: []string{ln.trader}, Op: &trading.CreateOffer{Offer: ln.sale, Receipt: id, Version: r.Version,
			Buyer: ln.buyer, PriceMinor: max(price, 1), Currency: "USD", Deadline: now + 5*day}}, true
	case 2:
		return ledger.Signed{Signers: []string{ln.buyer}, Op: &trading.AcceptOffer{Offer: ln.sale, BuyerBank: ln.bbank}}, true
	case 3:
		o, _ := ledger.Get[trading.Offer](g.sim.Store, trading.OfferKey(ln.sale))
		return ledger.Signed{Signers: []string{ln.bbank}, Op: &trading.ConfirmFunds{Trade: ln.sale, AmountMinor: o.PriceMinor,
			Currency: o.Currency, EscrowRef: "ESC-" + ln.sale}}, true
	case 4:
		ln.done = true
		return ledger.Signed{Signers: []string{ln.buyer}, Op: &trading.Settle{Trade: ln.sale}}, true
	}
	ln.done = true
	return ledger.Signed{}, false
}

// precheckRequest is a pre-lending check of a random receipt by its
// holder (a fifth of the time by someone else) with a random bank, in a
// random currency, maturing in 30 days.
func (g *queryLoad) precheckRequest(rng *rand.Rand, now int64) financing.PrecheckRequest {
	ln := g.lanes[rng.IntN(len(g.lanes))]
	id := fmt.Sprintf("R-%04d-%03d", ln.n, rng.IntN(max(ln.issued, 1)))
	holder := ln.trader
	if r, ok := g.sim.Receipt(id); ok {
		holder = r.Holder
	}
	if rng.IntN(5) == 0 {
		holder = g.traders[rng.IntN(len(g.traders))]
	}
	return financing.PrecheckRequest{Receipt: id, Borrower: holder, Bank: g.banks[rng.IntN(len(g.banks))],
		Currency: benchCurrencies[rng.IntN(2)], Maturity: now + 30*day}
}
