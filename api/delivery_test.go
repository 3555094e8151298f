package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/api/apitest"
	"github.com/ewrchain/ewr/iot"
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
func testSupervisedDelivery(t *testing.T, sys *apitest.System, c *caller) {
	const bay = "BAY-03"
	wh := ledger.Warehouse1
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
	c.act(pB, "/v1/receipts/"+pledged+"/pledge", api.PledgeRequest{Pledge: pl, Bank: pBB, Maturity: c.now() + 90*86400})
	// The supervision takes its baseline from the bay scale's first stable
	// reading after the lock.
	waitFor(t, 60*time.Second, "the lot's baseline", func() bool { return getLot().Baseline > 0 })

	before := getLot().LockedQty
	c.act(pA, "/v1/receipts/"+held+"/deliver", api.DeliverRequest{Quantity: 12_000})
	ro := c.receipt(held).ReleaseOrder
	require.NotEmpty(t, ro)
	// The operator cannot close the load-out on the tickets alone, nor on
	// a reading that is not the settled bay after the trucks left.
	var v api.LoadOutView
	waitFor(t, 90*time.Second, "the simulated load-out of "+ro, func() bool {
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
	// stay quiet through several more reports.
	time.Sleep(8 * time.Second)
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
	c.act(pBB, "/v1/pledges/"+pl+"/confirm", api.ConfirmPledgeRequest{})
	assert.Equal(t, receipt.StatePledged, c.receipt(pledged).State, "the bank confirms the pledge after the delivery")

	// The tare of a bay holding goods cannot be changed under the lock.
	c.draftRefused(warehouse.ErrBayNotEmpty.Name, &warehouse.SetBayTare{Warehouse: wh, Bay: bay, TareKg: 400}, pWO, pCM)
	c.draftRefused(warehouse.ErrSupervisorInvalid.Name, &warehouse.SetSupervisors{Warehouse: wh, Supervisors: []string{pA}}, pAD1, pAD2)
	c.refused(api.PNotFound.Name, pWO, http.MethodGet, "/v1/simulator/load-outs/ro-nothing-1", nil)
}
