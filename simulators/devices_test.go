package simulators

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type received struct {
	sr    *iot.SignedReading
	sigOK bool
	msgID string
	subj  string
}

// collect steps the simulated warehouse second by second for d and checks
// every message is a well-formed reading on its device's subject.
func collect(t *testing.T, w *ledger.World, s *Warehouse, clock *FakeClock, d time.Duration) []received {
	t.Helper()
	var out []received
	end := clock.Now().Add(d)
	for clock.Now().Before(end) {
		clock.Advance(time.Second)
		for _, o := range s.Step(clock.Now()) {
			sr, msg, err := iot.Decode(o.Data)
			require.NoError(t, err)
			dev := w.Devices[sr.Reading.Device].Device
			wh, bay, devTok, kind, err := bus.ParseReadingSubject(o.Subject)
			require.NoError(t, err)
			require.Equal(t, []string{dev.Warehouse, iot.BayToken(dev.Bay), dev.ID, sr.Reading.Kind().String()}, []string{wh, bay, devTok, kind})
			out = append(out, received{sr: sr, sigOK: ed25519.Verify(dev.PubKey[:], msg, sr.Sig[:]), msgID: o.MsgID, subj: o.Subject})
		}
	}
	return out
}

func TestDeviceSimulatorNormalOperation(t *testing.T) {
	w := ledger.NewWorld("sim", 2_000_000_000)
	clock := NewFakeClock(time.Unix(1_767_225_600, 0))
	s, err := NewWarehouse(w, ledger.Warehouse1, DeviceConfig{Trucks: true}, 42, clock)
	require.NoError(t, err)
	require.Equal(t, ledger.DemoBays, s.Bays())
	require.NoError(t, s.Load("BAY-01", 50_000))

	got := collect(t, w, s, clock, 2*time.Hour)
	lastSeq := map[string]uint64{}
	lastMs := map[string]int64{}
	lastHB := map[string]int64{}
	kinds := map[iot.Kind]int{}
	for _, r := range got {
		rd := &r.sr.Reading
		require.True(t, r.sigOK, "%s signed by its own key", rd.ID())
		require.Equal(t, lastSeq[rd.Device]+1, rd.Seq, "%s: sequence counts up by one", rd.ID())
		require.GreaterOrEqual(t, rd.TimeMs, lastMs[rd.Device])
		lastSeq[rd.Device], lastMs[rd.Device] = rd.Seq, rd.TimeMs
		kinds[rd.Kind()]++
		switch {
		case rd.Weight != nil && rd.Device == "WH-QD-01-LC-01" && rd.Weight.Stable:
			assert.InDelta(t, 50_000+ledger.DemoBayTareKg, float64(rd.Weight.Qty), 56, "the tare and the goods, ±0.1%% plus the 5 kg division")
		case rd.Heartbeat != nil:
			if prev, ok := lastHB[rd.Device]; ok {
				gap := rd.TimeMs - prev
				assert.True(t, gap >= 30_000 && gap <= 60_000, "%s heartbeat after %d ms", rd.Device, gap)
			}
			lastHB[rd.Device] = rd.TimeMs
			assert.False(t, rd.Heartbeat.Tamper)
		case rd.Motion != nil:
			assert.Less(t, rd.Motion.ConfidencePermille, uint16(800), "normal camera noise is low-confidence")
		case rd.Ticket != nil:
			tk := rd.Ticket.Ticket
			assert.LessOrEqual(t, tk.Gross, uint64(60_000))
			assert.Zero(t, tk.Gross%20, "20 kg division")
			assert.True(t, ed25519.Verify(w.Devices[ledger.Weighbridge1].Device.PubKey[:], warehouse.TicketSignBytes(&tk), rd.Ticket.Sig[:]))
		}
	}
	assert.Len(t, lastHB, 13, "every device beats")
	// 2 h: each scale reports every 10–60 s.
	assert.Greater(t, kinds[iot.KindWeight], 4*2*60)
	assert.Greater(t, kinds[iot.KindTicket], 2*60/6)
	t.Logf("readings by kind: %v", kinds)
}

