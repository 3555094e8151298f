package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/api/web"
	"github.com/ewrchain/ewr/internal/browser"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifierInTheBrowser: the /verify page a node serves, saved to disk
// and opened from there in headless Chromium with the node stopped, checks
// a bank's position bundle against the genesis the bank pinned: it shows
// the receipt and its pledge decoded from the proven bytes, refuses a
// tampered bundle and a stale one with the reason, keeps the pinned
// genesis across a reload, and makes no request at all.
func TestVerifierInTheBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a localnet and a browser")
	}
	if _, err := web.VerifyPage(); err != nil {
		t.Fatalf("%v: run make build (make test does)", err)
	}
	sys := apitest.Start(t, apitest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A pledged receipt and the bank's position bundle of it.
	w := sys.World
	d := simulators.NewChainDriver(sys.Localnet.Node(0), w)
	require.NoError(t, (&simulators.Lifecycle{Driver: d, World: w, Out: io.Discard, Tag: "web", Bay: ledger.DemoBays[0]}).Run(ctx))
	r, err := d.Receipt(ctx, "WR-B-web")
	require.NoError(t, err)
	require.NoError(t, d.Submit(ctx, []string{r.Holder}, &receipt.RequestPledge{Pledge: "PL-WEB", Receipt: r.ID, Version: r.Version,
		Bank: ledger.BankA, Maturity: time.Now().Unix() + 86400}))
	get := func(path, token string) ([]byte, *http.Response) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, sys.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
		return b, resp
	}
	bundle, _ := get("/v1/receipts/"+r.ID+"/position-proof", sys.Tokens[ledger.BankA])
	page, resp := get("/verify", "")
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	genesis, err := os.ReadFile(sys.Genesis)
	require.NoError(t, err)
	pagePath := write("verify.html", page)
	genesisPath := write("genesis.json", genesis)
	bundlePath := write("bundle.json", bundle)
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(string(bundle)))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&doc))
	doc["state_height"] = json.Number("1")
	tampered, err := json.Marshal(doc)
	require.NoError(t, err)
	tamperedPath := write("tampered.json", tampered)
	// The node is gone: the page has everything it needs.
	sys.StopServer()

	bctx, stop, err := browser.Start(context.Background(), t.TempDir())
	require.NoError(t, err)
	defer stop()
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, time.Minute)
		defer cancel()
		require.NoError(t, chromedp.Do(c, steps...))
	}
	text := func(sel string) string {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.querySelector(`+jsString(sel)+`).innerText`))
		require.NoError(t, err)
		return s
	}
	waitFor := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(45*time.Second))
	}
	verdict := `document.querySelector('#out .verdict')`

	run(chromedp.Navigate("file://"+pagePath), waitFor(`document.getElementById('loading').textContent === 'Verifier ready.'`))
	run(chromedp.SetUploadFiles(chromedp.ID("genesis-file"), []string{genesisPath}),
		waitFor(`document.getElementById('genesis-status').textContent.startsWith('Pinned')`))
	var gdoc struct {
		ChainID string `json:"chain_id"`
	}
	require.NoError(t, json.Unmarshal(genesis, &gdoc))
	assert.Contains(t, text("#genesis-status"), "chain "+gdoc.ChainID+", 4 validators")
	run(chromedp.SetUploadFiles(chromedp.ID("bundle-file"), []string{bundlePath}), waitFor(verdict+` !== null`))
	out := text("#out")
	assert.Contains(t, out, "✓ Verified", out)
	assert.Contains(t, out, "receipt r/"+r.ID+" is present")
	assert.Contains(t, out, "PL-WEB", "the pledge, decoded from its proven bytes")
	assert.Contains(t, out, `"Holder": "`+r.Holder+`"`)
	assert.Contains(t, out, "voting power (more than 2/3 needed)")

	// Tampered: refused, with the reason.
	run(chromedp.SetUploadFiles(chromedp.ID("bundle-file"), []string{tamperedPath}), waitFor(verdict+`.textContent.startsWith('✗')`))
	out = text("#out")
	assert.Contains(t, out, "Not verified")
	assert.Contains(t, out, "proof bundle:", out)
	assert.NotContains(t, out, "PL-WEB")

	// Stale for a bank that needs a later state.
	run(chromedp.SetUploadFiles(chromedp.ID("bundle-file"), []string{bundlePath}), waitFor(verdict+`.textContent.startsWith('✓')`))
	run(chromedp.SetValue(chromedp.ID("min-height"), "100000000"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('min-height').dispatchEvent(new Event('input'))`),
		waitFor(verdict+`.textContent.startsWith('✗')`))
	assert.Contains(t, text("#out"), "stale")

	// The pin survives a reload; the page made no request of any kind.
	run(chromedp.Reload(), waitFor(`document.getElementById('genesis-status').textContent.startsWith('Pinned')`))
	c, cancelEval := context.WithTimeout(bctx, 10*time.Second)
	defer cancelEval()
	n, err := chromedp.Run(c, chromedp.Evaluate[int](`performance.getEntriesByType('resource').length`))
	require.NoError(t, err)
	assert.Zero(t, n, "the page fetched resources")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
