package bus

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartEmbeddedSyncsAlways(t *testing.T) {
	dir := t.TempDir()
	s, err := StartEmbedded(Options{StoreDir: dir, Port: RandomPort})
	require.NoError(t, err)
	defer s.Shutdown()

	// The option reached JetStream: the file store fsyncs every write.
	assert.True(t, s.SyncAlways())
	assert.True(t, s.ns.JetStreamConfig().SyncAlways)
	assert.Equal(t, dir, s.StoreDir())
	assert.True(t, strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:"), s.ClientURL())
}

func TestStartEmbeddedNeedsStoreDir(t *testing.T) {
	_, err := StartEmbedded(Options{Port: RandomPort})
	assert.ErrorIs(t, err, ErrNoStoreDir)
	_, err = StartEmbedded(Options{StoreDir: t.TempDir(), Port: 70000})
	assert.Error(t, err)
}

func TestStartEmbeddedPortTaken(t *testing.T) {
	s := startServer(t)
	addr, ok := s.ns.Addr().(*net.TCPAddr)
	require.True(t, ok)
	var logs bytes.Buffer
	_, err := StartEmbedded(Options{
		StoreDir: t.TempDir(), Port: addr.Port, StartTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	assert.ErrorIs(t, err, ErrNotReady)
	assert.Contains(t, logs.String(), "listen", "the server's error reaches the logger")
}

func TestEmbeddedSurvivesRestartOnSameStore(t *testing.T) {
	dir := t.TempDir()
	s, err := StartEmbedded(Options{StoreDir: dir, Port: RandomPort})
	require.NoError(t, err)
	nc, js := connectJS(t, s.ClientURL())
	ctx := testCtx(t)
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))
	subj := reading(t, "wh1", "b1", "lc1", KindWeight)
	seq, _, err := Publish(ctx, js, subj, ReadingMsgID("lc1", 1, 1), []byte("x"))
	require.NoError(t, err)
	nc.Close()
	s.Shutdown()

	s, err = StartEmbedded(Options{StoreDir: dir, Port: RandomPort})
	require.NoError(t, err)
	defer s.Shutdown()
	_, js = connectJS(t, s.ClientURL())
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))
	st, err := js.Stream(ctx, ReadingsStream)
	require.NoError(t, err)
	m, err := st.GetMsg(ctx, seq)
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), m.Data)
}

func TestStoreDirLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := StartEmbedded(Options{StoreDir: dir, Port: RandomPort})
	require.NoError(t, err)
	_, err = StartEmbedded(Options{StoreDir: dir, Port: RandomPort})
	require.ErrorIs(t, err, ErrStoreDirInUse, "two servers on one store corrupt it")
	s.Shutdown()
	s.Shutdown() // idempotent

	s, err = StartEmbedded(Options{StoreDir: dir, Port: RandomPort})
	require.NoError(t, err, "Shutdown released the store")
	s.Shutdown()
}

func TestInProcessConnect(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	nc, err := s.Connect(ctx)
	require.NoError(t, err)
	defer nc.Close()
	js, err := JetStream(nc)
	require.NoError(t, err)
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))
	seq, _, err := Publish(ctx, js, reading(t, "w", "b", "d", KindHeartbeat), "d:1", []byte("hb"))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), seq)
	assert.Equal(t, DefaultClientName, nc.Opts.Name)
}

func TestConnectErrors(t *testing.T) {
	_, err := Connect(context.Background(), "")
	assert.Error(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Connect(ctx, "nats://127.0.0.1:1")
	assert.ErrorIs(t, err, context.Canceled)

	// Nothing listens there: the first connect fails rather than retries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = Connect(testCtx(t), "nats://"+addr)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "bus: connect"), err.Error())
}
