package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func wh2Device(kind string, bay int) string {
	return fmt.Sprintf("%s-%s-%02d", ledger.Warehouse2, kind, bay)
}

// versions is the version of each receipt.
func (e *env) versions(ids ...string) []uint64 {
	out := make([]uint64, len(ids))
	for i, id := range ids {
		out[i] = e.receipt(id).Version
	}
	return out
}

// TestRedeliveredTenTimesAppliedOnce delivers the batch holding a theft
// reading ten times (its acks withheld nine times) and checks the theft
// froze the receipts once: one alert, one version bump per receipt.
func TestRedeliveredTenTimesAppliedOnce(t *testing.T) {
	e := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.setRules(t, ctx, fastRules())
	ids := e.stockLot(t, ctx, ledger.Warehouse2, "BAY-01", "L-REDELIVER", 50_000, 30_000, 20_000)
	sim := e.warehouse2(t)

	var mu sync.Mutex
	deliveries := map[uint64]uint64{} // stream seq of the theft reading → deliveries seen
	var theftSeq uint64
	sup := e.startSupervisor(t, ctx, ledger.Warehouse2, 2, func(c *Config) {
		c.Durable = "sup-redeliver"
		c.AckWait = 200 * time.Millisecond
		c.skipAck = func(msgs []bus.Msg) bool {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				if m.StreamSeq == theftSeq && theftSeq != 0 {
					deliveries[m.StreamSeq] = m.NumDelivered
					return m.NumDelivered < 10
				}
				sr, _, err := iot.Decode(m.Data)
				if err == nil && sr.Reading.Device == wh2Device("LC", 1) && sr.Reading.Weight != nil && sr.Reading.Weight.Stable && sr.Reading.Weight.Qty < 48_000 {
					theftSeq = m.StreamSeq
					deliveries[m.StreamSeq] = m.NumDelivered
					return true
				}
			}
			return false
		}
	})
	e.baselined(t, "L-REDELIVER")
	before := e.versions(ids...)
	require.NoError(t, sim.Theft("BAY-01", 3_000))
	testkit.Poll(t, 30*time.Second, "ten deliveries", func() error {
		mu.Lock()
		defer mu.Unlock()
		if theftSeq == 0 || deliveries[theftSeq] < 10 {
			return fmt.Errorf("theft reading delivered %d times", deliveries[theftSeq])
		}
		return nil
	})
	require.NoError(t, e.lotIs("L-REDELIVER", warehouse.HealthAlarm)())
	assert.Equal(t, uint32(1), e.watch("L-REDELIVER").Alerts, "one alert")
	after := e.versions(ids...)
	for i := range ids {
		assert.Equal(t, before[i]+1, after[i], "%s changed once", ids[i])
	}
	m := sup.Metrics().Snapshot()
	assert.GreaterOrEqual(t, m.Duplicates, uint64(9), "redeliveries skipped")
	assert.Equal(t, uint64(1), m.Findings["breach:step"], "the theft judged once")
}

// failingSubmitter is a node that is down.
type failingSubmitter struct{}

func (failingSubmitter) Submit(context.Context, []string, receipt.Op) ([32]byte, int64, error) {
	return [32]byte{}, 0, errors.New("node unreachable")
}

