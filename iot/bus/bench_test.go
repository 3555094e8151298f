package bus

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// Benchmarks of the raw transport, over TCP on loopback with ~200-byte
// readings, the store in a temp dir on whatever disk that is. Run as
//
//	go test ./iot/bus/ -run '^$' -bench . -benchtime 20000x -cpu 2
//
// and read msgs/s. Publish cost is dominated by one fsync per message under
// sync always; BenchmarkPublishBatch/stock shows what the fsync costs.

const benchMsgBytes = 200

func benchReadings(b *testing.B, from, n int) []Outgoing {
	subj := reading(b, "wh1", "bay-1", "lc-1", KindWeight)
	out := make([]Outgoing, n)
	for i := range out {
		out[i] = Outgoing{Subject: subj, MsgID: ReadingMsgID("lc-1", 1, uint64(from+i)), Data: payload(from+i, benchMsgBytes)}
	}
	return out
}

// publishAll publishes msgs in PublishBatch chunks of chunk messages.
func publishAll(b *testing.B, js jetstream.JetStream, msgs []Outgoing, chunk int) {
	ctx := context.Background()
	for i := 0; i < len(msgs); i += chunk {
		if _, err := PublishBatch(ctx, js, msgs[i:min(i+chunk, len(msgs))]); err != nil {
			b.Fatal(err)
		}
	}
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkPublishBatch(b *testing.B) {
	b.Run("sync-always", func(b *testing.B) {
		s := startServer(b)
		_, js := connectJS(b, s.ClientURL())
		require.NoError(b, EnsureStreams(testCtx(b), js, StreamOptions{}))
		benchPublishBatch(b, js)
	})
	b.Run("stock", func(b *testing.B) {
		ns := startStockServer(b, b.TempDir())
		_, js := connectJS(b, ns.ClientURL())
		require.NoError(b, EnsureStreams(testCtx(b), js, StreamOptions{}))
		benchPublishBatch(b, js)
	})
}

func benchPublishBatch(b *testing.B, js jetstream.JetStream) {
	msgs := benchReadings(b, 0, b.N)
	b.SetBytes(benchMsgBytes)
	b.ResetTimer()
	publishAll(b, js, msgs, 1024)
	b.StopTimer()
	reportRate(b)
}

// BenchmarkPublishSync is one device publishing and waiting for each ack.
func BenchmarkPublishSync(b *testing.B) {
	_, _, js := setup(b)
	msgs := benchReadings(b, 0, b.N)
	ctx := context.Background()
	b.SetBytes(benchMsgBytes)
	b.ResetTimer()
	for _, m := range msgs {
		if _, _, err := Publish(ctx, js, m.Subject, m.MsgID, m.Data); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRate(b)
}

// BenchmarkConsume is the supervisor's read path: Consume with batch 256, a
// no-op handler and one ack per message, from a stream holding b.N readings.
func BenchmarkConsume(b *testing.B) {
	_, _, js := setup(b)
	publishAll(b, js, benchReadings(b, 0, b.N), 1024)

	c, err := OpenConsumer(testCtx(b), js, ConsumerConfig{Stream: ReadingsStream, Durable: "bench", Batch: 256})
	require.NoError(b, err)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	b.SetBytes(benchMsgBytes)
	b.ResetTimer()
	err = c.Consume(ctx, func(_ context.Context, m Msg) error {
		if n.Add(1) == int64(b.N) {
			cancel()
		}
		return nil
	})
	b.StopTimer()
	require.NoError(b, err)
	require.Equal(b, int64(b.N), n.Load())
	reportRate(b)
}

// BenchmarkFetch is the batch path: Fetch 256 at a time, ack each.
func BenchmarkFetch(b *testing.B) {
	_, _, js := setup(b)
	publishAll(b, js, benchReadings(b, 0, b.N), 1024)

	c, err := OpenConsumer(testCtx(b), js, ConsumerConfig{Stream: ReadingsStream, Durable: "bench", Batch: 256})
	require.NoError(b, err)
	defer c.Close()
	ctx := context.Background()
	b.SetBytes(benchMsgBytes)
	b.ResetTimer()
	for got := 0; got < b.N; {
		msgs, err := c.Fetch(ctx, 256)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				b.Fatal(err)
			}
		}
		got += len(msgs)
	}
	b.StopTimer()
	reportRate(b)
}
