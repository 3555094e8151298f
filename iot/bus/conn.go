package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connection limits and defaults.
const (
	// DefaultClientName is the connection name the server shows in its
	// connection list; callers override it with nats.Name (e.g. "ewr-supervisor-wh1").
	DefaultClientName = "ewr"
	// DefaultConnectTimeout bounds the first connect when ctx has no sooner
	// deadline.
	DefaultConnectTimeout = 5 * time.Second
	// ReconnectBufBytes bounds what a publisher buffers while disconnected;
	// beyond it publishes fail instead of growing memory.
	ReconnectBufBytes = 8 << 20
	// MaxAsyncPublishPending bounds unacknowledged async publishes per
	// JetStream context; PublishMsgAsync stalls, then fails, beyond it.
	MaxAsyncPublishPending = 4096
	// PublishAckTimeout bounds the wait for one async publish ack.
	PublishAckTimeout = 10 * time.Second
)

// Connect dials the NATS server at url (the embedded one or an external one
// given by --nats-url). It reconnects forever, every quarter second with
// jitter: the bus outlives server restarts, and a supervisor that silently
// gave up reconnecting would be worse than one that keeps trying. Liveness
// is checked with pings every 10s, 3 missed pings close the socket. opts are
// applied after these defaults and override them.
func Connect(ctx context.Context, url string, opts ...nats.Option) (*nats.Conn, error) {
	if url == "" {
		return nil, errors.New("bus: connect: empty url")
	}
	timeout := DefaultConnectTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", url, err)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("bus: connect %s: %w", url, context.DeadlineExceeded)
	}
	all := append([]nats.Option{
		nats.Name(DefaultClientName),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(ReconnectBufBytes),
		nats.PingInterval(10 * time.Second),
		nats.MaxPingsOutstanding(3),
	}, opts...)

	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, all...)
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("bus: connect %s: %w", url, r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		// The dial is bounded by timeout; close whatever it yields.
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("bus: connect %s: %w", url, ctx.Err())
	}
}

// JetStream returns a JetStream context on nc with this package's bounds on
// async publishing.
func JetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(MaxAsyncPublishPending),
		jetstream.WithPublishAsyncTimeout(PublishAckTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	return js, nil
}
