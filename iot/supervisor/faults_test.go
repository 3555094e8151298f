package supervisor

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func wh1Device(kind string, bay int) string {
	return fmt.Sprintf("%s-%s-%02d", ledger.Warehouse1, kind, bay)
}

// TestFaultsEndToEnd runs warehouse 1 with its simulated devices and one
// supervisor (the collateral manager's) on the 4-validator network and
// injects each fault in its own bay: theft, slow drift, motion (with and
// without a release order), tamper, a broken seal, forged and replayed
// readings, a device going offline and coming back, and breach txs with
// doctored evidence sent straight to the validators.
func TestFaultsEndToEnd(t *testing.T) {
	e := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e.setRules(t, ctx, fastRules())

	lots := []string{"L-THEFT", "L-DRIFT", "L-MOTION", "L-TAMPER", "L-SEAL", "L-FORGE", "L-CLEAN", "L-OFFLINE"}
	for i, lot := range lots {
		e.stockLot(t, ctx, ledger.Warehouse1, e2eBays[i], lot, 50_000, 30_000, 20_000)
	}
	sim, err := simulators.StartWarehouse(ctx, simulators.WarehouseConfig{World: e.w, Warehouse: ledger.Warehouse1, JetStream: e.js,
		Devices: fastDevices, Chain: e.app(0), Interval: 100 * time.Millisecond, Seed: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Stop()) })
	sup := e.startSupervisor(t, ctx, ledger.Warehouse1, 1, nil)
	for _, lot := range lots {
		e.baselined(t, lot)
	}
	t.Logf("eight lots locked and baselined at height %d", e.app(0).Height())

	breachOf := func(lot string) *iot.Alert {
		st, _ := e.app(0).State()
		a, _ := ledger.Get[iot.Alert](st, iot.AlertKey(e.lot(lot).Alert))
		return a
	}
	frozen := func(lot string, kind iot.AlertKind) {
		t.Helper()
		l := e.lot(lot)
		a := breachOf(lot)
		require.NotNil(t, a)
		assert.Equal(t, kind, a.Kind)
		for _, id := range []string{lot + "-R1", lot + "-R2"} {
			r := e.receipt(id)
			assert.Equal(t, receipt.StateFrozen, r.State, id)
			assert.Equal(t, receipt.FreezeByBreach, r.Frozen.Cause, id)
			assert.Equal(t, l.Alert, r.Frozen.Alert, id)
		}
	}

	t.Run("theft freezes the receipts and a pledge on them is refused", func(t *testing.T) {
		start := time.Now()
		require.NoError(t, sim.Theft("BAY-01", 3_000))
		testkit.Poll(t, 20*time.Second, "theft alarm", e.lotIs("L-THEFT", warehouse.HealthAlarm))
		t.Logf("theft to frozen in a committed block: %v (settling 300 ms included)", time.Since(start).Round(time.Millisecond))
		frozen("L-THEFT", iot.AlertStep)
		r := e.receipt("L-THEFT-R1")
		err := e.submit(ctx, []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: "PL-THEFT", Receipt: r.ID, Version: r.Version,
			Bank: ledger.BankA, Maturity: time.Now().Unix() + 30*86400})
		require.ErrorIs(t, err, receipt.ErrFrozen)
		var re *chainengine.RuleError
		require.ErrorAs(t, err, &re)
		assert.Positive(t, re.Height, "refused in a committed block")
	})

	t.Run("slow drift held past tolerance", func(t *testing.T) {
		// 50 kg/s: past the 300 kg tolerance in seconds, then held at about
		// 400 kg down: beyond tolerance, within the 550 kg step threshold.
		locked := e.lot("L-DRIFT").LockedQty
		require.NoError(t, sim.Drift("BAY-02", -180_000))
		testkit.Poll(t, 40*time.Second, "bay drifted", func() error {
			if w := sim.Weight("BAY-02"); w > locked-380 && e.lot("L-DRIFT").Health == warehouse.HealthOK {
				return fmt.Errorf("bay holds %d", w)
			}
			return nil
		})
		require.NoError(t, sim.Drift("BAY-02", 0)) // held there: beyond tolerance, within the step threshold
		testkit.Poll(t, 20*time.Second, "drift alarm", e.lotIs("L-DRIFT", warehouse.HealthAlarm))
		frozen("L-DRIFT", iot.AlertDrift)
		assert.GreaterOrEqual(t, len(breachOf("L-DRIFT").Readings), 3)
	})

	t.Run("motion in a locked bay, not while a release order is open", func(t *testing.T) {
		// The supervisor judges against the chain its node has: each step
		// waits until that node has the release order opened, or closed.
		caughtUp := func(h int64) {
			t.Helper()
			testkit.Poll(t, 10*time.Second, "supervisor's node caught up", func() error {
				if sup.ViewHeight() < h {
					return fmt.Errorf("view at %d, want %d", sup.ViewHeight(), h)
				}
				return nil
			})
		}
		r := e.receipt("L-MOTION-R2")
		_, h, err := e.clients[0].Submit(ctx, []string{ledger.TraderA}, &warehouse.RequestDelivery{Receipt: r.ID, Version: r.Version, Quantity: 1_000})
		require.NoError(t, err)
		caughtUp(h)
		m0 := sup.Metrics().Snapshot()
		require.NoError(t, sim.Motion("BAY-03", iot.ClassForklift, 950))
		// The load-out is expected: the rules find nothing in it.
		testkit.Poll(t, 10*time.Second, "load-out motion judged", func() error {
			if n := sup.Metrics().Snapshot().Readings; n < m0.Readings+100 {
				return fmt.Errorf("%d readings since", n-m0.Readings)
			}
			return nil
		})
		assert.Equal(t, m0.Findings["breach:motion"], sup.Metrics().Snapshot().Findings["breach:motion"], "no finding for a load-out")
		require.NoError(t, e.lotIs("L-MOTION", warehouse.HealthOK)())
		_, h, err = e.clients[0].Submit(ctx, []string{ledger.TraderA}, &warehouse.CancelDelivery{ReleaseOrder: e.receipt(r.ID).ReleaseOrder})
		require.NoError(t, err)
		caughtUp(h)
		require.NoError(t, sim.Motion("BAY-03", iot.ClassPerson, 910))
		testkit.Poll(t, 20*time.Second, "intrusion alarm", e.lotIs("L-MOTION", warehouse.HealthAlarm))
		frozen("L-MOTION", iot.AlertMotion)
	})

	t.Run("tamper switch", func(t *testing.T) {
		require.NoError(t, sim.Tamper(wh1Device("LC", 4), true))
		testkit.Poll(t, 20*time.Second, "tamper alarm", e.lotIs("L-TAMPER", warehouse.HealthAlarm))
		frozen("L-TAMPER", iot.AlertTamper)
	})

	t.Run("broken seal", func(t *testing.T) {
		require.NoError(t, sim.Seal("BAY-05", iot.SealBroken))
		testkit.Poll(t, 20*time.Second, "seal alarm", e.lotIs("L-SEAL", warehouse.HealthAlarm))
		frozen("L-SEAL", iot.AlertSeal)
	})

	t.Run("forged and replayed readings change nothing", func(t *testing.T) {
		lc := wh1Device("LC", 6)
		before, r1 := e.lot("L-FORGE"), e.receipt("L-FORGE-R1")
		m0 := sup.Metrics().Snapshot()

		require.NoError(t, sim.ForgeWeight("BAY-06", 20_000)) // a fake theft under the scale's name
		require.NoError(t, sim.Forge(wh1Device("CAM", 6), 2)) // a cloned camera
		replayed, err := sim.Replay(lc, 4)                    // a genuine reading, sent again
		require.NoError(t, err)
		// The same reading under its own message id: the bus drops it.
		o := simulators.Outgoing(ledger.Warehouse1, "BAY-06", &replayed)
		_, dup, err := bus.Publish(ctx, e.js, o.Subject, o.MsgID, o.Data)
		require.NoError(t, err)
		assert.True(t, dup, "the bus deduplicates a resent message id")
		// Unsigned, and from a device the chain does not know.
		unsigned := iot.SignedReading{Reading: replayed.Reading}
		unsigned.Reading.Seq += 1_000_000
		o = simulators.Outgoing(ledger.Warehouse1, "BAY-06", &unsigned)
		_, _, err = bus.Publish(ctx, e.js, o.Subject, o.MsgID+":u", o.Data)
		require.NoError(t, err)
		rogue := replayed.Reading
		rogue.Device, rogue.Epoch, rogue.Seq, rogue.TimeMs = ledger.Warehouse1+"-LC-99", 1, 1, time.Now().UnixMilli()
		rogueS := iot.Sign(rogue, ledger.DemoKey("rogue", "lc"))
		o = simulators.Outgoing(ledger.Warehouse1, "BAY-06", &rogueS)
		_, _, err = bus.Publish(ctx, e.js, o.Subject, o.MsgID, o.Data)
		require.NoError(t, err)

		want := map[string]uint64{"reading_signature": 3, "reading_replayed": 1, "reading_unsigned": 1, "device_not_found": 1}
		testkit.Poll(t, 10*time.Second, "refusals counted", func() error {
			m := sup.Metrics().Snapshot()
			for k, n := range want {
				if got := m.Rejected[k] - m0.Rejected[k]; got < n {
					return fmt.Errorf("%s: %d refused, want %d", k, got, n)
				}
			}
			return nil
		})
		after := e.lot("L-FORGE")
		assert.Equal(t, warehouse.HealthOK, after.Health)
		assert.Equal(t, before.Version, after.Version, "the lot record did not change")
		assert.Equal(t, r1.Version, e.receipt("L-FORGE-R1").Version, "the receipt did not change")
		t.Logf("refused by reason: %v", sup.Metrics().Snapshot().Rejected)
	})

	t.Run("an offline device marks the lot unverified until it is back", func(t *testing.T) {
		cam := wh1Device("CAM", 8)
		require.NoError(t, sim.Offline(cam, time.Minute))
		testkit.Poll(t, 20*time.Second, "gap", e.lotIs("L-OFFLINE", warehouse.HealthUnverified))
		l := e.lot("L-OFFLINE")
		st, _ := e.app(0).State()
		a, _ := ledger.Get[iot.Alert](st, iot.AlertKey(l.Alert))
		require.NotNil(t, a)
		assert.Equal(t, iot.AlertGap, a.Kind)
		assert.Equal(t, cam, a.Device)
		assert.Equal(t, ledger.Inspector, a.By)
		assert.Equal(t, receipt.StateIssued, e.receipt("L-OFFLINE-R1").State, "a gap freezes nothing")
		r := e.receipt("L-OFFLINE-R1")
		err := e.submit(ctx, []string{ledger.TraderA}, &receipt.RequestPledge{Pledge: "PL-OFFLINE", Receipt: r.ID, Version: r.Version,
			Bank: ledger.BankA, Maturity: time.Now().Unix() + 30*86400})
		require.ErrorIs(t, err, warehouse.ErrLotUnhealthy, "new pledges wait")

		require.NoError(t, sim.Offline(cam, 0))
		testkit.Poll(t, 20*time.Second, "verified", e.lotIs("L-OFFLINE", warehouse.HealthOK))
		st, _ = e.app(0).State()
		a, _ = ledger.Get[iot.Alert](st, iot.AlertKey(a.ID))
		assert.Equal(t, "verified", a.Resolution)
	})

	t.Run("doctored evidence is rejected by the validators", func(t *testing.T) {
		lot := "L-CLEAN"
		l := e.lot(lot)
		lc := wh1Device("LC", 7)
		now := time.Now().UnixMilli()
		reading := func(dev string, seq uint64, ms int64, qty uint64, stable bool) iot.Reading {
			return iot.Reading{Event: "doctored", Device: dev, Epoch: uint64(time.Now().Unix()) + 1_000, Seq: seq, TimeMs: ms, Weight: &iot.BayWeight{Qty: qty, Unit: "kg", Stable: stable}}
		}
		signed := func(r iot.Reading) iot.SignedReading { return iot.Sign(r, e.w.Devices[r.Device].Key) }
		breach := func(k iot.AlertKind, ev ...iot.SignedReading) *iot.Breach {
			return &iot.Breach{Lot: lot, Kind: k, Evidence: ev}
		}
		forged := iot.Sign(reading(lc, 900_001, now, l.Baseline-5_000, true), ledger.DemoKey("forger", lc))
		altered := signed(reading(lc, 900_002, now, l.Baseline, true))
		altered.Reading.Weight.Qty -= 5_000
		cases := []struct {
			name  string
			op    *iot.Breach
			want  *receipt.Error
			block bool // judged in a block (else refused at the mempool: malformed on its face)
		}{
			{"forged signature", breach(iot.AlertStep, forged), iot.ErrReadingSignature, true},
			{"altered after signing", breach(iot.AlertStep, altered), iot.ErrReadingSignature, true},
			{"another bay's scale", breach(iot.AlertStep, signed(reading(wh1Device("LC", 1), 900_001, now, l.Baseline-5_000, true))), warehouse.ErrDeviceNotHere, true},
			{"within tolerance", breach(iot.AlertStep, signed(reading(lc, 900_003, now, l.Baseline+100, true))), iot.ErrWithinTolerance, true},
			{"too few for drift", breach(iot.AlertDrift, signed(reading(lc, 900_004, now, l.Baseline-400, true)), signed(reading(lc, 900_005, now+10_000, l.Baseline-400, true))), iot.ErrEvidenceTooFew, true},
			{"drift not held", breach(iot.AlertDrift, signed(reading(lc, 900_006, now, l.Baseline-400, true)), signed(reading(lc, 900_007, now+500, l.Baseline-400, true)),
				signed(reading(lc, 900_008, now+1_000, l.Baseline-400, true))), iot.ErrNotSustained, true},
			{"a reading left out", breach(iot.AlertDrift, signed(reading(lc, 900_010, now, l.Baseline-400, true)), signed(reading(lc, 900_012, now+5_000, l.Baseline-400, true)),
				signed(reading(lc, 900_013, now+10_000, l.Baseline-400, true))), iot.ErrEvidenceGap, true},
			{"out of order", breach(iot.AlertStep, signed(reading(lc, 900_021, now, l.Baseline-5_000, true)), signed(reading(lc, 900_020, now, l.Baseline-5_000, true))), iot.ErrEvidenceOrder, false},
			{"unsigned", breach(iot.AlertStep, iot.SignedReading{Reading: reading(lc, 900_030, now, l.Baseline-5_000, true)}), iot.ErrUnsigned, false},
		}
		for _, c := range cases {
			err := e.submit(ctx, []string{ledger.Inspector}, c.op)
			require.ErrorIs(t, err, c.want, c.name)
			var re *chainengine.RuleError
			require.True(t, errors.As(err, &re), c.name)
			if c.block {
				assert.Positive(t, re.Height, "%s: judged in a committed block", c.name)
			}
		}

		// A scale whose calibration lapsed proves nothing.
		pk := ledger.DemoKey("iot-e2e", "device/LC-LAPSED")
		reg := &warehouse.RegisterDevice{ID: "LC-LAPSED", Kind: warehouse.BayScale, Warehouse: ledger.Warehouse1, Bay: "BAY-07", CalibratedUntil: time.Now().Unix() + 2}
		copy(reg.PubKey[:], pk.Public().(ed25519.PublicKey))
		require.NoError(t, e.submit(ctx, []string{ledger.Admin1, ledger.Admin2}, reg))
		d := simulators.NewChainDriver(e.ln.Node(0), e.w)
		require.NoError(t, d.WaitUntil(ctx, reg.CalibratedUntil))
		lapsed := iot.Sign(reading("LC-LAPSED", 1, time.Now().UnixMilli(), l.Baseline-5_000, true), pk)
		err := e.submit(ctx, []string{ledger.Inspector}, breach(iot.AlertStep, lapsed))
		require.ErrorIs(t, err, warehouse.ErrDeviceUncalibrated)

		after := e.lot(lot)
		assert.Equal(t, warehouse.HealthOK, after.Health, "the clean lot stays clean")
		assert.Equal(t, l.Version, after.Version)
		for _, id := range []string{lot + "-R1", lot + "-R2"} {
			assert.Equal(t, receipt.StateIssued, e.receipt(id).State, id)
		}
	})

	m := sup.Metrics().Snapshot()
	t.Logf("supervisor: %d readings, %d accepted, refused %v, findings %v, txs %d applied / %d refused, dry-run refusals %v",
		m.Readings, m.Accepted, m.Rejected, m.Findings, m.TxApplied, m.TxRefused, m.Refused)
	assert.Equal(t, uint64(0), m.TxRefused, "the dry run kept every doomed tx off the chain")
	e.agree(t)
}
