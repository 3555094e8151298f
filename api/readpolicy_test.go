package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/financing"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators/demo"
	"github.com/ewrchain/ewr/trading"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pathKeys names, for each GET route with a record id in its path, the
// state key the read policy judges (the test fails on a route with an id
// it does not know).
var pathKeys = map[string]func(id string) string{
	"/v1/lots/{id}": warehouse.LotKey, "/v1/lots/{id}/proof": warehouse.LotKey,
	"/v1/receipts/{id}": receipt.ReceiptKey, "/v1/receipts/{id}/lineage": receipt.ReceiptKey,
	"/v1/receipts/{id}/proof": receipt.ReceiptKey, "/v1/receipts/{id}/position-proof": receipt.ReceiptKey,
	"/v1/pledges/{id}": receipt.PledgeKey, "/v1/release-orders/{id}": warehouse.ReleaseOrderKey,
	"/v1/simulator/load-outs/{id}": warehouse.ReleaseOrderKey, "/v1/loans/{id}": financing.LoanKey,
	"/v1/offers/{id}": trading.OfferKey, "/v1/trades/{id}": trading.TradeKey, "/v1/settlements/{id}": trading.SettlementKey,
	"/v1/alerts/{id}": iot.AlertKey,
}

// itemKey is the state key of a list item (its snake JSON), for lists of
// records the read policy judges; "" for public ones.
func itemKey(path string, item map[string]any) string {
	id, _ := item["id"].(string)
	switch {
	case strings.HasSuffix(path, "/lots"):
		return warehouse.LotKey(id)
	case strings.HasSuffix(path, "/receipts") || path == "/v1/receipts":
		return receipt.ReceiptKey(id)
	case strings.HasSuffix(path, "/pledges"):
		return receipt.PledgeKey(id)
	case strings.HasSuffix(path, "/release-orders"):
		return warehouse.ReleaseOrderKey(id)
	case path == "/v1/loans" || path == "/v1/margin-calls":
		return financing.LoanKey(id)
	case path == "/v1/offers":
		return trading.OfferKey(id)
	case path == "/v1/trades":
		return trading.TradeKey(id)
	case path == "/v1/alerts":
		return iot.AlertKey(id)
	case path == "/v1/credit-policies":
		return financing.PolicyKey(item["bank"].(string), item["commodity"].(string))
	}
	return ""
}