// TestCrashBeforeAckThenResume crashes supervisors of warehouse 2 at the
// two bad moments and starts the next on the same durable consumer:
//
//   - after its breach committed but before it acked: the next gets the
//     readings again and changes nothing;
//   - before its breach reached the chain (node down) and before it acked:
//     the next gets the reading again (late, after the device's newer
//     ones) and the breach is not lost;
//
// and readings published while no supervisor runs are judged by the next
// one, which resumes after the last ack rather than from the start.
func TestCrashBeforeAckThenResume(t *testing.T) {
	e := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.setRules(t, ctx, fastRules())
	tamperIDs := e.stockLot(t, ctx, ledger.Warehouse2, "BAY-02", "L-CRASH", 40_000, 40_000)
	e.stockLot(t, ctx, ledger.Warehouse2, "BAY-03", "L-RESUME", 40_000, 40_000)
	e.stockLot(t, ctx, ledger.Warehouse2, "BAY-04", "L-LOST", 40_000, 40_000)
	sim := e.warehouse2(t)

	// crashable starts a supervisor on the shared durable that acks until
	// crash() is called, and from then on evaluates but never acks.
	var mu sync.Mutex
	crashed := false
	unacked := map[uint64]bool{}
	crash := func() {
		mu.Lock()
		crashed, unacked = true, map[uint64]bool{}
		mu.Unlock()
	}
	cfg := func(c *Config) {
		c.Durable = "sup-crash"
		c.AckWait = 2 * time.Second // × the bus's 20 deliveries: 40 s before it gives up on a message
	}
	crashable := func(sub Submitter) *Supervisor {
		mu.Lock()
		crashed = false
		mu.Unlock()
		c := Config{Warehouse: ledger.Warehouse2, Signer: ledger.Inspector2, Chain: e.app(2), Submitter: sub, JetStream: e.js,
			TickInterval: 100 * time.Millisecond, RetryAfter: 3 * time.Second, Anchor: AnchorConfig{Disabled: true}, Logger: testLogger(t)}
		cfg(&c)
		c.skipAck = func(msgs []bus.Msg) bool {
			mu.Lock()
			defer mu.Unlock()
			if crashed {
				for _, m := range msgs {
					unacked[m.StreamSeq] = true
				}
			}
			return crashed
		}
		s, err := Start(ctx, c)
		require.NoError(t, err)
		return s
	}
	lost := func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return uint64(len(unacked))
	}

	t.Run("crash after the breach committed", func(t *testing.T) {
		first := crashable(e.clients[2])
		for _, lot := range []string{"L-CRASH", "L-RESUME", "L-LOST"} {
			e.baselined(t, lot)
		}
		crash()
		require.NoError(t, sim.Tamper(wh2Device("SEAL", 2), true))
		testkit.Poll(t, 20*time.Second, "tamper alarm", e.lotIs("L-CRASH", warehouse.HealthAlarm))
		require.NoError(t, first.Stop())
		alerts, versions := e.watch("L-CRASH").Alerts, e.versions(tamperIDs...)
		require.Positive(t, lost())

		next := e.startSupervisor(t, ctx, ledger.Warehouse2, 3, cfg)
		testkit.Poll(t, 20*time.Second, "unacked readings redelivered and judged again", func() error {
			if m := next.Metrics().Snapshot(); m.Redelivered < lost() {
				return fmt.Errorf("%d redelivered, %d left unacked", m.Redelivered, lost())
			}
			return nil
		})
		assert.Zero(t, next.Metrics().Snapshot().TxSubmitted, "nothing to ask the chain again")
		assert.Equal(t, alerts, e.watch("L-CRASH").Alerts)
		assert.Equal(t, versions, e.versions(tamperIDs...))
		require.NoError(t, next.Stop())
	})

	t.Run("crash before the breach reached the chain", func(t *testing.T) {
		mute := crashable(failingSubmitter{})
		crash()
		require.NoError(t, sim.Motion("BAY-04", iot.ClassPerson, 960))
		testkit.Poll(t, 20*time.Second, "intrusion found but not sent", func() error {
			if m := mute.Metrics().Snapshot(); m.Findings["breach:motion"] == 0 || m.TxFailed == 0 {
				return fmt.Errorf("findings %v, %d failed", m.Findings, m.TxFailed)
			}
			return nil
		})
		require.NoError(t, mute.Stop())
		require.NoError(t, e.lotIs("L-LOST", warehouse.HealthOK)(), "the chain never heard of it")
		sentAtStop := sim.Sent()

		// Readings while nobody supervises wait in the stream.
		require.NoError(t, sim.Seal("BAY-03", iot.SealBroken))
		testkit.Poll(t, 5*time.Second, "seal reading published", func() error {
			if sim.Sent() < sentAtStop+20 {
				return fmt.Errorf("published %d since", sim.Sent()-sentAtStop)
			}
			return nil
		})
		require.NoError(t, e.lotIs("L-RESUME", warehouse.HealthOK)(), "nobody judged it yet")

		next := e.startSupervisor(t, ctx, ledger.Warehouse2, 1, cfg)
		testkit.Poll(t, 20*time.Second, "the intrusion, judged late", e.lotIs("L-LOST", warehouse.HealthAlarm))
		testkit.Poll(t, 20*time.Second, "the seal, judged on resuming", e.lotIs("L-RESUME", warehouse.HealthAlarm))
		backlog := sim.Sent() - sentAtStop + lost()
		assert.LessOrEqual(t, next.Metrics().Snapshot().Readings, backlog+uint64(bus.DefaultBatch),
			"resumed after the last ack, not from the stream's start (%d published before)", sentAtStop)
	})
}

