package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publishN publishes readings 1..n from device dev and returns their subject.
func publishN(t testing.TB, js jetstream.JetStream, dev string, from, n int) string {
	t.Helper()
	subj := reading(t, "wh1", "bay-1", dev, KindWeight)
	out := make([]Outgoing, 0, n)
	for i := from; i < from+n; i++ {
		out = append(out, Outgoing{Subject: subj, MsgID: ReadingMsgID(dev, 1, uint64(i)), Data: payload(i, 64)})
	}
	_, err := PublishBatch(testCtx(t), js, out)
	require.NoError(t, err)
	return subj
}

// applied is an idempotent handler's memory: what it has applied, keyed by
// message id, and every delivery it saw.
type applied struct {
	mu         sync.Mutex
	byID       map[string]int // applications per id; must end at 1
	deliveries []Msg
}

func newApplied() *applied { return &applied{byID: map[string]int{}} }

func (a *applied) record(m Msg) (first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deliveries = append(a.deliveries, m)
	if a.byID[m.MsgID] > 0 {
		return false
	}
	a.byID[m.MsgID]++
	return true
}

func (a *applied) count() (ids, deliveries int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byID), len(a.deliveries)
}

// runConsume runs c.Consume in the background; the returned stop cancels it
// and returns Consume's result.
func runConsume(t testing.TB, c *Consumer, h Handler) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Consume(ctx, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Consume did not return within 10s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func ackPendingZero(ctx context.Context, c *Consumer, ackFloor uint64) func() error {
	return func() error {
		info, err := c.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.AckFloor.Stream != ackFloor {
			return fmt.Errorf("ack pending %d, ack floor %d, want 0 and %d", info.NumAckPending, info.AckFloor.Stream, ackFloor)
		}
		return nil
	}
}

func TestHandlerErrorRedelivers(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	publishN(t, js, "lc-1", 1, 3)

	c, err := OpenConsumer(ctx, js, ConsumerConfig{
		Stream: ReadingsStream, Durable: "sup", NakDelay: time.Millisecond, MaxNakDelay: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	defer c.Close()

	a := newApplied()
	var mu sync.Mutex
	failsLeft := map[uint64]int{2: 2} // stream seq 2 fails twice, then works
	stop := runConsume(t, c, func(_ context.Context, m Msg) error {
		mu.Lock()
		defer mu.Unlock()
		if failsLeft[m.StreamSeq] > 0 {
			failsLeft[m.StreamSeq]--
			a.mu.Lock()
			a.deliveries = append(a.deliveries, m)
			a.mu.Unlock()
			return errors.New("chain not reachable")
		}
		a.record(m)
		return nil
	})
	testkit.Poll(t, 10*time.Second, "", ackPendingZero(ctx, c, 3))
	require.NoError(t, stop())

	ids, deliveries := a.count()
	assert.Equal(t, 3, ids)
	assert.Equal(t, 5, deliveries)
	var seen []uint64
	for _, m := range a.deliveries {
		if m.StreamSeq == 2 {
			seen = append(seen, m.NumDelivered)
		}
	}
	assert.Equal(t, []uint64{1, 2, 3}, seen, "each redelivery is counted")
}

// TestDeliveredTenTimesAppliedOnce: the same reading published ten times is
// stored once; delivered ten times it is visible as a redelivery each time
// after the first, so an idempotent handler applies it once.
func TestDeliveredTenTimesAppliedOnce(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	subj := reading(t, "wh1", "bay-1", "cam-1", KindMotion)
	for range 10 {
		_, _, err := Publish(ctx, js, subj, ReadingMsgID("cam-1", 1, 99), []byte("motion"))
		require.NoError(t, err)
	}

	c, err := OpenConsumer(ctx, js, ConsumerConfig{
		Stream: ReadingsStream, Durable: "sup", NakDelay: time.Millisecond, MaxNakDelay: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	defer c.Close()

	a := newApplied()
	var mu sync.Mutex
	var delivered []uint64
	stop := runConsume(t, c, func(_ context.Context, m Msg) error {
		a.record(m) // applied on first sight; the ack is "lost" until the tenth delivery
		mu.Lock()
		defer mu.Unlock()
		delivered = append(delivered, m.NumDelivered)
		if m.NumDelivered < 10 {
			return errors.New("ack lost")
		}
		return nil
	})
	testkit.Poll(t, 10*time.Second, "", ackPendingZero(ctx, c, 1))
	require.NoError(t, stop())

	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, delivered)
	assert.Equal(t, map[string]int{"cam-1:1:99": 1}, a.byID, "applied once")
	for _, m := range a.deliveries {
		assert.Equal(t, uint64(1), m.StreamSeq)
		assert.Equal(t, m.NumDelivered > 1, m.Redelivered())
	}
}

// TestCrashBeforeAck: a consumer that dies holding messages (no ack, no nak)
// gets them back, marked as redelivered, on a new connection after AckWait.
func TestCrashBeforeAck(t *testing.T) {
	s, _, js := setup(t)
	ctx := testCtx(t)
	publishN(t, js, "lc-1", 1, 5)
	cfg := ConsumerConfig{Stream: ReadingsStream, Durable: "sup", AckWait: 500 * time.Millisecond}

	nc1, js1 := connectJS(t, s.ClientURL())
	c1, err := OpenConsumer(ctx, js1, cfg)
	require.NoError(t, err)
	msgs, err := c1.Fetch(ctx, 5)
	require.NoError(t, err)
	require.NotEmpty(t, msgs)
	require.NoError(t, msgs[0].Ack()) // the first one was done
	require.NoError(t, nc1.Flush())
	nc1.Close() // crash: the rest are neither acked nor naked

	c2, err := OpenConsumer(ctx, js, cfg)
	require.NoError(t, err)
	defer c2.Close()
	var got []Msg
	for len(got) < 4 {
		batch, err := c2.Fetch(ctx, 5)
		require.NoError(t, err)
		for _, m := range batch {
			got = append(got, m)
			require.NoError(t, m.Ack())
		}
	}
	for i, m := range got {
		assert.Equal(t, uint64(i+2), m.StreamSeq, "acked seq 1 not redelivered")
	}
	// c1's pull took all five: on the server they were delivered, unacked.
	for _, m := range got {
		assert.True(t, m.Redelivered(), "seq %d", m.StreamSeq)
		assert.Equal(t, uint64(2), m.NumDelivered, "seq %d", m.StreamSeq)
	}
	testkit.Poll(t, 5*time.Second, "", ackPendingZero(ctx, c2, 5))
}

// TestRestartResumes: a supervisor that stops and starts again with the same
// durable name gets only what it had not acked.
func TestRestartResumes(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	publishN(t, js, "lc-1", 1, 300)

	open := func() *Consumer {
		c, err := OpenConsumer(ctx, js, ConsumerConfig{Stream: ReadingsStream, Durable: "sup-wh1", Batch: 64})
		require.NoError(t, err)
		return c
	}
	a := newApplied()
	handler := func(_ context.Context, m Msg) error {
		assert.True(t, a.record(m), "message %s applied twice", m.MsgID)
		assert.False(t, m.Redelivered(), "message %s redelivered", m.MsgID)
		return nil
	}

	c := open()
	stop := runConsume(t, c, handler)
	testkit.Poll(t, 10*time.Second, "", ackPendingZero(ctx, c, 300))
	require.NoError(t, stop())
	c.Close()

	publishN(t, js, "lc-1", 301, 200)
	c = open()
	defer c.Close()
	stop = runConsume(t, c, handler)
	testkit.Poll(t, 10*time.Second, "", ackPendingZero(ctx, c, 500))
	require.NoError(t, stop())

	ids, deliveries := a.count()
	assert.Equal(t, 500, ids)
	assert.Equal(t, 500, deliveries, "no acked message came back")
	for i, m := range a.deliveries {
		assert.Equal(t, uint64(i+1), m.StreamSeq, "stream order")
	}
}

// TestCloseHandsBackPrefetched: messages prefetched but not handed to the
// handler go back at once on Close, not after AckWait.
func TestCloseHandsBackPrefetched(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	publishN(t, js, "lc-1", 1, 20)
	cfg := ConsumerConfig{Stream: ReadingsStream, Durable: "sup", Batch: 16, AckWait: time.Minute}

	c, err := OpenConsumer(ctx, js, cfg)
	require.NoError(t, err)
	msgs, err := c.Fetch(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, msgs[0].AckSync(ctx))
	c.Close()

	c, err = OpenConsumer(ctx, js, cfg)
	require.NoError(t, err)
	defer c.Close()
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second) // far below AckWait
	defer cancel()
	var seqs []uint64
	for len(seqs) < 19 {
		batch, err := c.Fetch(fctx, 16)
		require.NoError(t, err, "prefetched messages were not handed back")
		for _, m := range batch {
			seqs = append(seqs, m.StreamSeq)
			require.NoError(t, m.Ack())
		}
	}
	assert.Equal(t, uint64(2), seqs[0])
	assert.Len(t, seqs, 19)
}

func TestMaxDeliverTerminates(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	publishN(t, js, "lc-1", 1, 2)

	var logs syncBuffer
	c, err := OpenConsumer(ctx, js, ConsumerConfig{
		Stream: ReadingsStream, Durable: "sup", MaxDeliver: 3,
		NakDelay: time.Millisecond, MaxNakDelay: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	defer c.Close()

	var mu sync.Mutex
	calls := map[uint64]int{}
	stop := runConsume(t, c, func(_ context.Context, m Msg) error {
		mu.Lock()
		defer mu.Unlock()
		calls[m.StreamSeq]++
		if m.StreamSeq == 1 {
			return errors.New("poison")
		}
		return nil
	})
	testkit.Poll(t, 10*time.Second, "", ackPendingZero(ctx, c, 2))
	require.NoError(t, stop())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[uint64]int{1: 3, 2: 1}, calls)
	assert.Contains(t, logs.String(), "msg_id=lc-1:1", "the terminated message is reported")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFetchBatches(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	publishN(t, js, "lc-1", 1, 600)

	c, err := OpenConsumer(ctx, js, ConsumerConfig{Stream: ReadingsStream, Durable: "sup", Batch: 256})
	require.NoError(t, err)
	defer c.Close()

	_, err = c.Fetch(ctx, 257)
	require.Error(t, err)

	var total, largest int
	next := uint64(1)
	for total < 600 {
		msgs, err := c.Fetch(ctx, 256)
		require.NoError(t, err)
		require.LessOrEqual(t, len(msgs), 256)
		largest = max(largest, len(msgs))
		for _, m := range msgs {
			require.Equal(t, next, m.StreamSeq)
			next++
			require.NoError(t, m.Ack())
		}
		total += len(msgs)
	}
	assert.Equal(t, 600, total)
	assert.Greater(t, largest, 1, "a fetch gathers more than one message")
	t.Logf("largest batch %d", largest)

	// With nothing left, Fetch waits for ctx rather than return empty.
	fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = c.Fetch(fctx, 256)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestConsumeReturnsNilOnCancel(t *testing.T) {
	_, _, js := setup(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		done <- Consume(ctx, js, ReadingsStream, "sup", "", func(context.Context, Msg) error { return nil })
	}()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Consume did not return after cancel")
	}
}

func TestConsumerConfigRefuses(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	for _, cfg := range []ConsumerConfig{
		{Stream: "", Durable: "d"},
		{Stream: ReadingsStream, Durable: ""},
		{Stream: ReadingsStream, Durable: "a.b"},
		{Stream: ReadingsStream, Durable: "d", Batch: MaxBatch + 1},
		{Stream: ReadingsStream, Durable: "d", Batch: 256, MaxAckPending: 100},
		{Stream: ReadingsStream, Durable: "d", MaxAckPending: MaxAckPendingLimit + 1},
		{Stream: ReadingsStream, Durable: "d", AckWait: time.Millisecond},
		{Stream: ReadingsStream, Durable: "d", MaxDeliver: MaxDeliverLimit + 1},
		{Stream: ReadingsStream, Durable: "d", NakDelay: time.Minute, MaxNakDelay: time.Second},
	} {
		_, err := OpenConsumer(ctx, js, cfg)
		assert.ErrorIs(t, err, ErrConsumerConfig, "%+v", cfg)
	}
	_, err := OpenConsumer(ctx, js, ConsumerConfig{Stream: "NOPE", Durable: "d"})
	assert.ErrorIs(t, err, jetstream.ErrStreamNotFound)
}

func TestNakDelayBackoff(t *testing.T) {
	c := &Consumer{cfg: ConsumerConfig{NakDelay: time.Second, MaxNakDelay: 5 * time.Second}}
	var got []time.Duration
	for n := uint64(1); n <= 5; n++ {
		got = append(got, c.nakDelay(n))
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, got)
}

// TestConsumeAcrossServerRestart: a running Consume rides out a restart of
// the server under it (same store, same port) and resumes where it was.
func TestConsumeAcrossServerRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := StartEmbedded(Options{StoreDir: dir, Port: RandomPort})
	require.NoError(t, err)
	port := s.ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { s.Shutdown() })
	nc, js := connectJS(t, s.ClientURL())
	ctx := testCtx(t)
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))
	publishN(t, js, "lc-1", 1, 100)

	c, err := OpenConsumer(ctx, js, ConsumerConfig{Stream: ReadingsStream, Durable: "sup", AckWait: 2 * time.Second})
	require.NoError(t, err)
	defer c.Close()
	a := newApplied()
	stop := runConsume(t, c, func(_ context.Context, m Msg) error { a.record(m); return nil })
	testkit.Poll(t, 10*time.Second, "", ackPendingZero(ctx, c, 100))

	s.Shutdown()
	testkit.Poll(t, 10*time.Second, "", func() error {
		if nc.IsConnected() {
			return errors.New("still connected")
		}
		return nil
	})
	s, err = StartEmbedded(Options{StoreDir: dir, Port: port})
	require.NoError(t, err)
	testkit.Poll(t, 10*time.Second, "", func() error {
		if !nc.IsConnected() {
			return errors.New("not reconnected")
		}
		return nil
	})
	publishN(t, js, "lc-1", 101, 100)
	testkit.Poll(t, 20*time.Second, "", func() error {
		if ids, _ := a.count(); ids != 200 {
			return fmt.Errorf("%d of 200 applied", ids)
		}
		return nil
	})
	require.NoError(t, stop())
}
