package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testSupervisedDelivery is the ordinary day the lock must live through,
// on the 4-validator consortium with the embedded NATS and the simulated
// devices reporting honestly: a lot weighed in by the simulated trucks,
// two receipts on it, one asked in pledge; a partial delivery of the other
// loaded out truck by truck while the supervision watches. No alert, no
// freeze, the lock at the new quantity, and the bank can still confirm the
// pledge on what it checked.
func testSupervisedDelivery(t *testing.T, sys *apitest.System, c *caller) *loadedOut {
	const bay = "BAY-03"
	wh := ledger.Warehouse1
	from := time.Now().Add(-time.Second)
	var in api.IntakeResult
	require.NoError(t, c.as(pWO).Post(c.ctx, "/v1/simulator/intake", api.IntakeRequest{Warehouse: wh, Bay: bay, NetsKg: []uint64{28_010, 27_990}}, &in))
	require.Len(t, in.Tickets, 2)
	lot := "LOT-SD"
	c.act(pWO, "/v1/lots", warehouse.RegisterStock{Lot: lot, Warehouse: wh, Bay: bay, Commodity: "copper cathode", Grade: "LME Grade A",
		Unit: "kg", Tolerance: 150, Tickets: in.Tickets})
	getLot := func() *warehouse.Lot {
		var l warehouse.Lot
		require.NoError(t, c.as(pREG).Get(c.ctx, "/v1/lots/"+lot, &l))
		return &l
	}
	l := getLot()
	assert.Equal(t, ledger.DemoBayTareKg+l.LockedQty, l.Expected, "the lock expects the bay's tare plus the weighed-in goods")

	held, pledged := c.issue("WR-SD-A", lot, pA, 30_000), c.issue("WR-SD-B", lot, pB, 25_000)
	pl := "PL-SD"
	c.act(pB, "/v1/receipts/"+pledged+"/pledge", api.PledgeRequest{Version: c.v(pledged), Pledge: pl, Bank: pBB, Maturity: c.now() + 90*86400})
	// The supervision takes its baseline from the bay scale's first stable
	// reading after the lock.
	testkit.PollTrue(t, 60*time.Second, "the lot's baseline", func() bool { return getLot().Baseline > 0 })

	before := getLot().LockedQty
	c.act(pA, "/v1/receipts/"+held+"/deliver", api.DeliverRequest{Version: c.v(held), Quantity: 12_000})
	ro := c.receipt(held).ReleaseOrder
	require.NotEmpty(t, ro)
	// The operator cannot close the load-out on the tickets alone, nor on
	// a reading that is not the settled bay after the trucks left.
	var v api.LoadOutView
	testkit.PollTrue(t, 90*time.Second, "the simulated load-out of "+ro, func() bool {
		v = api.LoadOutView{}
		err := c.as(pWO).Get(c.ctx, "/v1/simulator/load-outs/"+ro, &v)
		if p, ok := apiclient.AsProblem(err); ok && p.Name() == api.PNotFound.Name {
			return false
		}
		require.NoError(t, err)
		return v.Done
	})
	require.NotEmpty(t, v.Tickets)
	require.NotNil(t, v.ClosingReading)
	var weighed uint64
	for _, tk := range v.Tickets {
		weighed += tk.Ticket.Net
	}
	assert.InDelta(t, float64(l.Expected-weighed), float64(v.ClosingReading.Reading.Weight.Qty), 150, "the bay scale lost what the trucks took")
	c.post(iot.ErrClosingMissing.Name, pWO, "/v1/release-orders/"+ro+"/confirm", api.TicketsRequest{Tickets: v.Tickets})
	unstable := *v.ClosingReading
	unstable.Reading.Weight = &iot.BayWeight{Qty: unstable.Reading.Weight.Qty, Unit: "kg", Stable: false}
	c.post(iot.ErrClosingInvalid.Name, pWO, "/v1/release-orders/"+ro+"/confirm", api.TicketsRequest{Tickets: v.Tickets, ClosingReading: &unstable})
	c.act(pWO, "/v1/release-orders/"+ro+"/confirm", api.TicketsRequest{Tickets: v.Tickets, ClosingReading: v.ClosingReading})

	l = getLot()
	assert.Equal(t, max(before-weighed, 43_000), l.LockedQty, "the lock falls by the weighed-out net, never below the receipts left")
	assert.Equal(t, v.ClosingReading.Reading.Weight.Qty, l.Expected, "the lock re-centred on the closing reading")
	// The honest bay keeps reporting what is left: the supervision must
	// stay quiet through several more settled reports of the scale.
	scaleFilter, err := bus.ReadingFilter(wh, bay, v.ClosingReading.Reading.Device, bus.KindWeight)
	require.NoError(t, err)
	closedAt := time.UnixMilli(v.ClosingReading.Reading.TimeMs)
	testkit.Poll(t, 60*time.Second, "three more settled reports of the bay scale", func() error {
		msgs, err := bus.Recent(c.ctx, sys.Bus, bus.ReadingsStream, scaleFilter, closedAt, bus.MaxRecent)
		if err != nil {
			return err
		}
		settled := 0
		for _, m := range msgs {
			if sr, _, err := iot.Decode(m.Data); err == nil && sr.Reading.Weight.Stable && sr.Reading.TimeMs > v.ClosingReading.Reading.TimeMs {
				settled++
			}
		}
		if settled < 3 {
			return fmt.Errorf("%d settled reports since the closing reading", settled)
		}
		return nil
	})
	// The supervisors have checked every reading stored so far (they
	// consume the stream in order), those reports included.
	stream, err := sys.Bus.Stream(c.ctx, bus.ReadingsStream)
	require.NoError(t, err)
	info, err := stream.Info(c.ctx)
	require.NoError(t, err)
	stored := info.State.Msgs
	testkit.PollTrue(t, 60*time.Second, "the supervisors checked every stored reading", func() bool { return sys.IoT.Stats().Readings >= stored })
	l = getLot()
	assert.Equal(t, warehouse.HealthOK, l.Health, "supervision after an honest partial delivery")
	var alerts struct {
		Items []iot.Alert `json:"items"`
	}
	require.NoError(t, c.as(pREG).Get(c.ctx, "/v1/alerts?lot="+lot, &alerts))
	assert.Empty(t, alerts.Items, "no alert on the honest lot")
	for _, id := range []string{held, pledged} {
		assert.NotEqual(t, receipt.StateFrozen, c.receipt(id).State, "%s", id)
	}
	assert.Equal(t, uint64(18_000), c.receipt(held).Quantity)
	c.act(pBB, "/v1/pledges/"+pl+"/confirm", api.ConfirmPledgeRequest{ReceiptVersion: c.pv(pl)})
	assert.Equal(t, receipt.StatePledged, c.receipt(pledged).State, "the bank confirms the pledge after the delivery")

	// The tare of a bay holding goods cannot be changed under the lock.
	c.draftRefused(warehouse.ErrBayNotEmpty.Name, &warehouse.SetBayTare{Warehouse: wh, Bay: bay, TareKg: 400}, pWO, pCM)
	c.draftRefused(warehouse.ErrSupervisorInvalid.Name, &warehouse.SetSupervisors{Warehouse: wh, Supervisors: []string{pA}}, pAD1, pAD2)
	c.refused(warehouse.ErrReleaseOrderUnknown.Name, pWO, http.MethodGet, "/v1/simulator/load-outs/ro-nothing-1", nil)
	return &loadedOut{warehouse: wh, bay: bay, lot: lot, ro: ro, from: from, closing: *v.ClosingReading}
}

