package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/api/web"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/browser"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
)

func init() {
	registerBench(&benchmark{name: "verify", summary: "a bank's offline check of a position bundle: its size and the verification's time", run: runBenchVerify})
}

// verifyBenchReport is `ewr bench verify`'s answer.
type verifyBenchReport struct {
	BundleBytes int     `json:"bundle_bytes"` // the position bundle, as the API sends it
	Records     int     `json:"records"`      // records it proves besides the receipt
	Validators  int     `json:"validators"`
	Runs        int     `json:"runs"`
	VerifyUsP50 float64 `json:"verify_us_p50"` // in-process, after warm-up: JSON decoding and Verify
	VerifyUsP99 float64 `json:"verify_us_p99"`
	// WasmVerifyMs is the median of the /verify page's check in headless
	// Chromium (the WebAssembly verifier), when a Chromium is installed.
	WasmVerifyMs *float64 `json:"wasm_verify_ms,omitempty"`
	WasmNote     string   `json:"wasm_note,omitempty"` // why it was not measured
	Cores        int      `json:"cores"`
}

func runBenchVerify(ctx context.Context, args []string) error {
	fs := newFlags("bench verify")
	n := fs.Int("validators", 4, "validators whose signatures the bundle carries")
	runs := fs.Int("runs", 2000, "verifications measured (after as many to warm up)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *runs < 1 {
		return usagef("bad flags")
	}
	dir, err := os.MkdirTemp("", "ewr-bench-verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// A pledged receipt on a localnet of the demo world.
	w := ledger.NewWorld("bench-verify", time.Now().Unix()+365*86400)
	appState, err := json.Marshal(&w.Genesis)
	if err != nil {
		return err
	}
	logger := log.NewNopLogger()
	ln, err := chainengine.StartLocalnet(ctx, dir, *n, func(home string, _ int) (chainengine.App, error) {
		return chainengine.NewReceiptApp(chainengine.ReceiptAppDir(home), logger)
	}, chainengine.LocalnetOptions{AppState: appState, Logger: logger})
	if err != nil {
		return err
	}
	defer ln.Stop()
	d := simulators.NewChainDriver(ln.Node(0), w)
	if err := (&simulators.Lifecycle{Driver: d, World: w, Out: io.Discard, Tag: "v", Bay: ledger.DemoBays[0]}).Run(ctx); err != nil {
		return err
	}
	r, err := d.Receipt(ctx, "WR-B-v")
	if err != nil {
		return err
	}
	if err := d.Submit(ctx, []string{r.Holder}, &receipt.RequestPledge{Pledge: "PL-V", Receipt: r.ID, Version: r.Version, Bank: ledger.BankA,
		Maturity: time.Now().Unix() + 86400}); err != nil {
		return err
	}
	prover, err := chainengine.NewProver(ln.Node(0))
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := prover.BundleOf(pctx, func(get func(string) ([]byte, bool)) []string { return ledger.PositionKeys(get, r.ID) }, ln.Node(0).App().(*chainengine.ReceiptApp).Height())
	if err != nil {
		return err
	}
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	trusted, chainID, err := chainengine.TrustedValidators(filepath.Join(ln.Home(), "node0", "config", "genesis.json"))
	if err != nil {
		return err
	}
	once := func() error {
		var bb chainengine.ProofBundle
		if err := json.Unmarshal(raw, &bb); err != nil {
			return err
		}
		_, err := bb.Verify(trusted, chainID)
		return err
	}
	for range *runs {
		if err := once(); err != nil {
			return fmt.Errorf("bench verify: the bundle does not verify: %w", err)
		}
	}
	took := make([]time.Duration, *runs)
	for i := range took {
		t0 := time.Now()
		if err := once(); err != nil {
			return err
		}
		took[i] = time.Since(t0)
	}
	slices.Sort(took)
	us := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Nanoseconds()) / 1000 }
	rep := verifyBenchReport{BundleBytes: len(raw), Records: len(b.Records), Validators: *n, Runs: *runs,
		VerifyUsP50: us(0.5), VerifyUsP99: us(0.99), Cores: runtime.NumCPU()}
	genesis, err := os.ReadFile(filepath.Join(ln.Home(), "node0", "config", "genesis.json"))
	if err != nil {
		return err
	}
	if ms, err := wasmVerifyMs(ctx, dir, raw, genesis); err != nil {
		rep.WasmNote = err.Error()
	} else {
		rep.WasmVerifyMs = &ms
	}
	out, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

// wasmVerifyMs opens the verifier page in headless Chromium and times its
// check of the bundle: the median of 51 runs after 10 to warm up.
func wasmVerifyMs(ctx context.Context, dir string, bundle, genesis []byte) (float64, error) {
	page, err := web.VerifyPage()
	if err != nil {
		return 0, err
	}
	path := filepath.Join(dir, "verify.html")
	if err := os.WriteFile(path, page, 0o600); err != nil {
		return 0, err
	}
	bctx, stop, err := browser.Start(ctx, filepath.Join(dir, "chromium"))
	if err != nil {
		return 0, err
	}
	defer stop()
	c, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(c, chromedp.Navigate("file://"+path),
		chromedp.Poll[chromedp.Void](`document.getElementById('loading').textContent === 'Verifier ready.'`, chromedp.WithPollingTimeout(time.Minute))); err != nil {
		return 0, err
	}
	b, _ := json.Marshal(string(bundle))
	g, _ := json.Marshal(string(genesis))
	return chromedp.Run(c, chromedp.Evaluate[float64](`(() => {
		const b = `+string(b)+`, g = `+string(g)+`, t = [];
		for (let i = 0; i < 61; i++) {
			const t0 = performance.now();
			const r = JSON.parse(ewrVerify(b, g, 86400, 0));
			if (!r.report.ok) throw new Error(r.report.error);
			if (i >= 10) t.push(performance.now() - t0);
		}
		t.sort((x, y) => x - y);
		return t[Math.floor(t.length / 2)];
	})()`))
}
