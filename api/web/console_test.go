package web_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/internal/browser"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsoleInTheBrowser clicks the console through in headless Chromium,
// as the people who use it: the trader pledges its receipt, the bank sees
// the request live with the pre-lending checks and confirms it, the
// regulator freezes the receipt, the warehouse's refused over-issue shows
// its rule, and another bank finds no trace of the receipt. Each step is
// checked on the page and on chain. With EWR_SCREENSHOTS=DIR (make
// screenshots) it writes a PNG of every page it visits there.
func TestConsoleInTheBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a localnet and a browser")
	}
	sys := apitest.Start(t, apitest.Options{Validators: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := sys.World
	d := simulators.NewChainDriver(sys.Localnet.Node(0), w)
	require.NoError(t, (&simulators.Lifecycle{Driver: d, World: w, Out: io.Discard, Tag: "con", Bay: ledger.DemoBays[0]}).Run(ctx))
	const id = "WR-B-con"
	r, err := d.Receipt(ctx, id)
	require.NoError(t, err)
	holder := r.Holder
	other := ledger.BankB // no party to the receipt: neither holds, deposited, finances nor stores it
	onChain := func(want receipt.State) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err := d.Receipt(ctx, id)
			require.NoError(t, err)
			if r.State == want {
				return
			}
			require.True(t, time.Now().Before(deadline), "on chain %s is %s, want %s", id, r.State, want)
			time.Sleep(100 * time.Millisecond)
		}
	}

	shots := os.Getenv("EWR_SCREENSHOTS")
	bctx, stop, err := browser.Start(context.Background(), t.TempDir())
	require.NoError(t, err)
	defer stop()
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 45*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(c, steps...))
	}
	wait := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(30*time.Second))
	}
	text := func() string {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.body.innerText`))
		require.NoError(t, err)
		return s
	}
	shot := func(name string) {
		if shots == "" {
			return
		}
		c, cancel := context.WithTimeout(bctx, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(shots, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
	}
	page := func(hash, marker string) {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 45*time.Second)
		defer cancel()
		err := chromedp.Do(c, chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString(hash)),
			wait(`document.getElementById('main').dataset.page !== undefined && document.body.innerText.includes(`+jsString(marker)+`)`))
		require.NoError(t, err, "%s: no %q on the page:\n%s", hash, marker, text())
	}
	signIn := func(who string) {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 45*time.Second)
		defer cancel()
		err := chromedp.Do(c, chromedp.Evaluate[chromedp.Void](`(document.querySelector('#who button') || { click() {} }).click()`),
			wait(`document.querySelector('input[name=token]') !== null`),
			chromedp.SendKeys(chromedp.CSS("input[name=token]"), sys.Tokens[who]), chromedp.Click(chromedp.CSS("form[aria-label='Sign in'] button")),
			wait(`document.getElementById('who').innerText.includes(`+jsString(who)+`)`))
		require.NoError(t, err, "signing in as %s:\n%s", who, text())
	}
	submit := func(formLabel string, fields map[string]string) {
		t.Helper()
		var steps []chromedp.Action[chromedp.Void]
		for name, v := range fields {
			sel := "form[aria-label='" + formLabel + "'] [name=" + name + "]"
			steps = append(steps, chromedp.SetValue(chromedp.CSS(sel), v))
		}
		steps = append(steps, chromedp.Evaluate[chromedp.Void](`document.getElementById('flash').replaceChildren()`),
			chromedp.Click(chromedp.CSS("form[aria-label='"+formLabel+"'] button")),
			wait(`document.getElementById('flash').innerText.length > 0`))
		do(steps...)
	}
	flashText := func() string {
		c, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById('flash').innerText`))
		require.NoError(t, err)
		return s
	}

	// The sign-in page, then the trader: its receipts, the receipt, a pledge.
	do(chromedp.Navigate(sys.URL+"/"), wait(`document.body.innerText.includes('Sign in')`))
	shot("sign-in")
	signIn(holder)
	shot("home-trader")
	page("#/receipts", id)
	assert.Contains(t, text(), "25,000 kg", "quantities with their unit")
	shot("receipts")
	page("#/receipt/"+id, "The goods")
	assert.Contains(t, text(), "Lineage")
	shot("receipt")
	submit("Pledge", map[string]string{"bank": ledger.BankA, "days": "90"})
	assert.Contains(t, flashText(), "committed")
	onChain(receipt.StatePledgePending)

	// The bank: the request with its checks; confirming it.
	signIn(ledger.BankA)
	page("#/bank", "Pledge requests")
	body := text()
	assert.Contains(t, body, id)
	assert.Contains(t, body, "receipt live")
	shot("bank")
	do(chromedp.Click(chromedp.Search("//button[text()='Confirm']")), wait(`document.getElementById('flash').innerText.includes('committed')`))
	onChain(receipt.StatePledged)
	// Live: a new request, made straight on chain, reaches the open page
	// without a reload.
	now := time.Now().Unix()
	require.NoError(t, d.Submit(ctx, []string{ledger.Operator}, &warehouse.IssueReceipt{ID: "WR-LIVE", Lot: r.Lot, Depositor: ledger.TraderA,
		Negotiable: true, Quantity: 5, Description: "copper cathode", PlaceOfIssue: "Qingdao", StorageUntil: now + 300*86400,
		ValidUntil: now + 200*86400, StorageAgreementDate: now - 86400, StorageTermsRef: "ST-1", ThirdPartyClaims: "none known",
		Fees: receipt.FeeTerms{Currency: "CNY"}}))
	require.NoError(t, d.Submit(ctx, []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: "PL-LIVE", Receipt: "WR-LIVE", Version: 1,
		Bank: ledger.BankA, Maturity: now + 86400}))
	do(wait(`document.body.innerText.includes('PL-LIVE')`))

	// The regulator freezes it, with a reason.
	signIn(ledger.Regulator)
	page("#/receipt/"+id, "Freeze")
	submit("Freeze", map[string]string{"reason": "inspection ordered"})
	onChain(receipt.StateFrozen)
	page("#/oversight", "Frozen receipts")
	do(wait(`document.body.innerText.includes('inspection ordered')`))
	shot("oversight")

	// The warehouse: a refused over-issue shows its rule.
	signIn(ledger.Operator)
	page("#/warehouse", "Issue a receipt")
	shot("warehouse")
	submit("Issue", map[string]string{"quantity": "999999999", "description": "too much"})
	msg := flashText()
	assert.Contains(t, msg, "Refused:")
	assert.Contains(t, msg, "(rule ")

	// Delivery versus payment, step by step: the seller offers, the buyer
	// accepts naming its bank, the bank holds the funds, the seller settles.
	require.NoError(t, d.Submit(ctx, []string{ledger.Operator}, &warehouse.IssueReceipt{ID: "WR-DVP", Lot: r.Lot, Depositor: ledger.TraderA,
		Negotiable: true, Quantity: 5, Description: "copper cathode", PlaceOfIssue: "Qingdao", StorageUntil: now + 300*86400,
		ValidUntil: now + 200*86400, StorageAgreementDate: now - 86400, StorageTermsRef: "ST-1", ThirdPartyClaims: "none known",
		Fees: receipt.FeeTerms{Currency: "CNY"}}))
	signIn(ledger.TraderA)
	page("#/receipt/WR-DVP", "Offer for sale")
	submit("Offer for sale", map[string]string{"buyer": ledger.TraderB, "price": "1234.56", "currency": "USD", "days": "2"})
	assert.Contains(t, flashText(), "committed")
	signIn(ledger.TraderB)
	page("#/trading", "Offers to you")
	assert.Contains(t, text(), "$1,234.56", "money in its currency")
	shot("trading")
	var offer string
	{
		c, cancel := context.WithTimeout(bctx, 10*time.Second)
		offer, err = chromedp.Run(c, chromedp.Evaluate[string](`document.querySelector("form[aria-label^='Accept ']").getAttribute('aria-label').slice(7)`))
		cancel()
		require.NoError(t, err)
	}
	submit("Accept "+offer, map[string]string{"bank": ledger.BankB})
	assert.Contains(t, flashText(), "committed")
	signIn(ledger.BankB)
	page("#/bank", "Trades awaiting your funds")
	submit("Fund "+offer, map[string]string{"ref": "ESC-CONSOLE"})
	assert.Contains(t, flashText(), "committed")
	signIn(ledger.TraderA)
	page("#/trading", "Funded: settle")
	do(chromedp.Click(chromedp.Search("//button[starts-with(text(),'Settle')]")), wait(`document.getElementById('flash').innerText.includes('committed')`))
	dvp, err := d.Receipt(ctx, "WR-DVP")
	require.NoError(t, err)
	assert.Equal(t, ledger.TraderB, dvp.Holder, "on chain: the receipt moved to the buyer")

	// Merging two receipts of one lot.
	for _, m := range []string{"WR-M1", "WR-M2"} {
		require.NoError(t, d.Submit(ctx, []string{ledger.Operator}, &warehouse.IssueReceipt{ID: m, Lot: r.Lot, Depositor: ledger.TraderA,
			Negotiable: true, Quantity: 4, Description: "copper cathode", PlaceOfIssue: "Qingdao", StorageUntil: now + 300*86400,
			ValidUntil: now + 200*86400, StorageAgreementDate: now - 86400, StorageTermsRef: "ST-1", ThirdPartyClaims: "none known",
			Fees: receipt.FeeTerms{Currency: "CNY"}}))
	}
	page("#/receipts", "Merge two receipts")
	submit("Merge", map[string]string{"a": "WR-M1", "b": "WR-M2"})
	assert.Contains(t, flashText(), "committed")
	m1, err := d.Receipt(ctx, "WR-M1")
	require.NoError(t, err)
	assert.Equal(t, receipt.StateSuperseded, m1.State, "on chain: merged away")

	// Another bank: no trace of the receipt.
	signIn(other)
	page("#/receipts", "receipts")
	assert.NotContains(t, text(), id)
	page("#/receipt/"+id, "not found")
	assert.Contains(t, text(), "Refused: receipt: not found")

	// What the chain holds agrees with what the pages showed.
	st, _ := sys.App().State()
	rec, ok := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(id))
	require.True(t, ok)
	assert.Equal(t, receipt.StateFrozen, rec.State)
	assert.True(t, strings.HasPrefix(rec.Pledge, "PL"), rec.Pledge)
	_, ok = ledger.Get[warehouse.Lot](st, warehouse.LotKey(rec.Lot))
	assert.True(t, ok)
}