// loadedOut is a finished load-out the attacks replay.
type loadedOut struct {
	warehouse, bay, lot, ro string
	from                    time.Time
	closing                 iot.SignedReading
}

// testEvidenceAttacks submits straight to a validator, around the API and
// the supervisor, what a member with a supervision role could try against
// a lot after an honest load-out: every reading the bay's devices took
// while the release order was open (doors, forklifts, the falling
// weight), replayed as a breach; the closing reading again; readings older
// than the evidence window; a gap asserted by another warehouse's
// collateral manager. The validators refuse each with a typed rule and the
// lot, its receipts and its alerts stay as they were.
func testEvidenceAttacks(t *testing.T, sys *apitest.System, c *caller, lo *loadedOut) {
	st, _ := sys.App().State()
	lotBefore, ok := ledger.Get[warehouse.Lot](st, warehouse.LotKey(lo.lot))
	require.True(t, ok)
	ro, ok := ledger.Get[warehouse.ReleaseOrder](st, warehouse.ReleaseOrderKey(lo.ro))
	require.True(t, ok)
	receiptsBefore := map[string]uint64{}
	for _, id := range lotBefore.Live {
		r, _ := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(id))
		receiptsBefore[id] = r.Version
	}

	filter, err := bus.ReadingFilter(lo.warehouse, lo.bay, "", "")
	require.NoError(t, err)
	msgs, err := bus.Recent(c.ctx, sys.Bus, bus.ReadingsStream, filter, lo.from, bus.MaxRecent)
	require.NoError(t, err)
	var during []iot.SignedReading
	for _, m := range msgs {
		sr, _, err := iot.Decode(m.Data)
		require.NoError(t, err)
		if sr.Reading.TimeMs >= ro.CreatedAt*1000 && sr.Reading.TimeMs <= lo.closing.Reading.TimeMs {
			during = append(during, *sr)
		}
	}
	kinds := map[iot.Kind]int{}
	for _, r := range during {
		kinds[r.Reading.Kind()]++
	}
	require.NotZero(t, kinds[iot.KindMotion], "the camera saw the forklifts")
	require.NotZero(t, kinds[iot.KindSeal], "the door sensor saw the door")
	require.NotZero(t, kinds[iot.KindWeight], "the scale felt the goods leave")

	refused := map[string]int{}
	attack := func(what string, signer string, op receipt.Op) {
		t.Helper()
		_, _, err := sys.Direct.Submit(c.ctx, []string{signer}, op)
		var re *chainengine.RuleError
		require.ErrorAs(t, err, &re, "%s must be refused by the validators", what)
		var rule *receipt.Error
		require.ErrorAs(t, err, &rule, "%s: a typed rule, got %v", what, err)
		refused[rule.Name]++
	}
	breachKind := map[iot.Kind]iot.AlertKind{iot.KindMotion: iot.AlertMotion, iot.KindSeal: iot.AlertSeal, iot.KindWeight: iot.AlertStep}
	for _, r := range during {
		k, ok := breachKind[r.Reading.Kind()]
		if !ok {
			continue
		}
		attack("load-out reading "+r.Reading.ID(), pCM, &iot.Breach{Lot: lo.lot, Kind: k, Evidence: []iot.SignedReading{r}})
	}
	rules := iot.DefaultRules()
	var weights []iot.SignedReading
	for _, r := range during {
		if r.Reading.Weight != nil && r.Reading.Weight.Stable {
			weights = append(weights, r)
		}
	}
	if len(weights) >= int(rules.StepReadings) {
		attack("the load-out's settled weights as a theft", pCM, &iot.Breach{Lot: lo.lot, Kind: iot.AlertStep, Evidence: weights[len(weights)-int(rules.StepReadings):]})
	}
	attack("the closing reading again", pCM, &iot.Breach{Lot: lo.lot, Kind: iot.AlertStep, Evidence: []iot.SignedReading{lo.closing}})

	// Readings signed by the bay's own scale key, showing half the goods
	// gone, but taken before the evidence window: too old to prove a thing.
	now := c.now()
	scale := lo.closing.Reading.Device
	var old []iot.SignedReading
	for i := range uint64(rules.StepReadings) {
		old = append(old, iot.Sign(iot.Reading{Event: fmt.Sprintf("old-%d", i), Device: scale, Epoch: lo.closing.Reading.Epoch + 1000, Seq: i + 1,
			TimeMs: (now-16*60)*1000 + int64(i)*1000, Weight: &iot.BayWeight{Qty: lotBefore.Expected / 2, Unit: "kg", Stable: true}}, sys.World.Devices[scale].Key))
	}
	attack("readings older than the window", pCM, &iot.Breach{Lot: lo.lot, Kind: iot.AlertStep, Evidence: old})
	attack("a gap asserted by another warehouse's collateral manager", pCM2,
		&iot.Gap{Lot: lo.lot, Device: scale, LastSeenMs: (now - 600) * 1000, AtMs: now * 1000})
	// Registered by the consortium as a supervisor of warehouse 1, the
	// same party may assert gaps there; a gap the chain's readings
	// contradict is still refused.
	c.act(pAD1, "/v1/warehouses/"+lo.warehouse+"/supervisors", api.SupervisorsRequest{Supervisors: []string{pCM2}})
	_, _, err = sys.Direct.Submit(c.ctx, []string{pCM2}, &iot.Gap{Lot: lo.lot, Device: scale, LastSeenMs: (now - 600) * 1000, AtMs: now * 1000})
	assert.ErrorIs(t, err, iot.ErrGapContradicted, "a registered supervisor's gap is judged on the readings")
	c.act(pAD1, "/v1/warehouses/"+lo.warehouse+"/supervisors", api.SupervisorsRequest{Supervisors: []string{}})
	// An empty bay's tare, through the API: the op names the collateral
	// manager as co-signer and the draft goes to it.
	c.act(pWO, "/v1/warehouses/"+lo.warehouse+"/bays/BAY-04/tare", api.TareRequest{TareKg: ledger.DemoBayTareKg})
	t.Logf("refused straight on chain: %v", refused)
	assert.NotZero(t, refused[iot.ErrEvidenceTooOld.Name])
	assert.NotZero(t, refused[iot.ErrReadingConsumed.Name], "the closing reading is used")
	assert.NotZero(t, refused[iot.ErrNotSupervisor.Name])

	st, _ = sys.App().State()
	lotAfter, _ := ledger.Get[warehouse.Lot](st, warehouse.LotKey(lo.lot))
	assert.Equal(t, warehouse.HealthOK, lotAfter.Health)
	assert.Equal(t, lotBefore.LockedQty, lotAfter.LockedQty)
	assert.Empty(t, lotAfter.Alert)
	for id, v := range receiptsBefore {
		r, _ := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(id))
		assert.Equal(t, v, r.Version, "receipt %s untouched", id)
		assert.NotEqual(t, receipt.StateFrozen, r.State)
	}
}
