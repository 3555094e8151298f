package bus

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishConsumeRoundTrip(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)

	subj := reading(t, "wh1", "bay-1", "lc-1", KindWeight)
	seq, dup, err := Publish(ctx, js, subj, ReadingMsgID("lc-1", 1, 1), []byte(`{"kg":1000}`))
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Equal(t, uint64(1), seq)

	ev, err := EventSubject("receipt_issued")
	require.NoError(t, err)
	evSeq, _, err := Publish(ctx, js, ev, "h10:0", []byte(`{"receipt":"r1"}`))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), evSeq, "events have their own stream")

	c, err := OpenConsumer(ctx, js, ConsumerConfig{Stream: ReadingsStream, Durable: "sup-wh1",
		FilterSubject: mustFilter(t, "wh1")})
	require.NoError(t, err)
	defer c.Close()
	msgs, err := c.Fetch(ctx, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, subj, m.Subject)
	assert.Equal(t, []byte(`{"kg":1000}`), m.Data)
	assert.Equal(t, "lc-1:1:1", m.MsgID)
	assert.Equal(t, uint64(1), m.StreamSeq)
	assert.Equal(t, uint64(1), m.NumDelivered)
	assert.False(t, m.Redelivered())
	assert.Zero(t, m.NumPending)
	assert.WithinDuration(t, time.Now(), m.Stored, time.Minute)
	require.NoError(t, m.AckSync(ctx))

	info, err := c.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), info.AckFloor.Stream)
	assert.Zero(t, info.NumAckPending)
}

func mustFilter(t testing.TB, wh string) string {
	t.Helper()
	f, err := ReadingFilter(wh, "", "", "")
	require.NoError(t, err)
	return f
}

func TestDuplicateMsgIDStoredOnce(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	subj := reading(t, "wh1", "bay-1", "lc-1", KindWeight)
	id := ReadingMsgID("lc-1", 1, 7)

	first, dup, err := Publish(ctx, js, subj, id, []byte("r7"))
	require.NoError(t, err)
	require.False(t, dup)
	for range 9 {
		seq, dup, err := Publish(ctx, js, subj, id, []byte("r7"))
		require.NoError(t, err)
		assert.True(t, dup)
		assert.Equal(t, first, seq, "a duplicate names the stored copy")
	}
	// A different sequence from the same device is a new reading.
	seq, dup, err := Publish(ctx, js, subj, ReadingMsgID("lc-1", 1, 8), []byte("r8"))
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Equal(t, first+1, seq)

	st, err := js.Stream(ctx, ReadingsStream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), info.State.Msgs)
}