func TestDeviceSimulatorFaults(t *testing.T) {
	w := ledger.NewWorld("sim", 2_000_000_000)
	clock := NewFakeClock(time.Unix(1_767_225_600, 0))
	s, err := NewWarehouse(w, ledger.Warehouse1, DeviceConfig{CameraNoiseEvery: -1}, 7, clock)
	require.NoError(t, err)
	require.NoError(t, s.Load("BAY-01", 50_000))
	collect(t, w, s, clock, time.Minute)
	lc := "WH-QD-01-LC-01"

	t.Run("theft: unsettled, then the settled drop", func(t *testing.T) {
		require.NoError(t, s.Theft("BAY-01", 3_000))
		var weights []*iot.BayWeight
		for _, r := range collect(t, w, s, clock, 5*time.Second) {
			if r.sr.Reading.Device == lc && r.sr.Reading.Weight != nil {
				weights = append(weights, r.sr.Reading.Weight)
			}
		}
		require.GreaterOrEqual(t, len(weights), 2)
		assert.False(t, weights[0].Stable)
		last := weights[len(weights)-1]
		assert.True(t, last.Stable)
		assert.InDelta(t, 47_000+ledger.DemoBayTareKg, float64(last.Qty), 60)
	})
	t.Run("forged weight fails its signature", func(t *testing.T) {
		require.NoError(t, s.ForgeWeight("BAY-01", 10_000))
		var forged []received
		for _, r := range collect(t, w, s, clock, time.Second) {
			if !r.sigOK {
				forged = append(forged, r)
			}
		}
		require.Len(t, forged, 1)
		assert.Equal(t, uint64(10_000), forged[0].sr.Reading.Weight.Qty)
	})
	t.Run("replay resends a genuine reading under a new id", func(t *testing.T) {
		orig, err := s.Replay(lc, 1)
		require.NoError(t, err)
		got := collect(t, w, s, clock, time.Second)
		var again []received
		for _, r := range got {
			if r.sr.Reading.ID() == orig.Reading.ID() {
				again = append(again, r)
			}
		}
		require.Len(t, again, 1)
		assert.True(t, again[0].sigOK)
		assert.Equal(t, orig, *again[0].sr)
		assert.Contains(t, again[0].msgID, ":replay-")
	})
	t.Run("offline device is silent", func(t *testing.T) {
		require.NoError(t, s.Offline("WH-QD-01-CAM-01", 5*time.Minute))
		for _, r := range collect(t, w, s, clock, 4*time.Minute) {
			assert.NotEqual(t, "WH-QD-01-CAM-01", r.sr.Reading.Device)
		}
		var back int
		for _, r := range collect(t, w, s, clock, 2*time.Minute) {
			if r.sr.Reading.Device == "WH-QD-01-CAM-01" {
				back++
			}
		}
		assert.Positive(t, back)
	})
	t.Run("tamper, motion, seal", func(t *testing.T) {
		require.NoError(t, s.Tamper("WH-QD-01-SEAL-02", true))
		require.NoError(t, s.Motion("BAY-03", iot.ClassPerson, 950))
		require.NoError(t, s.Seal("BAY-04", iot.SealBroken))
		seen := map[string]bool{}
		for _, r := range collect(t, w, s, clock, time.Second) {
			rd := r.sr.Reading
			switch {
			case rd.Heartbeat != nil && rd.Heartbeat.Tamper:
				seen["tamper"] = true
			case rd.Motion != nil && rd.Motion.Class == iot.ClassPerson:
				seen["motion"] = true
			case rd.Seal != nil && rd.Seal.State == iot.SealBroken:
				seen["seal"] = true
			}
		}
		assert.Equal(t, map[string]bool{"tamper": true, "motion": true, "seal": true}, seen)
	})
	t.Run("drift", func(t *testing.T) {
		require.NoError(t, s.Theft("BAY-02", 0))
		require.NoError(t, s.Load("BAY-02", 40_000))
		require.NoError(t, s.Drift("BAY-02", -600))
		collect(t, w, s, clock, time.Hour)
		assert.InDelta(t, 39_400, float64(s.Weight("BAY-02")), 2)
	})
}

