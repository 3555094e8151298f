package bus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAckedReadingsSurviveKill9 runs the embedded server in a child process,
// publishes until a few hundred readings are acked, kills the child with
// SIGKILL while publishes are still in flight, restarts it on the same store
// and checks every acked reading is there, byte for byte, and that the dedup
// window survived (republishing an acked id is a duplicate).
//
// What this simulates: a process crash at an arbitrary point, with no
// shutdown path run (no flush, no index write, no graceful close). What it
// cannot: a power cut or kernel panic, where the page cache is lost too; a
// SIGKILL leaves written-but-unsynced data in the page cache, so this test
// would also pass without sync-always. TestSyncAlwaysLeavesNoDirtyPages
// covers that half by showing no acked byte waits in the page cache.
func TestAckedReadingsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	child := startChild(t, dir)

	nc, err := Connect(testCtx(t), child.url, nats.MaxReconnects(0), nats.NoReconnect())
	require.NoError(t, err)
	defer nc.Close()
	js, err := JetStream(nc)
	require.NoError(t, err)
	ctx := testCtx(t)
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))

	type acked struct {
		seq  uint64
		id   string
		subj string
		data []byte
	}
	var (
		mu   sync.Mutex
		done []acked
	)
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(done) }

	// Four devices publish concurrently: readings are in flight when the
	// kill lands, so some are on disk unacked and some are lost unacked.
	const devices = 4
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	var wg sync.WaitGroup
	for d := range devices {
		dev := []string{"lc-1", "lc-2", "cam-1", "seal-1"}[d]
		subj := reading(t, "wh1", "bay-1", dev, KindWeight)
		wg.Go(func() {
			for i := uint64(1); pubCtx.Err() == nil; i++ {
				id, data := ReadingMsgID(dev, 1, i), payload(int(i)*devices+d, 200)
				seq, dup, err := Publish(pubCtx, js, subj, id, data)
				if err != nil {
					return // the server died
				}
				if dup {
					t.Errorf("fresh reading %s acked as duplicate", id)
					return
				}
				mu.Lock()
				done = append(done, acked{seq, id, subj, data})
				mu.Unlock()
			}
		})
	}
	testkit.Poll(t, 20*time.Second, "", func() error {
		if n := ackedCount(); n < 400 {
			return fmt.Errorf("%d acked", n)
		}
		return nil
	})
	child.kill()
	stopPub()
	wg.Wait()
	nc.Close()

	mu.Lock()
	want := append([]acked(nil), done...)
	mu.Unlock()
	t.Logf("%d readings acked before SIGKILL", len(want))

	child = startChild(t, dir)
	_, js = connectJS(t, child.url)
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))
	st, err := js.Stream(ctx, ReadingsStream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, info.State.Msgs, uint64(len(want)), "stored ≥ acked")
	for _, a := range want {
		m, err := st.GetMsg(ctx, a.seq)
		require.NoError(t, err, "acked seq %d (%s) lost", a.seq, a.id)
		assert.Equal(t, a.subj, m.Subject)
		assert.Equal(t, a.id, m.Header.Get(jetstream.MsgIDHeader))
		assert.Equal(t, a.data, m.Data, "seq %d", a.seq)
	}
	// The dedup state came back with the messages: a device retrying a
	// reading whose ack it never saw cannot store it twice.
	last := want[len(want)-1]
	seq, dup, err := Publish(ctx, js, last.subj, last.id, last.data)
	require.NoError(t, err)
	assert.True(t, dup)
	assert.Equal(t, last.seq, seq)
}
