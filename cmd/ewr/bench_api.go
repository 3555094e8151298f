package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/ewrchain/ewr/receipt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/machine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/valyala/fasthttp"
)

func init() {
	registerBench(&benchmark{name: "api", summary: "receipt reads and committed writes through the HTTP API, 4-validator localnet behind it", run: runBenchAPI})
}

// apiBenchResult is `ewr bench api`'s report.
type apiBenchResult struct {
	ReadsPerS    float64 `json:"reads_per_s"`
	ReadP50Ms    float64 `json:"read_p50_ms"`
	ReadP99Ms    float64 `json:"read_p99_ms"`
	Reads        int     `json:"reads"`
	ReadErrors   int     `json:"read_errors"`
	Readers      int     `json:"readers"`
	ReadIDs      int     `json:"read_ids"`
	WritesPerS   float64 `json:"writes_per_s"` // committed, in the window
	WriteP50Ms   float64 `json:"write_p50_ms"` // request to committed answer
	WriteP99Ms   float64 `json:"write_p99_ms"`
	Writes       int     `json:"writes"`
	WriteRefused int     `json:"write_refused"`
	WriteErrors  int     `json:"write_errors"`
	WriteBacklog int     `json:"write_backlog"` // open loop: submissions no lane was free for
	Mode         string  `json:"mode"`          // "saturate" or "open"
	OfferedPerS  float64 `json:"offered_writes_per_s"`
	Lanes        int     `json:"lanes"`
	Validators   int     `json:"validators"`
	APIServers   int     `json:"api_servers"`
	DurationS    float64 `json:"duration_s"`
	WarmupS      float64 `json:"warmup_s"`
	Cores        int     `json:"cores"`
	CPUCoresUsed float64 `json:"cpu_cores_used"` // this process, whole run
	LoadAvg1m    float64 `json:"loadavg_1m"`
	Height       int64   `json:"height"`
}

