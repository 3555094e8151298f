package member_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/member"
	"github.com/ewrchain/ewr/simulators"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chain serves the block records of a ledger run as the node does, growing
// as the test commits more of them.
type chain struct {
	mu     sync.Mutex
	recs   []*ledger.BlockRecord
	height int64
	notify chan struct{}
}

func (c *chain) Height() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.height }
func (c *chain) Block(h int64) (*ledger.BlockRecord, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h < 0 || h > c.height {
		return nil, false, nil
	}
	return c.recs[h], true, nil
}
func (c *chain) Committed() <-chan struct{} { c.mu.Lock(); defer c.mu.Unlock(); return c.notify }
func (c *chain) commitUpTo(h int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.height = h
	close(c.notify)
	c.notify = make(chan struct{})
}

// storyBlocks runs the lifecycle and the tour in memory and returns their
// block records.
func storyBlocks(t *testing.T) []*ledger.BlockRecord {
	w := ledger.NewWorld("feed", 1_900_000_000)
	sim, err := ledger.NewSim(w, "ewr-feed", 1_767_225_600)
	require.NoError(t, err)
	sim.RecordBlocks()
	d := &simulators.MemDriver{Sim: sim}
	require.NoError(t, (&simulators.Lifecycle{Driver: d, World: w, Out: discard{}, Tag: "f", Bay: ledger.DemoBays[0]}).Run(context.Background()))
	require.NoError(t, (&simulators.Tour{Driver: d, World: w, Out: discard{}, Tag: "f", Bay: ledger.DemoBays[1], ShortSec: 600}).Run(context.Background()))
	return sim.Records
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// streamEvents reads every message of EWR_EVENTS in stream order.
func streamEvents(t *testing.T, js jetstream.JetStream) []api.EventView {
	ctx := t.Context()
	s, err := js.Stream(ctx, bus.EventsStream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	var out []api.EventView
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		require.NoError(t, err)
		var v api.EventView
		require.NoError(t, json.Unmarshal(m.Data, &v))
		require.Equal(t, v.ID, m.Header.Get(jetstream.MsgIDHeader))
		subj, err := bus.EventSubject(v.Type)
		require.NoError(t, err)
		require.Equal(t, subj, m.Subject)
		out = append(out, v)
	}
	return out
}

// TestFeedPublishesEveryEventOnce: the feed publishes each committed event
// once, in chain order, as blocks commit; stopped and started again, it
// resumes after the last event the stream holds: the stream is gapless and
// holds every event exactly once.
func TestFeedPublishesEveryEventOnce(t *testing.T) {
	recs := storyBlocks(t)
	var want []string
	for _, r := range recs {
		for ti := range r.Txs {
			for i := range r.Txs[ti].Events {
				want = append(want, api.EventPos{Height: r.Height, TxIndex: r.Txs[ti].Index, Index: uint32(i)}.String())
			}
		}
	}
	require.Greater(t, len(want), 40)

	ns, err := bus.StartEmbedded(bus.Options{StoreDir: t.TempDir(), Port: bus.RandomPort})
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)
	nc, err := ns.Connect(t.Context())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := bus.JetStream(nc)
	require.NoError(t, err)
	require.NoError(t, bus.EnsureStreams(t.Context(), js, bus.StreamOptions{}))

	c := &chain{recs: recs, notify: make(chan struct{})}
	half := int64(len(recs) / 2)
	c.commitUpTo(half / 2)
	run := func() (stop func() uint64) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		f := &member.Feed{Chain: c, JetStream: js}
		go func() { done <- f.Run(ctx) }()
		return func() uint64 { cancel(); require.NoError(t, <-done); return f.Repeats() }
	}
	upTo := func(h int64) int {
		n := 0
		for _, r := range recs[:h+1] {
			for ti := range r.Txs {
				n += len(r.Txs[ti].Events)
			}
		}
		return n
	}

	stop := run()
	c.commitUpTo(half) // blocks commit while the feed runs
	testkit.PollTrue(t, 10*time.Second, "the first half published", func() bool { return len(streamEvents(t, js)) == upTo(half) })
	assert.Zero(t, stop())
	c.commitUpTo(int64(len(recs) - 1))
	stop = run()
	testkit.PollTrue(t, 10*time.Second, "every event published", func() bool { return len(streamEvents(t, js)) >= len(want) })
	// The server's duplicate window would hide a repeat from the stream;
	// the feed counts what the server dropped: a resume repeats nothing.
	assert.Zero(t, stop(), "events published again after the restart")

	got := streamEvents(t, js)
	ids := make([]string, len(got))
	for i, v := range got {
		ids[i] = v.ID
	}
	assert.Equal(t, want, ids, "every event once, in chain order")
	assert.NotEmpty(t, got[len(got)-1].Type)
}