// TestAnchorAndAudit anchors warehouse 2's readings in batches, audits
// every anchor against the stream, restarts the anchoring supervisor and
// checks the batches stay contiguous (no reading left out or anchored
// twice), and shows a doctored anchor fails the audit.
func TestAnchorAndAudit(t *testing.T) {
	e := network(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.warehouse2(t)
	anchored := func(c *Config) {
		c.Durable = "sup-anchor"
		c.Anchor = AnchorConfig{Every: 500, Interval: 500 * time.Millisecond}
	}
	st := func() receipt.Store { s, _ := e.app(0).State(); return s }
	head := func() *iot.AnchorHead {
		h, _ := ledger.Get[iot.AnchorHead](st(), iot.AnchorHeadKey(ledger.Warehouse2, bus.ReadingsStream))
		return h
	}
	first := e.startSupervisor(t, ctx, ledger.Warehouse2, 1, anchored)
	testkit.Poll(t, 30*time.Second, "anchors", func() error {
		if n := first.Metrics().Anchors.Load(); n < 3 {
			return fmt.Errorf("%d anchors", n)
		}
		return nil
	})
	require.NoError(t, first.Stop())
	h1 := head()
	require.NotNil(t, h1)

	second := e.startSupervisor(t, ctx, ledger.Warehouse2, 2, anchored)
	testkit.Poll(t, 30*time.Second, "anchoring resumed", func() error {
		if n := second.Metrics().Anchors.Load(); n < 2 {
			return fmt.Errorf("%d anchors", n)
		}
		return nil
	})
	require.NoError(t, second.Stop())
	h := head()
	require.Greater(t, h.LastSeq, h1.LastSeq)

	results, err := AuditChain(ctx, e.js, st(), ledger.Warehouse2, bus.ReadingsStream, 0)
	require.NoError(t, err)
	require.Len(t, results, int(h.Anchors))
	var total uint64
	for i, r := range results {
		assert.True(t, r.OK, "anchor %d..%d: stream has %d readings, root %x; chain says %d, %x", r.Anchor.FirstSeq, r.Anchor.LastSeq, r.Count, r.Root, r.Anchor.Count, r.Anchor.Root)
		if i+1 < len(results) {
			assert.Equal(t, results[i+1].Anchor.FirstSeq, r.Anchor.PrevFirstSeq)
			assert.Greater(t, r.Anchor.FirstSeq, results[i+1].Anchor.LastSeq)
		}
		total += uint64(r.Count)
	}
	assert.Equal(t, h.Readings, total)
	// No reading of the warehouse up to the head was left out.
	filter, _ := bus.ReadingFilter(ledger.Warehouse2, "", "", "")
	it, err := orderedFrom(ctx, e.js, bus.ReadingsStream, filter, 1)
	require.NoError(t, err)
	var inStream uint64
	for {
		msg, err := it.Next()
		require.NoError(t, err)
		md, err := msg.Metadata()
		require.NoError(t, err)
		if md.Sequence.Stream > h.LastSeq {
			break
		}
		inStream++
	}
	it.Stop()
	assert.Equal(t, inStream, total, "every reading up to the head is in exactly one anchor")

	doctored := results[0].Anchor
	doctored.Root[0] ^= 1
	r, err := Audit(ctx, e.js, &doctored)
	require.NoError(t, err)
	assert.False(t, r.OK, "a root that is not the stream's fails the audit")
	t.Logf("%d anchors covering %d readings audited", len(results), total)
}