// TestDeviceSimulatorPhysics checks the goods move with their weight:
// intake puts them on the bay behind in-tickets; a load-out opens the
// door, a forklift works, the bay loses what the trucks carry, each truck
// weighs out naming the order, the door closes and the scale settles on
// what is left; a restarted device signs in a new epoch.
func TestDeviceSimulatorPhysics(t *testing.T) {
	w := ledger.NewWorld("sim", 2_000_000_000)
	clock := NewFakeClock(time.Unix(1_767_225_600, 0))
	s, err := NewWarehouse(w, ledger.Warehouse1, DeviceConfig{CameraNoiseEvery: -1}, 11, clock)
	require.NoError(t, err)
	collect(t, w, s, clock, time.Minute)

	in, err := s.Intake("BAY-01", 25_000, 25_000)
	require.NoError(t, err)
	require.Len(t, in, 2)
	var ticketed uint64
	for _, tk := range in {
		assert.Equal(t, warehouse.In, tk.Ticket.Direction)
		assert.InDelta(t, 25_000, float64(tk.Ticket.Net), 60, "a ticket's net is within the weighbridge's error")
		ticketed += tk.Ticket.Net
	}
	assert.Equal(t, uint64(50_000), s.Weight("BAY-01"), "the goods themselves")
	collect(t, w, s, clock, time.Minute)

	const ro = "ro-R-1-1"
	require.NoError(t, s.StartLoadOut(ro, "BAY-01", 30_000))
	_, _, done, err := s.LoadOutResult(ro)
	require.NoError(t, err)
	require.False(t, done)
	var doors []iot.SealState
	var forklifts, lowest uint64 = 0, 1 << 62
	var closingSeen bool
	for range 30 {
		for _, r := range collect(t, w, s, clock, 30*time.Second) {
			rd := r.sr.Reading
			switch {
			case rd.Seal != nil && rd.Device == "WH-QD-01-SEAL-01":
				doors = append(doors, rd.Seal.State)
			case rd.Motion != nil && rd.Device == "WH-QD-01-CAM-01" && rd.Motion.Class == iot.ClassForklift:
				forklifts++
			case rd.Weight != nil && rd.Device == "WH-QD-01-LC-01" && rd.Weight.Stable:
				lowest = min(lowest, rd.Weight.Qty)
			}
		}
		if _, _, done, _ = s.LoadOutResult(ro); done {
			closingSeen = true
			break
		}
	}
	require.True(t, closingSeen, "the load-out finished")
	tickets, closing, _, _ := s.LoadOutResult(ro)
	assert.Equal(t, []iot.SealState{iot.SealOpen, iot.SealClosed}, doors)
	assert.Equal(t, uint64(6+6), forklifts, "30 t loaded evenly on two trucks: six 2.5 t forklift moves each")
	require.Len(t, tickets, 2, "two trucks of 15 t (at most 28 t each)")
	var out uint64
	for _, tk := range tickets {
		assert.Equal(t, ro, tk.Ticket.ReleaseOrder)
		assert.Equal(t, warehouse.Out, tk.Ticket.Direction)
		assert.InDelta(t, 15_000, float64(tk.Ticket.Net), 60, "an even load")
		out += tk.Ticket.Net
	}
	assert.InDelta(t, 30_000, float64(out), 120)
	assert.Equal(t, uint64(20_000), s.Weight("BAY-01"), "the bay lost what the trucks carried")
	require.NotNil(t, closing)
	assert.True(t, closing.Reading.Weight.Stable)
	assert.InDelta(t, 20_000+ledger.DemoBayTareKg, float64(closing.Reading.Weight.Qty), 30)
	for _, tk := range tickets {
		assert.GreaterOrEqual(t, closing.Reading.TimeMs, tk.Ticket.WeighedAt*1000+1000, "the closing reading follows the last ticket")
	}
	assert.InDelta(t, 20_000+ledger.DemoBayTareKg, float64(lowest), 30, "never below what is left")

	// A restart: silent while it boots, then a new epoch from sequence 1.
	lc := "WH-QD-01-LC-01"
	require.NoError(t, s.Restart(lc))
	var after []*iot.SignedReading
	for _, r := range collect(t, w, s, clock, 2*time.Minute) {
		if r.sr.Reading.Device == lc {
			after = append(after, r.sr)
		}
	}
	require.NotEmpty(t, after)
	assert.Equal(t, iot.Pos{Epoch: 1_767_225_600 + 1, Seq: 1}, after[0].Reading.Pos(), "booted at the clock's seconds, then one more")

	// The same simulation started again later on the same chain signs in
	// a later epoch than anything before, and numbers tickets afresh
	// without reusing one.
	again, err := NewWarehouse(w, ledger.Warehouse1, DeviceConfig{CameraNoiseEvery: -1}, 11, clock)
	require.NoError(t, err)
	in2, err := again.Intake("BAY-02", 10_000)
	require.NoError(t, err)
	assert.NotEqual(t, in[0].Ticket.Number, in2[0].Ticket.Number, "ticket numbers are unique for ever")
}