func runBenchAPI(ctx context.Context, args []string) error {
	fs := newFlags("bench api")
	n := fs.Int("validators", 4, "validators of the localnet")
	duration := fs.Duration("duration", 30*time.Second, "measured window of each phase (writes, then reads)")
	readDuration := fs.Duration("read-duration", 0, "measured window of the read phase (default --duration)")
	warmup := fs.Duration("warmup", 5*time.Second, "load before each measured window")
	rate := fs.Float64("rate", 0, "offered writes/s (open loop); 0 saturates with --lanes")
	lanes := fs.Int("lanes", 0, "writes in flight at most (default: 2 s of --rate, or 1000 saturating)")
	readers := fs.Int("readers", 8, "concurrent readers (keep-alive connections)")
	home := fs.String("home", "", "run in this directory and keep it (default: a fresh temporary one)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the read phase to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *duration <= 0 || *warmup < 0 || *rate < 0 || *lanes < 0 || *readers < 1 {
		return usagef("bad flags")
	}
	if *readDuration == 0 {
		*readDuration = *duration
	}
	saturate := *rate == 0
	if *lanes == 0 {
		*lanes = 1000
		if !saturate {
			*lanes = max(100, int(*rate*2))
		}
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	t0 := time.Now()
	cpu0 := machine.ProcessCPU()

	const chainID = "ewr-bench"
	wl := chainengine.NewReceiptWorkload(chainID)
	*lanes = min(*lanes, wl.Lanes())
	expected := int((*rate)*(*warmup+*duration).Seconds()*1.05) + *lanes
	if saturate {
		expected = 3000*int((*warmup+*duration).Seconds()) + *lanes
	}
	progress("signing %d txs ahead, as clients sign on their own machines…", expected)
	if err := wl.Prepare(ctx, expected); err != nil {
		return err
	}
	progress("signed in %v", time.Since(t0).Round(time.Millisecond))

	dir := *home
	if dir == "" {
		d, err := os.MkdirTemp("", "ewr-bench-api-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	logger := log.NewNopLogger()
	progress("starting %d validators in %s…", *n, dir)
	ln, err := chainengine.StartLocalnet(ctx, dir, *n, func(nodeHome string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(nodeHome), logger)
	}, chainengine.LocalnetOptions{ChainID: chainID, AppState: wl.AppState(), Logger: logger, ReadyTimeout: 3 * time.Minute})
	if err != nil {
		return err
	}
	defer ln.Stop()

	// One API per member node, as each member runs its own; a token per
	// participant of the benchmark's genesis.
	var g ledger.Genesis
	if err := json.Unmarshal(wl.AppState(), &g); err != nil {
		return err
	}
	tokens := map[string]string{}
	byToken := map[string]string{}
	for _, p := range g.Participants {
		tok := "bench-" + p.ID
		tokens[p.ID], byToken[tok] = tok, p.ID
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var servers []string
	for i, nd := range ln.Nodes() {
		// Each node's member stack with only its API: the benchmark
		// measures the write and read paths, not NATS or the read model.
		mc := &member.Config{}
		mc.API.Listen = "127.0.0.1:0"
		m, err := member.Attach(ctx, nd, mc, member.Options{Keys: api.KeyMap{}, Tokens: byToken, Logger: quiet, NoNATS: true, NoReadModel: true,
			API: api.Config{CommitTimeout: time.Minute}})
		if err != nil {
			return err
		}
		defer m.Stop()
		addr := strings.TrimPrefix(m.URL, "http://")
		servers = append(servers, addr)
		progress("API %d on %s (node %d)", i, addr, i)
	}
	clients := make([]*fasthttp.HostClient, len(servers))
	for i, a := range servers {
		clients[i] = &fasthttp.HostClient{Addr: a, MaxConns: *lanes + *readers + 16, ReadTimeout: 2 * time.Minute, WriteTimeout: 10 * time.Second,
			MaxIdleConnDuration: time.Minute}
	}

	res := &apiBenchResult{Lanes: *lanes, Readers: *readers, Validators: *n, APIServers: len(servers), DurationS: duration.Seconds(),
		WarmupS: warmup.Seconds(), Cores: runtime.NumCPU(), Mode: "saturate", OfferedPerS: *rate}
	if !saturate {
		res.Mode = "open"
	}
	app0 := ln.Node(0).App().(*chainengine.ReceiptApp)
	progress("writes: %s, %d lanes, through %d APIs, %v warm-up then %v measured", res.Mode, *lanes, len(servers), *warmup, *duration)
	if err := benchWrites(ctx, wl, app0, clients, tokens, *lanes, *rate, *warmup, *duration, res, progress); err != nil {
		return err
	}
	ids := receiptIDs(app0, 20_000)
	res.ReadIDs = len(ids)
	if len(ids) == 0 {
		return fmt.Errorf("no receipts to read: the write phase committed none")
	}
	progress("reads: %d readers over %d receipts, %v warm-up then %v measured", *readers, len(ids), *warmup, *readDuration)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	// Each receipt is read by its holder, as the read policy lets it (and
	// as the API is used): every read pays the party check.
	holderToken := map[string]string{}
	st, _ := app0.State()
	for _, id := range ids {
		if r, ok := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(id)); ok {
			holderToken[id] = tokens[r.Holder]
		}
	}
	benchReads(ctx, clients, holderToken, ids, *readers, *warmup, *readDuration, res, progress)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	res.Height = app0.Height()
	res.CPUCoresUsed = apiRound2((machine.ProcessCPU() - cpu0).Seconds() / time.Since(t0).Seconds())
	res.LoadAvg1m = machine.LoadAvg1m()
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

// benchWrites drives pre-signed txs through POST /v1/txs, each lane one
// at a time, and records what committed in the window.
func benchWrites(ctx context.Context, wl *chainengine.ReceiptWorkload, app *chainengine.ReceiptApp, clients []*fasthttp.HostClient,
	tokens map[string]string, lanes int, rate float64, warmup, duration time.Duration, res *apiBenchResult, progress func(string, ...any)) error {
	start := time.Now()
	wStart, wEnd := start.Add(warmup), start.Add(warmup+duration)
	var (
		mu        sync.Mutex
		lat       []time.Duration
		committed atomic.Int64
		rr        atomic.Uint64
		backlog   atomic.Int64
		submitted atomic.Int64
	)
	var tokensCh chan time.Time
	if rate > 0 {
		tokensCh = make(chan time.Time)
		go func() {
			defer close(tokensCh)
			interval := time.Duration(float64(time.Second) / rate)
			next := start
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for now := range t.C {
				if !now.Before(wEnd) || ctx.Err() != nil {
					return
				}
				for ; !next.After(now); next = next.Add(interval) {
					select {
					case tokensCh <- next:
					default:
						if !next.Before(wStart) {
							backlog.Add(1)
						}
					}
				}
			}
		}()
	}
	in := func(t time.Time) bool { return !t.Before(wStart) && t.Before(wEnd) }
	var wg sync.WaitGroup
	var fatal atomic.Pointer[error]
	for lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for {
				var t0 time.Time
				if tokensCh == nil {
					t0 = time.Now()
				} else {
					var ok bool
					if t0, ok = <-tokensCh; !ok {
						return
					}
				}
				if !t0.Before(wEnd) || ctx.Err() != nil {
					return
				}
				raw, _, err := wl.Next(lane, app.Height())
				if err != nil {
					fatal.CompareAndSwap(nil, &err)
					return
				}
				tx, err := chainengine.DecodeTx(raw)
				if err != nil {
					fatal.CompareAndSwap(nil, &err)
					return
				}
				c := clients[rr.Add(1)%uint64(len(clients))]
				req.Reset()
				resp.Reset()
				req.SetRequestURI("http://" + c.Addr + "/v1/txs")
				req.Header.SetMethod("POST")
				req.Header.SetContentType("application/json")
				req.Header.Set("Authorization", "Bearer "+tokens[tx.Body.Signers[0]])
				body := make([]byte, 0, base64.StdEncoding.EncodedLen(len(raw))+10)
				body = append(body, `{"tx":"`...)
				body = base64.StdEncoding.AppendEncode(body, raw)
				body = append(body, `"}`...)
				req.SetBody(body)
				err = c.Do(req, resp)
				t1 := time.Now()
				if in(t0) {
					submitted.Add(1)
				}
				mu.Lock()
				switch {
				case err != nil:
					if in(t0) {
						res.WriteErrors++
					}
				case resp.StatusCode() != 200:
					if in(t0) {
						res.WriteRefused++
					}
				default:
					committed.Add(1)
					if in(t1) {
						res.Writes++
					}
					if in(t0) {
						lat = append(lat, t1.Sub(t0))
					}
				}
				mu.Unlock()
				if err != nil && tokensCh == nil && ctx.Err() != nil {
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := int64(0)
	for running := true; running; {
		select {
		case <-ctx.Done():
			<-done
			return ctx.Err()
		case <-done:
			running = false
		case now := <-tick.C:
			c := committed.Load()
			phase := "warm-up"
			if !now.Before(wStart) {
				phase = "measure"
			}
			if !now.Before(wEnd) {
				phase = "drain"
			}
			progress("%5.1fs %-7s height=%d committed/s=%d", now.Sub(start).Seconds(), phase, app.Height(), c-last)
			last = c
		}
	}
	if p := fatal.Load(); p != nil {
		return *p
	}
	res.WriteBacklog = int(backlog.Load())
	res.WritesPerS = apiRound2(float64(res.Writes) / duration.Seconds())
	if rate == 0 {
		res.OfferedPerS = apiRound2(float64(submitted.Load()) / duration.Seconds())
	}
	slices.Sort(lat)
	res.WriteP50Ms, res.WriteP99Ms = apiPct(lat, 0.50), apiPct(lat, 0.99)
	return nil
}

// benchReads reads receipts by id as fast as readers go.
func benchReads(ctx context.Context, clients []*fasthttp.HostClient, tokenOf map[string]string, ids []string, readers int,
	warmup, duration time.Duration, res *apiBenchResult, progress func(string, ...any)) {
	start := time.Now()
	wStart, wEnd := start.Add(warmup), start.Add(warmup+duration)
	var mu sync.Mutex
	var lat []time.Duration
	var total atomic.Int64
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			c := clients[r%len(clients)]
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var mine []time.Duration
			errs, n := 0, 0
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(wEnd) {
					break
				}
				req.Reset()
				resp.Reset()
				id := ids[rng.IntN(len(ids))]
				req.SetRequestURI("http://" + c.Addr + "/v1/receipts/" + id)
				req.Header.Set("Authorization", "Bearer "+tokenOf[id])
				err := c.Do(req, resp)
				t1 := time.Now()
				total.Add(1)
				if !t0.Before(wStart) {
					if err != nil || resp.StatusCode() != 200 {
						errs++
					} else {
						n++
						mine = append(mine, t1.Sub(t0))
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Reads += n
			res.ReadErrors += errs
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := int64(0)
	for running := true; running; {
		select {
		case <-done:
			running = false
		case now := <-tick.C:
			c := total.Load()
			progress("%5.1fs reads/s=%d", now.Sub(start).Seconds(), c-last)
			last = c
		}
	}
	slices.Sort(lat)
	res.ReadsPerS = apiRound2(float64(res.Reads) / duration.Seconds())
	res.ReadP50Ms, res.ReadP99Ms = apiPct(lat, 0.50), apiPct(lat, 0.99)
}

// receiptIDs lists up to max receipt ids in the committed state.
func receiptIDs(app *chainengine.ReceiptApp, limit int) []string {
	st, _ := app.State()
	r, ok := st.(ledger.Ranger)
	if !ok {
		return nil
	}
	var ids []string
	r.Range(receipt.PrefixReceipt, func(key string, _ []byte) {
		if len(ids) < limit {
			ids = append(ids, strings.TrimPrefix(key, receipt.PrefixReceipt))
		}
	})
	return ids
}

func apiPct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(max(int(math.Ceil(p*float64(len(sorted))))-1, 0), len(sorted)-1)
	return apiRound2(float64(sorted[i].Microseconds()) / 1000)
}

func apiRound2(f float64) float64 { return math.Round(f*100) / 100 }