// testReadPolicy is the matrix: every GET route and the stream, for every
// participant of the demo consortium, against the demo story's records.
// What each cell must show comes from the read policy (api.MayRead,
// api.MayReadEvent): a record one may not read answers exactly as a
// missing one, a list holds only what one may read, the stream only the
// events one may see. A GET route with no policy fails the test. Then the
// second bank tries every route and the stream for the first bank's terms.
func testReadPolicy(t *testing.T, sys *apitest.System, c *caller, story *demo.Result) {
	st, _ := sys.App().State()
	ids := map[string][]string{} // state key prefix → ids of records (a few of each)
	for _, p := range []string{receipt.PrefixReceipt, receipt.PrefixPledge, warehouse.PrefixLot, warehouse.PrefixReleaseOrder,
		financing.PrefixLoan, trading.PrefixOffer, trading.PrefixTrade, trading.PrefixSettlement, iot.PrefixAlert} {
		visit := func(key string, _ []byte) bool { ids[p] = append(ids[p], strings.TrimPrefix(key, p)); return true }
		switch r := st.(type) {
		case ledger.Lister:
			r.List(p, "", visit)
		case ledger.Ranger:
			r.Range(p, func(key string, v []byte) { visit(key, v) })
		default:
			t.Fatalf("state %T lists nothing", st)
		}
		sort.Strings(ids[p])
	}
	require.NotEmpty(t, ids[financing.PrefixLoan], "the story made loans")
	var roles []string
	for id := range sys.World.Actors {
		roles = append(roles, id)
	}
	sort.Strings(roles)
	type answer struct {
		status  int
		body    []byte
		problem string
	}
	get := func(who, path string) answer {
		t.Helper()
		req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, sys.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+sys.Tokens[who])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		a := answer{status: resp.StatusCode, body: b}
		if a.status >= 400 {
			var p struct{ Type string }
			_ = json.Unmarshal(b, &p)
			a.problem = strings.TrimPrefix(p.Type, api.ProblemBase)
		}
		return a
	}
	// bodies bank-b was sent, to look for bank-a's terms in.
	var bankBSaw []string
	seen := func(who string, a answer) {
		if who == ledger.BankB {
			bankBSaw = append(bankBSaw, string(a.body))
		}
	}

	// The policy itself, on the story's records (the matrix below checks
	// that every route answers by it).
	loan, ok := ledger.Get[financing.Loan](st, financing.LoanKey(story.Loan))
	require.True(t, ok)
	held, ok := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(story.PartB))
	require.True(t, ok)
	wh, ok := ledger.Get[warehouse.Warehouse](st, warehouse.WarehouseKey(held.Warehouse))
	require.True(t, ok)
	for _, f := range []struct {
		who, key string
		want     bool
	}{
		{loan.Bank, financing.LoanKey(loan.ID), true}, {loan.Borrower, financing.LoanKey(loan.ID), true},
		{ledger.BankB, financing.LoanKey(loan.ID), false}, {wh.Operator, financing.LoanKey(loan.ID), false},
		{ledger.Regulator, financing.LoanKey(loan.ID), true}, {ledger.Admin1, financing.LoanKey(loan.ID), true},
		{ledger.BankB, financing.PolicyKey(ledger.BankA, "copper cathode"), false},
		{ledger.BankA, financing.PolicyKey(ledger.BankA, "copper cathode"), true},
		{held.Holder, receipt.ReceiptKey(held.ID), true}, {wh.Operator, receipt.ReceiptKey(held.ID), true},
		{wh.CollateralManager, receipt.ReceiptKey(held.ID), true}, {ledger.BankB, receipt.ReceiptKey(held.ID), false},
		{ledger.Oracle, receipt.ReceiptKey(held.ID), false}, {ledger.Operator2, receipt.ReceiptKey(held.ID), false},
		{held.Holder, warehouse.LotKey(held.Lot), true}, {ledger.Oracle, warehouse.LotKey(held.Lot), false},
		{ledger.BankB, receipt.ParticipantKey(ledger.BankA), true}, {ledger.Oracle, warehouse.WarehouseKey(held.Warehouse), true},
	} {
		assert.Equal(t, f.want, api.MayRead(st, f.who, f.key), "may %s read %s?", f.who, f.key)
	}
	other := ledger.TraderA
	if held.Holder == other {
		other = ledger.TraderB
	}
	assert.False(t, api.MayRead(st, other, receipt.ReceiptKey(held.ID)) && held.Transfer == nil && held.Depositor != other,
		"%s, who neither holds nor deposited %s, reads it", other, held.ID)

	routes := api.Routes()
	checked := 0
	for _, r := range routes {
		if r.Method != http.MethodGet {
			continue
		}
		require.NotEmpty(t, r.Read, "GET %s has no read policy", r.Path)
		switch r.Read {
		case api.VisPublic:
			if r.Path == "/verify" || r.Path == "/metrics" || strings.Contains(r.Path, "{") {
				continue // the page and the metrics need no token; public records by id are the directory
			}
			for _, who := range roles {
				a := get(who, r.Path)
				assert.Equal(t, http.StatusOK, a.status, "%s GET %s: %s", who, r.Path, a.body)
				seen(who, a)
			}
			checked++
		case api.VisParty:
			if strings.Contains(r.Path, "{bay}") { // a bay's readings: the parties of the lot locked in it
				n := 0
				for _, whID := range []string{ledger.Warehouse1, ledger.Warehouse2} {
					for _, bayID := range ledger.DemoBays {
						b, ok := ledger.Get[warehouse.Bay](st, warehouse.BayKey(whID, bayID))
						if !ok || b.LockedBy == "" {
							continue
						}
						n++
						path := strings.NewReplacer("{id}", whID, "{bay}", bayID).Replace(r.Path)
						for _, who := range roles {
							a := get(who, path)
							seen(who, a)
							if api.MayRead(st, who, warehouse.LotKey(b.LockedBy)) {
								assert.Equal(t, http.StatusOK, a.status, "%s GET %s: %s", who, path, a.body)
							} else {
								assert.Equal(t, http.StatusNotFound, a.status, "%s GET %s: %s", who, path, a.body)
							}
						}
					}
				}
				require.Positive(t, n, "the story locked lots in bays")
				checked++
				continue
			}
			keyOf, ok := pathKeys[r.Path]
			require.True(t, ok, "GET %s: the test does not know its record", r.Path)
			prefix := keyOf("")
			some := ids[prefix]
			if len(some) > 6 {
				some = some[len(some)-6:]
			}
			require.NotEmpty(t, some, "GET %s: the story made no %s records", r.Path, prefix)
			ghost := strings.Replace(r.Path, "{id}", "NO-SUCH-RECORD", 1)
			missingAns := get(ledger.Regulator, ghost)
			require.Equal(t, http.StatusNotFound, missingAns.status, "GET %s", ghost)
			for _, id := range some {
				path := strings.Replace(r.Path, "{id}", id, 1)
				for _, who := range roles {
					a := get(who, path)
					seen(who, a)
					if api.MayRead(st, who, keyOf(id)) {
						ok := a.status == http.StatusOK ||
							(r.Path == "/v1/simulator/load-outs/{id}" && a.problem == api.PNotFound.Name) // no load-out simulated
						assert.True(t, ok, "%s may read %s: GET %s answered %d %s", who, keyOf(id), path, a.status, a.body)
					} else {
						assert.Equal(t, http.StatusNotFound, a.status, "%s may not read %s: GET %s answered %s", who, keyOf(id), path, a.body)
						assert.Equal(t, missingAns.problem, a.problem, "%s GET %s: hidden answers as missing", who, path)
					}
				}
			}
			checked++
		case api.VisFiltered:
			if r.Path == "/v1/events/stream" {
				continue // below
			}
			paths := []string{r.Path}
			switch {
			case strings.Contains(r.Path, "/warehouses/{id}"):
				paths = []string{strings.Replace(r.Path, "{id}", ledger.Warehouse1, 1), strings.Replace(r.Path, "{id}", ledger.Warehouse2, 1)}
			case strings.Contains(r.Path, "/lots/{id}"):
				paths = nil
				for _, id := range ids[warehouse.PrefixLot] {
					paths = append(paths, strings.Replace(r.Path, "{id}", id, 1))
				}
			case strings.Contains(r.Path, "/receipts/{id}"):
				paths = nil
				for _, id := range ids[receipt.PrefixReceipt][max(0, len(ids[receipt.PrefixReceipt])-6):] {
					paths = append(paths, strings.Replace(r.Path, "{id}", id, 1))
				}
			case r.Path == "/v1/loans" || r.Path == "/v1/pledges" || r.Path == "/v1/credit-policies" || r.Path == "/v1/margin-calls":
				paths = append(paths, r.Path+"?bank="+ledger.BankA, r.Path+"?bank="+ledger.BankB)
			case r.Path == "/v1/receipts":
				paths = append(paths, r.Path+"?holder="+ledger.TraderA, r.Path+"?holder="+ledger.TraderB)
			case r.Path == "/v1/offers" || r.Path == "/v1/trades":
				paths = append(paths, r.Path+"?seller="+ledger.TraderA, r.Path+"?party="+ledger.TraderB)
			}
			require.NotContains(t, strings.Join(paths, ","), "{", "GET %s: the test fills no path", r.Path)
			for _, path := range paths {
				for _, who := range roles {
					a := get(who, path)
					seen(who, a)
					require.Equal(t, http.StatusOK, a.status, "%s GET %s: %s", who, path, a.body)
					var l struct{ Items []map[string]any }
					require.NoError(t, json.Unmarshal(a.body, &l), "%s GET %s", who, path)
					for _, it := range l.Items {
						if refs, ok := it["refs"]; ok { // events
							var rv []api.RefView
							b, _ := json.Marshal(refs)
							require.NoError(t, json.Unmarshal(b, &rv))
							assert.True(t, api.MayReadEvent(st, who, rv), "%s GET %s: an event it may not see: %v", who, path, it)
							continue
						}
						if k := itemKey(r.Path, it); k != "" {
							assert.True(t, api.MayRead(st, who, k), "%s GET %s: %s, which it may not read", who, path, k)
						}
					}
				}
			}
			checked++
		case api.VisRedacted:
			paths := []string{r.Path}
			switch r.Path {
			case "/v1/blocks/{height}":
				paths = nil
				for h := int64(1); h <= sys.App().Height(); h += 7 {
					paths = append(paths, "/v1/blocks/"+strconv.FormatInt(h, 10))
				}
			case "/v1/txs/{hash}":
				paths = nil
				var l struct {
					Items []api.BlockView
					Next  string
				}
				require.NoError(t, c.as(ledger.Regulator).Get(c.ctx, "/v1/blocks?limit=50", &l))
				for _, b := range l.Items {
					for _, tx := range b.Txs {
						paths = append(paths, "/v1/txs/"+tx.Hash)
					}
				}
			}
			require.NotEmpty(t, paths)
			for _, path := range paths {
				for _, who := range roles {
					a := get(who, path)
					seen(who, a)
					require.Equal(t, http.StatusOK, a.status, "%s GET %s: %s", who, path, a.body)
					var txs []api.TxView
					var one api.BlockView
					var list struct{ Items []api.BlockView }
					var tx api.TxView
					switch {
					case r.Path == "/v1/blocks":
						require.NoError(t, json.Unmarshal(a.body, &list))
						for _, b := range list.Items {
							txs = append(txs, b.Txs...)
						}
					case r.Path == "/v1/txs/{hash}":
						require.NoError(t, json.Unmarshal(a.body, &tx))
						txs = []api.TxView{tx}
					default:
						require.NoError(t, json.Unmarshal(a.body, &one))
						txs = one.Txs
					}
					for _, tx := range txs {
						if isEverything(sys, who) {
							continue
						}
						for _, e := range tx.Events {
							assert.True(t, api.MayReadEvent(st, who, e.Refs), "%s GET %s: tx %s shows event %s", who, path, tx.Hash, e.Type)
						}
						for _, k := range tx.Writes {
							assert.True(t, api.MayRead(st, who, k), "%s GET %s: tx %s shows write %s", who, path, tx.Hash, k)
						}
						if !slices.Contains(tx.Signers, who) {
							assert.Empty(t, tx.Log, "%s GET %s: another's rejection log", who, path)
						}
					}
				}
			}
			checked++
		case api.VisBank:
			for _, id := range ids[receipt.PrefixReceipt][max(0, len(ids[receipt.PrefixReceipt])-6):] {
				path := "/v1/receipts/" + id + "/precheck?currency=USD"
				for _, who := range roles {
					a := get(who, path)
					seen(who, a)
					allowed := isEverything(sys, who) || api.MayRead(st, who, receipt.ReceiptKey(id)) || hasRole(sys, who, receipt.RoleBank)
					if allowed {
						assert.Equal(t, http.StatusOK, a.status, "%s GET %s: %s", who, path, a.body)
					} else {
						assert.Equal(t, http.StatusNotFound, a.status, "%s GET %s: %s", who, path, a.body)
					}
				}
				// As another bank: that bank's policy is its own.
				a := get(ledger.BankB, path+"&bank="+ledger.BankA)
				assert.Equal(t, http.StatusNotFound, a.status, "bank-b prechecking as bank-a: %s", a.body)
			}
			checked++
		case api.VisSelf:
			switch r.Path {
			case "/v1/status", "/v1/me", "/v1/drafts":
				for _, who := range roles {
					a := get(who, r.Path)
					seen(who, a)
					require.Equal(t, http.StatusOK, a.status, "%s GET %s: %s", who, r.Path, a.body)
					if r.Path == "/v1/drafts" {
						var l struct{ Items []api.DraftView }
						require.NoError(t, json.Unmarshal(a.body, &l))
						for _, d := range l.Items {
							assert.Contains(t, d.Signers, who, "%s sees a draft it does not sign", who)
						}
					}
				}
			case "/v1/banks/{id}/exposure":
				for _, who := range roles {
					for _, bank := range []string{ledger.BankA, ledger.BankB} {
						a := get(who, "/v1/banks/"+bank+"/exposure")
						seen(who, a)
						if who == bank || isEverything(sys, who) {
							assert.Equal(t, http.StatusOK, a.status, "%s exposure of %s", who, bank)
						} else {
							assert.Equal(t, http.StatusNotFound, a.status, "%s exposure of %s: %s", who, bank, a.body)
						}
					}
				}
			case "/v1/drafts/{id}":
				continue // drafts are their signers' (TestDrafts)
			default:
				t.Errorf("GET %s: a self route the test does not know", r.Path)
			}
			checked++
		default:
			t.Errorf("GET %s: visibility %q the test does not know", r.Path, r.Read)
		}
	}
	assert.Greater(t, checked, 30, "routes checked")

	// The stream: each participant gets only the events it may see.
	for _, who := range roles {
		s := openStream(t, sys, who, "from_height=1", "")
		time.Sleep(300 * time.Millisecond)
		s.close()
		for _, e := range s.got() {
			assert.True(t, api.MayReadEvent(st, who, e.Refs), "%s's stream sent %s %s", who, e.Type, e.ID)
			if who == ledger.BankB {
				b, _ := json.Marshal(e)
				bankBSaw = append(bankBSaw, string(b))
			}
		}
		if isEverything(sys, who) {
			assert.NotEmpty(t, s.got(), "%s's stream", who)
		}
	}

	// The second bank learns nothing of the first bank's loans and
	// policies: not their ids, not the records, through any route or the
	// stream (it has loans and a policy of its own, with the same figures).
	secrets := []string{`"bank":"bank-a","borrower"`, `"bank":"bank-a","commodity"`}
	for _, id := range ids[financing.PrefixLoan] {
		l, ok := ledger.Get[financing.Loan](st, financing.LoanKey(id))
		require.True(t, ok)
		if l.Bank == ledger.BankA {
			secrets = append(secrets, `"`+l.ID+`"`)
		}
	}
	require.Greater(t, len(secrets), 2, "bank-a has loans")
	require.NotEmpty(t, bankBSaw)
	for _, body := range bankBSaw {
		for _, s := range secrets {
			assert.NotContains(t, body, s, "bank-b was sent bank-a's %s", s)
		}
	}
}

func isEverything(sys *apitest.System, who string) bool {
	return hasRole(sys, who, receipt.RoleRegulator) || hasRole(sys, who, receipt.RoleAdmin)
}

func hasRole(sys *apitest.System, who string, role receipt.Role) bool {
	for _, p := range sys.World.Genesis.Participants {
		if p.ID == who {
			return p.Roles.Has(role)
		}
	}
	return false
}
