package chainengine_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReceiptLocalnetUpgradesUnderLoad runs four validators on the
// participant record's first format, as a chain made by the release before
// key rotation, with work submitted through two members the whole time;
// the admins schedule the migration; every node migrates at that height.
// After it: one app hash per height on every node, the participant records
// in the new format from exactly that height, every record readable, the
// invariants whole, and a key rotation (which needs the new format)
// taking effect on the chain's signature checks.
func TestReceiptLocalnetUpgradesUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := ledger.NewWorld("localnet-upgrade", time.Now().Unix()+365*86400)
	w.Genesis.Formats = []receipt.KindFormat{{Kind: "participant", Version: 1}}
	appState, err := json.Marshal(&w.Genesis)
	require.NoError(t, err)
	logger := log.NewNopLogger()
	ln, err := chainengine.StartLocalnet(ctx, t.TempDir(), 4, receiptFactory(logger), chainengine.LocalnetOptions{AppState: appState, Logger: logger})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ln.Stop()) })

	// The load: receipt lifecycles through node 1, new participants (the
	// records the migration rewrites, written in the old format until the
	// height) through node 2, until the test stops them.
	load, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var loadErr [2]error
	var registered int
	wg.Add(2)
	go func() {
		defer wg.Done()
		d := simulators.NewChainDriver(ln.Node(1), w)
		for i := 0; load.Err() == nil; i++ {
			lc := &simulators.Lifecycle{Driver: d, World: w, Out: io.Discard, Tag: fmt.Sprintf("u%d", i), Bay: ledger.DemoBays[i%2]}
			if err := lc.Run(load); err != nil && load.Err() == nil {
				loadErr[0] = err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		d := simulators.NewChainDriver(ln.Node(2), w)
		for i := 0; load.Err() == nil; i++ {
			k := ledger.DemoKey("localnet-upgrade", fmt.Sprintf("new-%d", i))
			op := &receipt.RegisterParticipant{ID: fmt.Sprintf("trader-n%d", i), Name: "New trader", Roles: receipt.RoleTrader}
			copy(op.PubKey[:], k.Public().(ed25519.PublicKey))
			if err := d.Submit(load, []string{ledger.Admin1, ledger.Admin2}, op); err != nil {
				if load.Err() == nil {
					loadErr[1] = err
				}
				return
			}
			registered++
		}
	}()

	admin := simulators.NewChainDriver(ln.Node(0), w)
	app0 := receiptApp(ln, 0)
	testkit.PollTrue(t, 30*time.Second, "height 5", func() bool { return app0.Height() >= 5 })
	st, h := app0.State()
	at := h + 10
	op := &ledger.ScheduleUpgrade{Migration: "participant-key-history", Height: at, Version: receipt.FormatsInForce(st).Version}
	require.NoError(t, admin.Submit(ctx, []string{ledger.Admin1, ledger.Admin3}, op))

	// Before the height the new format's op is refused on chain.
	var pk receipt.PubKey
	newKey := ledger.DemoKey("rotated", ledger.TraderB)
	copy(pk[:], newKey.Public().(ed25519.PublicKey))
	err = admin.Submit(ctx, []string{ledger.TraderB}, &receipt.RotateKey{ID: ledger.TraderB, NewKey: pk, Version: 1})
	require.ErrorIs(t, err, receipt.ErrFormatNotInForce)

	testkit.PollTrue(t, time.Minute, "the upgrade height and 5 more", func() bool { return app0.Height() >= at+5 })
	stopLoad()
	wg.Wait()
	require.NoError(t, loadErr[0], "lifecycle load")
	require.NoError(t, loadErr[1], "participant load")
	require.Positive(t, registered)

	// The rotation now passes, and the chain checks signatures with the new
	// key: the old one is refused, the new one accepted.
	require.NoError(t, admin.Submit(ctx, []string{ledger.TraderB}, &receipt.RotateKey{ID: ledger.TraderB, NewKey: pk, Version: 1}))
	suspend := &receipt.SuspendParticipant{ID: "trader-n0", Reason: "test"}
	err = admin.Submit(ctx, []string{ledger.TraderB}, suspend)
	require.ErrorContains(t, err, chainengine.ErrTxSignerKey.Error(), "the retired key still signs")
	w.Actors[ledger.TraderB].Key = newKey
	err = simulators.NewChainDriver(ln.Node(0), w).Submit(ctx, []string{ledger.TraderB}, suspend) // node 0 committed the rotation
	require.ErrorIs(t, err, receipt.ErrAdminQuorum, "the new key's tx reaches the rules")

	formatOfWrites := map[bool]map[byte]int{false: {}, true: {}} // after the height → format → writes
	top := agreeUpToTop(t, ln, func(h int64, b0 *ledger.BlockRecord) {
		for _, tx := range b0.Txs {
			for _, wr := range tx.Writes {
				if kind, _ := ledger.RecordKind(wr.Key); kind == "participant" && !wr.Deleted && h > 0 {
					formatOfWrites[h >= at][receipt.RecordFormat(wr.Value)]++
				}
			}
		}
	})
	assert.Equal(t, map[byte]int{1: formatOfWrites[false][1]}, formatOfWrites[false], "participants written before the height")
	assert.Positive(t, formatOfWrites[false][1])
	assert.Equal(t, map[byte]int{2: formatOfWrites[true][2]}, formatOfWrites[true], "participants written from the height on")
	assert.Positive(t, formatOfWrites[true][2])

	for i := range 4 {
		st, _ := receiptApp(ln, i).State()
		r := st.(ledger.Ranger)
		n := 0
		for _, prefix := range ledger.Prefixes() {
			r.Range(prefix, func(key string, value []byte) {
				n++
				_, err := ledger.DecodeByKey(key, value)
				require.NoError(t, err, "node %d", i)
				if kind, _ := ledger.RecordKind(key); kind == "participant" {
					require.Equal(t, byte(receipt.ParticipantFormat), receipt.RecordFormat(value), "node %d %s", i, key)
				}
			})
		}
		require.Positive(t, n)
		f := receipt.FormatsInForce(st)
		assert.Equal(t, []receipt.Upgrade{{Name: "participant-key-history", Height: at}}, f.Applied, "node %d", i)
		require.NoError(t, ledger.CheckInvariants(r), "node %d", i)
	}
	t.Logf("upgrade at height %d of %d; %d participants registered under load; participant writes before/after: %v", at, top, registered, formatOfWrites)
}
