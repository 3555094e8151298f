package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/indexer/pgcluster/pgtest"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/receipt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsortiumOfOwnKeys: each member makes its participants' keys on its
// own host (ewr keys new); the consortium file carries only their public
// keys; ewr testnet --consortium writes a genesis of those keys and one
// home per member, with no private key; the members start without --demo,
// a member holding a key the chain does not know is refused, and the
// admins' own keys sign a membership change that the observer follows.
func TestConsortiumOfOwnKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("two member stacks")
	}
	tmp := t.TempDir()
	hostOf := map[string]string{} // participant or device → the host dir its key was made in
	pubOf := map[string]string{}
	newKey := func(host string, args ...string) {
		t.Helper()
		var out bytes.Buffer
		old := stdout
		stdout = &out
		defer func() { stdout = old }()
		var stderr bytes.Buffer
		require.Equal(t, 0, run(append([]string{"keys", "new", "--dir", filepath.Join(tmp, host), "--json"}, args...), &stderr), stderr.String())
		var got struct {
			Participant string `json:"participant"`
			Device      string `json:"device"`
			PublicKey   string `json:"public_key"`
		}
		require.NoError(t, json.Unmarshal(out.Bytes(), &got))
		id := got.Participant + got.Device
		hostOf[id], pubOf[id] = host, got.PublicKey
	}
	for _, id := range []string{"admin-1", "admin-2", "wh-op", "wh-cm"} {
		newKey("warehouse-host", "--participant", id)
	}
	newKey("bank-host", "--participant", "bank-x")
	newKey("warehouse-host", "--device", "WB-1", "--warehouse", "WH-1")

	file := filepath.Join(tmp, "consortium.toml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`chain_id = "ewr-own-keys"
admins = ["admin-1", "admin-2"]
threshold = 2

[[participants]]
id = "admin-1"
name = "Consortium admin 1"
roles = ["admin"]
public_key = %q

[[participants]]
id = "admin-2"
name = "Consortium admin 2"
roles = ["admin", "regulator"]
public_key = %q

[[participants]]
id = "wh-op"
name = "Warehouse operator"
roles = ["operator"]
public_key = %q

[[participants]]
id = "wh-cm"
name = "Collateral manager"
roles = ["collateral_manager"]
public_key = %q

[[participants]]
id = "bank-x"
name = "Bank X"
roles = ["bank"]
public_key = %q

[[warehouses]]
id = "WH-1"
name = "Warehouse 1"
location = "Qingdao"
operator = "wh-op"
collateral_manager = "wh-cm"

[[bays]]
warehouse = "WH-1"
id = "B-1"
tare_kg = 1200

[[devices]]
id = "WB-1"
type = "weighbridge"
warehouse = "WH-1"
public_key = %q
calibrated_until = "2030-06-30"

[[members]]
name = "warehouse"
participants = ["admin-1", "admin-2", "wh-op", "wh-cm"]
supervise = [{ warehouse = "WH-1", signer = "wh-cm" }]

[[members]]
name = "bank"
observer = true
participants = ["bank-x"]
`, pubOf["admin-1"], pubOf["admin-2"], pubOf["wh-op"], pubOf["wh-cm"], pubOf["bank-x"], pubOf["WB-1"])), 0o600))

	out := filepath.Join(tmp, "net")
	var stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"testnet", "--consortium", file, "--out", out, "--base-port", "0", "--api-base", "0"}, &stderr), stderr.String())
	homes := []string{filepath.Join(out, "node0"), filepath.Join(out, "node1")}

	// The genesis holds the members' own public keys, and no home holds a
	// private key.
	raw, err := os.ReadFile(filepath.Join(homes[0], "config", "genesis.json"))
	require.NoError(t, err)
	var doc struct {
		ChainID  string          `json:"chain_id"`
		AppState json.RawMessage `json:"app_state"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "ewr-own-keys", doc.ChainID)
	g, err := chainengine.DecodeGenesis(doc.AppState)
	require.NoError(t, err)
	assert.Empty(t, g.DerivedKeys(ledger.DemoSeed))
	require.Len(t, g.Participants, 5)
	for _, p := range g.Participants {
		assert.Equal(t, pubOf[p.ID], fmt.Sprintf("%x", p.PubKey[:]), p.ID)
	}
	require.NoError(t, filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.Contains(filepath.Base(path), ".key.json") {
			t.Errorf("testnet wrote a participant key: %s", path)
		}
		return err
	}))
	for _, h := range homes {
		assert.NoError(t, refuseDemoKeys(h), "ewr node starts it without --demo")
	}

	start := func(k int) (*member.Member, *member.Config, member.Options, error) {
		c, err := member.LoadConfig(homes[k])
		require.NoError(t, err)
		o, _, err := memberOptions(c, false)
		if err != nil {
			return nil, c, o, err
		}
		o.DB = pgtest.ForTest(t)
		o.ChainLogger = log.NewNopLogger()
		o.Observer = k == 1
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		m, err := member.Start(ctx, c, o)
		return m, c, o, err
	}
	copyKey := func(id, home string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(tmp, hostOf[id], id+".key.json"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(home, "keys", id+".key.json"), b, 0o600))
	}

	// The bank's member without its key file, then with a key the chain
	// does not know: refused, naming what is wrong.
	_, _, _, err = start(1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ewr keys new --participant bank-x")
	newKey("elsewhere", "--participant", "bank-x")
	copyKey("bank-x", homes[1]) // hostOf now points at the stray key
	_, _, _, err = start(1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not the one the chain has for it")
	require.NoError(t, os.Remove(filepath.Join(homes[1], "keys", "bank-x.key.json")))
	hostOf["bank-x"] = "bank-host"

	for _, id := range []string{"admin-1", "admin-2", "wh-op", "wh-cm"} {
		copyKey(id, homes[0])
	}
	copyKey("bank-x", homes[1])
	drivers := make([]*apiclient.Driver, 2)
	apps := make([]*chainengine.ReceiptApp, 2)
	for k := range homes {
		m, c, o, err := start(k)
		require.NoError(t, err, "member %d", k)
		t.Cleanup(func() { assert.NoError(t, m.Stop()) })
		tokens := map[string]string{}
		for tok, p := range o.Tokens {
			tokens[p] = tok
		}
		drivers[k] = &apiclient.Driver{Client: apiclient.New(m.URL, ""), Tokens: tokens, Reader: c.API.Participants[0]}
		apps[k] = m.App
	}

	// The admins' quorum, signing with their own keys on the warehouse's
	// member, registers a participant; the bank's observer follows.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	newKey("trader-host", "--participant", "trader-y")
	var pk receipt.PubKey
	require.NoError(t, pk.UnmarshalText([]byte(pubOf["trader-y"])))
	require.NoError(t, drivers[0].Submit(ctx, []string{"admin-1", "admin-2"}, &receipt.RegisterParticipant{ID: "trader-y", Name: "Trader Y",
		Roles: receipt.RoleTrader, PubKey: pk}))
	testkit.PollTrue(t, 30*time.Second, "the observer has the new participant", func() bool {
		st, _ := apps[1].State()
		p, ok := ledger.Get[receipt.Participant](st, receipt.ParticipantKey("trader-y"))
		return ok && p.PubKey == pk
	})
	// A single admin is not the quorum.
	err = drivers[0].Submit(ctx, []string{"admin-1"}, &receipt.RegisterParticipant{ID: "trader-z", Name: "Trader Z", Roles: receipt.RoleTrader, PubKey: pk})
	require.Error(t, err)
}