func TestPublishRefuses(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	subj := reading(t, "wh1", "b", "d", KindSeal)

	_, _, err := Publish(ctx, js, "ewr.other.x", "id", nil)
	assert.ErrorIs(t, err, ErrInvalidSubject)
	_, _, err = Publish(ctx, js, "ewr.readings.w.*.d.k", "id", nil)
	assert.ErrorIs(t, err, ErrInvalidSubject)
	_, _, err = Publish(ctx, js, subj, "", nil)
	assert.ErrorIs(t, err, ErrInvalidMsgID)
	_, _, err = Publish(ctx, js, subj, "has space", nil)
	assert.ErrorIs(t, err, ErrInvalidMsgID)
	_, _, err = Publish(ctx, js, subj, "id", make([]byte, MaxPayloadBytes+1))
	assert.ErrorIs(t, err, ErrPayloadTooLarge)

	// Under the package limit but over the readings stream's: the server refuses.
	_, _, err = Publish(ctx, js, subj, "big", make([]byte, DefaultReadingsLimits.MaxMsgBytes+1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bus: publish")
	assert.ErrorIs(t, err, jetstream.ErrStreamMessageExceedsMaximum)

	_, err = PublishBatch(ctx, js, make([]Outgoing, MaxPublishBatch+1))
	assert.ErrorIs(t, err, ErrBatchTooLarge)
}

func TestPublishWithoutStreamFails(t *testing.T) {
	s := startServer(t)
	_, js := connectJS(t, s.ClientURL())
	ctx := testCtx(t)
	start := time.Now()
	_, _, err := Publish(ctx, js, reading(t, "w", "b", "d", "k"), "id", nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, jetstream.ErrNoStreamResponse)
	assert.Less(t, time.Since(start), 5*time.Second, "retries are bounded")
}

func TestPublishBatch(t *testing.T) {
	_, _, js := setup(t)
	ctx := testCtx(t)
	subj := reading(t, "wh1", "b1", "scale", KindTicket)
	const n = 1000
	out := make([]Outgoing, 0, n+2)
	for i := range n {
		out = append(out, Outgoing{Subject: subj, MsgID: ReadingMsgID("scale", 1, uint64(i)), Data: payload(i, 200)})
	}
	// A retry of an earlier reading inside the same batch, and a bad one.
	out = append(out, Outgoing{Subject: subj, MsgID: ReadingMsgID("scale", 1, 3), Data: payload(3, 200)})
	out = append(out, Outgoing{Subject: "nope", MsgID: "x"})

	res, err := PublishBatch(ctx, js, out)
	require.Error(t, err, "the bad message fails the batch")
	assert.ErrorIs(t, err, ErrInvalidSubject)
	require.Len(t, res, n+2)
	for i := range n {
		require.NoError(t, res[i].Err)
		assert.Equal(t, uint64(i+1), res[i].Seq, "one connection keeps order")
		assert.False(t, res[i].Duplicate)
	}
	assert.True(t, res[n].Duplicate)
	assert.Equal(t, uint64(4), res[n].Seq)
	assert.ErrorIs(t, res[n+1].Err, ErrInvalidSubject)

	st, err := js.Stream(ctx, ReadingsStream)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(n), info.State.Msgs)
}

func TestEnsureStreams(t *testing.T) {
	s := startServer(t)
	_, js := connectJS(t, s.ClientURL())
	ctx := testCtx(t)

	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}), "idempotent")
	for _, name := range []string{ReadingsStream, EventsStream} {
		st, err := js.Stream(ctx, name)
		require.NoError(t, err)
		cfg := st.CachedInfo().Config
		assert.Equal(t, jetstream.FileStorage, cfg.Storage, name)
		assert.Equal(t, jetstream.DefaultPersistMode, cfg.PersistMode, name)
		assert.Equal(t, 2*time.Minute, cfg.Duplicates, name)
		assert.Equal(t, jetstream.DiscardOld, cfg.Discard, name)
	}

	// Limits are options.
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{Readings: StreamLimits{
		Duplicates: 5 * time.Minute, MaxAge: time.Hour, MaxBytes: 64 << 20,
	}}))
	st, err := js.Stream(ctx, ReadingsStream)
	require.NoError(t, err)
	cfg := st.CachedInfo().Config
	assert.Equal(t, 5*time.Minute, cfg.Duplicates)
	assert.Equal(t, time.Hour, cfg.MaxAge)
	assert.Equal(t, int64(64<<20), cfg.MaxBytes)

	for _, bad := range []StreamOptions{
		{Replicas: -1},
		{Replicas: MaxReplicas + 1},
		{Readings: StreamLimits{Duplicates: 2 * time.Hour}},
		{Readings: StreamLimits{Duplicates: 10 * time.Minute, MaxAge: time.Minute}},
		{Events: StreamLimits{MaxBytes: 1024}},
		{Events: StreamLimits{MaxMsgBytes: MaxPayloadBytes + 1}},
	} {
		assert.Error(t, EnsureStreams(ctx, js, bad), fmt.Sprintf("%+v", bad))
	}
}

func TestEnsureStreamsRefusesAsyncPersist(t *testing.T) {
	s := startServer(t)
	_, js := connectJS(t, s.ClientURL())
	ctx := testCtx(t)

	// Someone created the stream in async persist mode, which turns the
	// server's sync-always off for it; the server cannot change it back.
	cfgs, err := streamConfigs(StreamOptions{})
	require.NoError(t, err)
	async := cfgs[0]
	async.PersistMode = jetstream.AsyncPersistMode
	_, err = js.CreateStream(ctx, async)
	require.NoError(t, err)

	err = EnsureStreams(ctx, js, StreamOptions{})
	require.ErrorIs(t, err, ErrStreamConfig)
	assert.Contains(t, err.Error(), ReadingsStream)
	assert.Contains(t, err.Error(), "sync-always")

	// Memory storage is refused the same way. (On a server of its own:
	// deleting the async stream and creating it again at once can fail in
	// the server, "error creating store for stream", while the old store's
	// files are still being removed.)
	_, js = connectJS(t, startServer(t).ClientURL())
	mem := cfgs[1]
	mem.Storage = jetstream.MemoryStorage
	_, err = js.CreateStream(ctx, mem)
	require.NoError(t, err)
	err = EnsureStreams(ctx, js, StreamOptions{})
	require.ErrorIs(t, err, ErrStreamConfig)
	assert.Contains(t, err.Error(), EventsStream)
}
