package web_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/financing"
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
	shot := func(name string) { t.Helper(); screenshot(t, bctx, name) }
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

// TestDemoStoryInTheConsole clicks the demo story through the console,
// each role in a tab of its own, each step checked on the page and on
// chain: the warehouse weighs trucks in and registers the lot, its
// collateral manager co-signs from the inbox and sees the bay scale live
// against the lock band; the operator issues a receipt; the trader pledges
// it; the bank confirms with the pre-lending checks shown, lends on it (the
// borrower co-signs) and pays out. Goods then leave the supervised bay: the
// breach the supervisor proves on chain appears on the bank's and the
// regulator's open pages without a reload. The collateral manager re-counts
// with the bay scale's signed reading, the regulator co-signs, the receipt
// thaws; the bank checks the receipt's proof in its browser and is repaid,
// which frees the receipt; the trader transfers it, the buyer accepts,
// splits and takes delivery of a part, and the operator confirms the
// load-out with the simulated trucks' tickets.
func TestDemoStoryInTheConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("a localnet, the simulated warehouse and a browser")
	}
	sys := apitest.Start(t, apitest.Options{Validators: 1, IoT: true})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bctx, stop, err := browser.Start(context.Background(), t.TempDir())
	require.NoError(t, err)
	defer stop()
	state := func() receipt.Store { st, _ := sys.App().State(); return st }
	lotOn := func(id string) *warehouse.Lot {
		l, ok := ledger.Get[warehouse.Lot](state(), warehouse.LotKey(id))
		require.True(t, ok, "lot %s on chain", id)
		return l
	}
	rcpt := func(id string) *receipt.Receipt {
		r, ok := ledger.Get[receipt.Receipt](state(), receipt.ReceiptKey(id))
		require.True(t, ok, "receipt %s on chain", id)
		return r
	}
	// chain waits for what the chain must show after a click.
	chain := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			require.True(t, time.Now().Before(deadline), "on chain: %s", what)
			time.Sleep(100 * time.Millisecond)
		}
	}
	poll := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(40*time.Second))
	}
	run := func(tab context.Context, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(tab, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(c, steps...); err != nil {
			c2, cancel2 := context.WithTimeout(tab, 5*time.Second)
			defer cancel2()
			body, _ := chromedp.Run(c2, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%v; the page shows:\n%s", err, body)
		}
	}
	// Each open tab holds one connection for its live event stream, and
	// the browser allows six to a host: the story closes a role's tab when
	// that role is done.
	closeTab := map[context.Context]context.CancelFunc{}
	open := func(who, hash, marker string) context.Context {
		t.Helper()
		tab, cancel := chromedp.NewContext(bctx) // a tab of its own: its own session
		closeTab[tab] = cancel
		require.NoError(t, chromedp.Do(tab)) // the tab lives as long as this first call's context
		run(tab, chromedp.Navigate(sys.URL+"/"+hash), poll(`document.querySelector('input[name=token]') !== null`),
			chromedp.SendKeys(chromedp.CSS("input[name=token]"), sys.Tokens[who]), chromedp.Click(chromedp.CSS("form[aria-label='Sign in'] button")),
			poll(`document.getElementById('who').innerText.includes(`+jsString(who)+`)`),
			chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString(hash)), poll(`document.body.innerText.includes(`+jsString(marker)+`)`))
		return tab
	}
	shot := func(tab context.Context, name string) { t.Helper(); screenshot(t, tab, name) }
	// visit shows a page afresh (drafts reach an open page on the next
	// render, not from the chain's events).
	visit := func(tab context.Context, hash, marker string) {
		t.Helper()
		run(tab, chromedp.Evaluate[chromedp.Void](`document.getElementById('main').dataset.route = ''; location.hash = `+jsString(hash)+`; render()`),
			poll(`document.getElementById('main').dataset.route === `+jsString(hash)+` && document.body.innerText.includes(`+jsString(marker)+`)`))
	}
	// submit fills a form, submits it and waits for what the console says.
	submit := func(tab context.Context, formLabel string, fields map[string]string, want string) {
		t.Helper()
		// Filled and sent in one step, as a person types into the form
		// they see: a live update may redraw the page between two steps.
		vals, err := json.Marshal(fields)
		require.NoError(t, err)
		sel := jsString("form[aria-label='" + formLabel + "']")
		run(tab, poll(`document.querySelector(`+sel+`) !== null`),
			chromedp.Evaluate[chromedp.Void](`(() => { const f = document.querySelector(`+sel+`);
				for (const [k, v] of Object.entries(`+string(vals)+` || {})) { const e = f.querySelector('[name="' + k + '"]'); e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); }
				document.getElementById('flash').replaceChildren(); f.querySelector('button').click(); })()`),
			poll(`document.getElementById('flash').innerText.includes(`+jsString(want)+`)`))
	}
	click := func(tab context.Context, xpath, want string) {
		t.Helper()
		run(tab, poll(`document.evaluate(`+jsString(xpath)+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE).singleNodeValue !== null`),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('flash').replaceChildren();
				document.evaluate(`+jsString(xpath)+`, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE).singleNodeValue.click()`),
			poll(`document.getElementById('flash').innerText.includes(`+jsString(want)+`)`))
	}
	approve := func(tab context.Context, what string) {
		t.Helper()
		visit(tab, "#/", "Awaiting your signature")
		run(tab, poll(`[...document.querySelectorAll('button')].some((b) => b.textContent === 'Approve')`))
		click(tab, "//button[text()='Approve']", "committed")
	}

	// The warehouse weighs two trucks in on a free bay and registers the
	// lot; its collateral manager co-signs from the inbox.
	bay := ledger.DemoBays[2]
	wo := open(ledger.Operator, "#/warehouse", "Weigh in and register a lot")
	submit(wo, "Weigh in", map[string]string{"bay": bay, "nets": "20040, 20030"}, "co-sign")
	cm := open(ledger.Inspector, "#/", "Awaiting your signature")
	approve(cm, "the lot's registration")
	b, ok := ledger.Get[warehouse.Bay](state(), warehouse.BayKey(ledger.Warehouse1, bay))
	require.True(t, ok)
	require.NotEmpty(t, b.LockedBy, "on chain: the lot is locked in bay %s", bay)
	lot := b.LockedBy
	// The bay's scale, live, against the new lot's lock band.
	visit(cm, "#/warehouse", "The bay scales against their lock bands")
	run(cm, chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('figure')].some((f) => f.innerText.includes(`+jsString(lot)+`) && f.querySelectorAll('circle').length > 0)`,
		chromedp.WithPollingTimeout(40*time.Second)))

	// The operator issues a receipt on the lot to the trader.
	visit(wo, "#/warehouse", "Issue a receipt")
	submit(wo, "Issue", map[string]string{"lot": lot, "depositor": ledger.TraderA, "quantity": "30000", "description": "copper cathode, 15 bundles"}, "committed")
	chain("a receipt on the lot", func() bool { return len(lotOn(lot).Live) == 1 })
	id := lotOn(lot).Live[0]
	assert.Equal(t, ledger.TraderA, rcpt(id).Holder)

	// The trader pledges it; the bank sees the request with its checks and
	// confirms it, lends on it, the borrower co-signs, the bank pays out.
	tr := open(ledger.TraderA, "#/receipt/"+id, "The goods")
	submit(tr, "Pledge", map[string]string{"bank": ledger.BankA, "days": "90"}, "committed")
	chain("pledge requested", func() bool { return rcpt(id).State == receipt.StatePledgePending })
	bank := open(ledger.BankA, "#/bank", "Pledge requests")
	run(bank, poll(`document.body.innerText.includes('`+id+`') && document.body.innerText.includes('receipt live')`))
	click(bank, "//button[text()='Confirm']", "committed")
	chain("pledged", func() bool { return rcpt(id).State == receipt.StatePledged })
	pl := rcpt(id).Pledge
	// Lending needs the bank's credit policy for the commodity, set here,
	// and a posted price, the oracle's (a feed outside the console).
	visit(bank, "#/bank", "Set a credit policy")
	run(bank, poll(`document.body.innerText.includes('No credit policy yet')`))
	submit(bank, "Set a credit policy", map[string]string{"haircut": "15", "initial": "70", "maint": "80"}, "committed")
	pol, ok := ledger.Get[financing.CreditPolicy](state(), financing.PolicyKey(ledger.BankA, "copper cathode"))
	require.True(t, ok, "on chain: the policy")
	assert.Equal(t, uint32(1500), pol.HaircutBps)
	var res apiclient.Result
	require.NoError(t, sys.Client(ledger.Oracle).Post(ctx, "/v1/prices", financing.PostPrice{Commodity: "copper cathode", Currency: "USD", MinorPerTonne: 900_000}, &res))
	visit(bank, "#/bank", "Posted prices")
	run(bank, poll(`document.body.innerText.includes('$9,000.00')`))
	submit(bank, "Lend on "+pl, map[string]string{"principal": "50000", "currency": "USD"}, "co-sign")
	approve(tr, "the loan")
	p, ok := ledger.Get[receipt.Pledge](state(), receipt.PledgeKey(pl))
	require.True(t, ok)
	require.NotEmpty(t, p.Loan, "on chain: the pledge secures a loan")
	loan := p.Loan
	visit(bank, "#/bank", "Disburse "+loan)
	submit(bank, "Disburse "+loan, map[string]string{"ref": "PAY-1"}, "committed")
	chain("disbursed", func() bool {
		l, _ := ledger.Get[financing.Loan](state(), financing.LoanKey(loan))
		return l.Disbursed == 5_000_000
	})
	run(bank, poll(`document.body.innerText.includes('$50,000.00') && !document.querySelector(`+jsString("form[aria-label='Disburse "+loan+"']")+`)`))
	shot(bank, "bank-lending")

	// Goods leave the bay; the bank's and the regulator's open pages show
	// the breach and the frozen receipt without a reload.
	reg := open(ledger.Regulator, "#/oversight", "Open alerts")
	for _, tab := range []context.Context{bank, reg} {
		c, cancel := context.WithTimeout(tab, 10*time.Second)
		s, err := chromedp.Run(c, chromedp.Evaluate[string](`document.body.innerText`))
		cancel()
		require.NoError(t, err)
		require.NotContains(t, s, lot+" at", "no alert before the theft")
	}
	var fr api.FaultResult
	require.NoError(t, sys.Client(ledger.Admin1).Post(ctx, "/v1/simulator/faults", api.FaultRequest{Kind: api.FaultTheft, Warehouse: ledger.Warehouse1, Bay: bay, Quantity: 4_000}, &fr))
	for name, tab := range map[string]context.Context{"bank": bank, "regulator": reg} {
		c, cancel := context.WithTimeout(tab, 90*time.Second)
		err := chromedp.Do(c, chromedp.Poll[chromedp.Void](`document.body.innerText.includes(`+jsString(id)+`) && document.body.innerText.includes(`+jsString(lot)+`)`+
			` && [...document.querySelectorAll('main section h2')].some((h) => /alert/i.test(h.textContent))`, chromedp.WithPollingTimeout(85*time.Second)))
		cancel()
		require.NoError(t, err, "the %s's page shows the theft's alert and the frozen receipt", name)
	}
	assert.Equal(t, receipt.StateFrozen, rcpt(id).State, "on chain")

	// The collateral manager re-counts with the bay scale's signed reading;
	// the regulator co-signs; the receipt is pledged again.
	// The breach used the scale's latest reading: the re-count waits for
	// the scale's next report, which the page offers once it has it.
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(time.Second) {
		visit(cm, "#/warehouse", "Re-count a lot in alarm")
		c, cancel := context.WithTimeout(cm, 10*time.Second)
		body, err := chromedp.Run(c, chromedp.Evaluate[string](`document.body.innerText`))
		cancel()
		require.NoError(t, err)
		if strings.Contains(body, "The bay scale last read") {
			break
		}
		require.Contains(t, body, "a re-count waits for its next report")
		require.True(t, time.Now().Before(deadline), "no fresh stable reading from the bay scale:\n%s", body)
	}
	shot(cm, "warehouse-recount")
	submit(cm, "Re-count "+lot, map[string]string{"note": "two bundles gone from the stack; police called"}, "co-sign")
	approve(reg, "the re-count")
	chain("the lot healthy again", func() bool { return lotOn(lot).Health == warehouse.HealthOK })
	closeTab[cm]()
	closeTab[reg]()
	assert.Equal(t, receipt.StatePledged, rcpt(id).State, "on chain: thawed, still pledged")
	assert.InDelta(t, 40_070-4_000, float64(lotOn(lot).LockedQty), 200, "on chain: the lock follows the count")

	// The bank checks the receipt's proof in its browser, against the
	// genesis it pinned, then is repaid in full: the receipt is free.
	genesis, err := os.ReadFile(sys.Genesis)
	require.NoError(t, err)
	visit(bank, "#/receipt/"+id, "Verify its proof here")
	run(bank, chromedp.Evaluate[chromedp.Void](`localStorage.setItem('ewr.verify.genesis', `+jsString(string(genesis))+`)`),
		// Clicked in one step: a live update may redraw the page between
		// finding a button and clicking it.
		chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('button')].find((b) => b.textContent === 'Verify its proof here').click()`),
		chromedp.Poll[chromedp.Void](`document.getElementById('verdict').innerText.startsWith('✓ Verified')`, chromedp.WithPollingTimeout(50*time.Second)))
	shot(bank, "proof-check")
	visit(bank, "#/bank", "Repay "+loan)
	submit(bank, "Repay "+loan, map[string]string{"ref": "REPAID-1"}, "committed")
	chain("repaid, the pledge released", func() bool { return rcpt(id).State == receipt.StateIssued })

	// The trader transfers it; the buyer accepts, splits, and takes
	// delivery of a part; the operator confirms the load-out.
	visit(tr, "#/receipt/"+id, "Transfer")
	submit(tr, "Transfer", map[string]string{"to": ledger.TraderB}, "committed")
	buyer := open(ledger.TraderB, "#/receipt/"+id, "Accept the transfer")
	submit(buyer, "Accept the transfer", nil, "committed")
	chain("the buyer holds it", func() bool { return rcpt(id).Holder == ledger.TraderB })
	visit(buyer, "#/receipt/"+id, "Split")
	submit(buyer, "Split", map[string]string{"a": "10000"}, "committed")
	part := id + "-1"
	chain("split", func() bool { return rcpt(id).State == receipt.StateSuperseded })
	assert.Equal(t, uint64(10_000), rcpt(part).Quantity)
	visit(buyer, "#/receipt/"+part, "Deliver")
	submit(buyer, "Deliver", map[string]string{"q": "10000"}, "committed")
	chain("a release order", func() bool { return rcpt(part).ReleaseOrder != "" })
	ro := rcpt(part).ReleaseOrder
	visit(wo, "#/warehouse", ro)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		click(wo, "//tr[td[text()='"+ro+"']]//button[text()='Confirm load-out']", ro)
		c, cancel := context.WithTimeout(wo, 10*time.Second)
		msg, err := chromedp.Run(c, chromedp.Evaluate[string](`document.getElementById('flash').innerText`))
		cancel()
		require.NoError(t, err)
		if strings.Contains(msg, "committed") {
			break
		}
		require.Contains(t, msg, "still loading", "the console says why it cannot confirm yet")
		require.True(t, time.Now().Before(deadline), "the simulated load-out of %s never finished", ro)
		time.Sleep(2 * time.Second)
	}
	chain("delivered", func() bool { return rcpt(part).State == receipt.StateCancelled })
	visit(buyer, "#/receipt/"+part, "History")
	run(buyer, poll(`document.body.innerText.includes('delivery: confirmed') && document.body.innerText.includes('quantity 10,000 kg')`))
	shot(buyer, "receipt-delivered")
}

// screenshot writes a PNG of the tab's whole page to $EWR_SCREENSHOTS
// (make screenshots) as name.png; without it, nothing.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("EWR_SCREENSHOTS")
	if dir == "" {
		return
	}
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}
