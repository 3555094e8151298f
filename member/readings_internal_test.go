package member

import (
	"context"
	"testing"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/iot/device"
	"github.com/ewrchain/ewr/ledger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBayReadings: the API's bay readings come from the member's NATS:
// the bay scale's weight readings since a moment, in order, and nothing
// of another bay or another kind; and no consumer is left behind.
func TestBayReadings(t *testing.T) {
	ns, err := bus.StartEmbedded(bus.Options{StoreDir: t.TempDir(), Port: bus.RandomPort})
	require.NoError(t, err)
	defer ns.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := ns.Connect(ctx)
	require.NoError(t, err)
	defer nc.Close()
	js, err := bus.JetStream(nc)
	require.NoError(t, err)
	require.NoError(t, bus.EnsureStreams(ctx, js, bus.StreamOptions{}))
	publish := func(dev, bay string, r iot.Reading) {
		sg := device.NewSigner(dev, ledger.Warehouse1, bay, ledger.DemoKey("t", dev), 1)
		sr, err := sg.Sign(r, time.Now())
		require.NoError(t, err)
		m, err := sg.Message(&sr)
		require.NoError(t, err)
		_, _, err = bus.Publish(ctx, js, m.Subject, m.MsgID, m.Data)
		require.NoError(t, err)
	}
	since := time.Now().Add(-time.Second)
	for i := range 5 {
		publish("LC-1", "BAY-01", iot.Reading{Weight: &iot.BayWeight{Qty: uint64(40_000 + i), Unit: "kg", Stable: true}})
	}
	publish("LC-2", "BAY-02", iot.Reading{Weight: &iot.BayWeight{Qty: 1, Unit: "kg", Stable: true}})
	publish("CAM-1", "BAY-01", iot.Reading{Motion: &iot.Motion{Zone: "z", Class: iot.ClassUnknown, ConfidencePermille: 500}})
	got, err := readings{js}.BayReadings(ctx, ledger.Warehouse1, "BAY-01", since, 100)
	require.NoError(t, err)
	require.Len(t, got, 5)
	for i, sr := range got {
		assert.Equal(t, uint64(40_000+i), sr.Reading.Weight.Qty)
	}
	got, err = readings{js}.BayReadings(ctx, ledger.Warehouse1, "BAY-01", since, 3)
	require.NoError(t, err)
	assert.Len(t, got, 3)
	// A chart polls: no request leaves a consumer on the stream behind.
	stream, err := js.Stream(ctx, bus.ReadingsStream)
	require.NoError(t, err)
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	assert.Zero(t, info.State.Consumers, "consumers left on %s", bus.ReadingsStream)
}