// TestConsoleShowsATheftLive: the warehouse weighs trucks in and registers
// the lot from the console, its collateral manager co-signs from the inbox;
// then the bank's and the regulator's pages are open when goods leave the
// supervised bay: the breach the supervisor proves on chain appears on
// both, without a reload.
func TestConsoleShowsATheftLive(t *testing.T) {
	if testing.Short() {
		t.Skip("a localnet, the simulated warehouse and a browser")
	}
	sys := apitest.Start(t, apitest.Options{Validators: 1, IoT: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bctx, stop, err := browser.Start(context.Background(), t.TempDir())
	require.NoError(t, err)
	defer stop()
	open := func(who, hash, marker string) context.Context {
		t.Helper()
		tab, _ := chromedp.NewContext(bctx)  // a tab of its own: its own session
		require.NoError(t, chromedp.Do(tab)) // the tab lives as long as this first call's context
		c, cancel := context.WithTimeout(tab, 45*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(c, chromedp.Navigate(sys.URL+"/"+hash),
			chromedp.Poll[chromedp.Void](`document.querySelector('input[name=token]') !== null`, chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.SendKeys(chromedp.CSS("input[name=token]"), sys.Tokens[who]), chromedp.Click(chromedp.CSS("form[aria-label='Sign in'] button")),
			chromedp.Poll[chromedp.Void](`document.getElementById('who').innerText.includes(`+jsString(who)+`)`, chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString(hash)),
			chromedp.Poll[chromedp.Void](`document.body.innerText.includes(`+jsString(marker)+`)`, chromedp.WithPollingTimeout(30*time.Second))))
		return tab
	}
	// The warehouse weighs two trucks in on a free bay and registers the
	// lot; its collateral manager co-signs from the inbox.
	bay := ledger.DemoBays[2]
	wo := open(ledger.Operator, "#/warehouse", "Weigh in and register a lot")
	run := func(tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(tab, 45*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(c, steps...))
	}
	run(wo, chromedp.SetValue(chromedp.CSS("form[aria-label='Weigh in'] [name=bay]"), bay),
		chromedp.SetValue(chromedp.CSS("form[aria-label='Weigh in'] [name=nets]"), "20040, 20030"),
		chromedp.Click(chromedp.CSS("form[aria-label='Weigh in'] button")),
		chromedp.Poll[chromedp.Void](`document.getElementById('flash').innerText.includes('co-sign')`, chromedp.WithPollingTimeout(30*time.Second)))
	cm := open(ledger.Inspector, "#/", "Awaiting your signature")
	run(cm, chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('button')].some((b) => b.textContent === 'Approve')`, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Click(chromedp.Search("//button[text()='Approve']")),
		chromedp.Poll[chromedp.Void](`document.getElementById('flash').innerText.includes('committed')`, chromedp.WithPollingTimeout(30*time.Second)))
	st0, _ := sys.App().State()
	b, ok := ledger.Get[warehouse.Bay](st0, warehouse.BayKey(ledger.Warehouse1, bay))
	require.True(t, ok)
	require.NotEmpty(t, b.LockedBy, "on chain: the lot is locked in bay %s", bay)
	lot := b.LockedBy
	// The bay's scale, live, against the new lot's lock band.
	run(wo, chromedp.Evaluate[chromedp.Void](`location.hash = '#/'`), chromedp.Evaluate[chromedp.Void](`location.hash = '#/warehouse'`),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('figure')].some((f) => f.innerText.includes(`+jsString(lot)+`) && f.querySelectorAll('circle').length > 0)`,
			chromedp.WithPollingTimeout(40*time.Second)))
	now := time.Now().Unix()
	for _, s := range []struct {
		signers []string
		op      receipt.Op
	}{
		{[]string{ledger.Operator}, &warehouse.IssueReceipt{ID: "WR-LIVE", Lot: lot, Depositor: ledger.TraderA, Negotiable: true,
			Quantity: 40_000, Description: "copper cathode", PlaceOfIssue: "Qingdao", StorageUntil: now + 300*86400, ValidUntil: now + 200*86400,
			StorageAgreementDate: now - 86400, StorageTermsRef: "ST-1", ThirdPartyClaims: "none known", Fees: receipt.FeeTerms{Currency: "CNY"}}},
		{[]string{ledger.TraderA}, &receipt.RequestPledge{Pledge: "PL-LIVE", Receipt: "WR-LIVE", Version: 1, Bank: ledger.BankA, Maturity: now + 90*86400}},
		{[]string{ledger.BankA}, &receipt.ConfirmPledge{Pledge: "PL-LIVE", ReceiptVersion: 2}},
	} {
		_, _, err := sys.Direct.Submit(ctx, s.signers, s.op)
		require.NoError(t, err, "%T", s.op)
	}

	bank := open(ledger.BankA, "#/bank", "Pledge requests")
	reg := open(ledger.Regulator, "#/oversight", "Open alerts")
	for _, tab := range []context.Context{bank, reg} {
		c, cancel := context.WithTimeout(tab, 10*time.Second)
		s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.body.innerText`))
		cancel()
		require.NoError(t, err)
		require.NotContains(t, s, "WR-LIVE", "no alert before the theft")
	}

	var fr api.FaultResult
	require.NoError(t, sys.Client(ledger.Admin1).Post(ctx, "/v1/simulator/faults", api.FaultRequest{Kind: api.FaultTheft, Warehouse: ledger.Warehouse1, Bay: bay}, &fr))
	for name, tab := range map[string]context.Context{"bank": bank, "regulator": reg} {
		c, cancel := context.WithTimeout(tab, 90*time.Second)
		err := chromedp.Do(c, chromedp.Poll[chromedp.Void](`document.body.innerText.includes('WR-LIVE') && document.body.innerText.includes(`+jsString(lot)+`)`+
			` && [...document.querySelectorAll('main section h2')].some((h) => /alert/i.test(h.textContent))`, chromedp.WithPollingTimeout(85*time.Second)))
		cancel()
		require.NoError(t, err, "the %s's page shows the theft's alert and the frozen receipt", name)
	}
	st, _ := sys.App().State()
	r, ok := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey("WR-LIVE"))
	require.True(t, ok)
	assert.Equal(t, receipt.StateFrozen, r.State, "on chain")
}
