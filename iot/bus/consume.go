package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Consumer defaults and limits.
const (
	DefaultBatch         = 256
	MaxBatch             = 1024
	DefaultMaxAckPending = 4096
	MaxAckPendingLimit   = 65536
	DefaultAckWait       = 30 * time.Second
	MinAckWait           = 100 * time.Millisecond
	DefaultMaxDeliver    = 20
	MaxDeliverLimit      = 1000
	DefaultNakDelay      = time.Second
	DefaultMaxNakDelay   = 30 * time.Second

	// gatherWait is how long Fetch waits for the next message of a batch
	// when the server said more are pending; a batch never waits on an
	// empty stream.
	gatherWait = 5 * time.Millisecond
	// closeWait bounds how long Close spends handing buffered messages back.
	closeWait = 2 * time.Second
)

// ErrConsumerConfig rejects an invalid ConsumerConfig.
var ErrConsumerConfig = errors.New("bus: consumer config")

// ConsumerConfig configures a durable pull consumer. Zero fields other than
// Stream and Durable take their defaults.
type ConsumerConfig struct {
	// Stream is ReadingsStream or EventsStream (any existing stream works).
	Stream string
	// Durable names the consumer on the server; its position survives
	// restarts of the consumer and of the server. One name per supervisor.
	Durable string
	// FilterSubject narrows the stream (e.g. ReadingFilter("wh1", "", "", "")).
	// Empty means the whole stream.
	FilterSubject string
	// Batch is how many messages Consume fetches per pull, and the most
	// Fetch returns; default DefaultBatch, at most MaxBatch.
	Batch int
	// MaxAckPending bounds messages delivered and not yet acked; the server
	// stops delivering at the bound. Default DefaultMaxAckPending; at least
	// 2×Batch so prefetch never starves.
	MaxAckPending int
	// AckWait is how long the server waits for an ack before redelivering
	// (a crashed consumer's messages come back after it). Default
	// DefaultAckWait.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one message; Consume terminates a
	// message whose last allowed delivery failed. Default DefaultMaxDeliver.
	MaxDeliver int
	// NakDelay is the redelivery delay after the first handler error,
	// doubled per delivery up to MaxNakDelay. Defaults DefaultNakDelay and
	// DefaultMaxNakDelay.
	NakDelay    time.Duration
	MaxNakDelay time.Duration
	// Logger reports terminated messages. Default slog.Default().
	Logger *slog.Logger
}

func (c *ConsumerConfig) setDefaults() error {
	if c.Stream == "" || !ValidToken(c.Stream) {
		return fmt.Errorf("%w: stream %q", ErrConsumerConfig, c.Stream)
	}
	if !ValidToken(c.Durable) {
		return fmt.Errorf("%w: durable name %q", ErrConsumerConfig, c.Durable)
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = max(DefaultMaxAckPending, 2*c.Batch)
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.NakDelay == 0 {
		c.NakDelay = DefaultNakDelay
	}
	if c.MaxNakDelay == 0 {
		c.MaxNakDelay = max(DefaultMaxNakDelay, c.NakDelay)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.Batch < 1 || c.Batch > MaxBatch:
		return fmt.Errorf("%w: batch %d, want 1..%d", ErrConsumerConfig, c.Batch, MaxBatch)
	case c.MaxAckPending < 2*c.Batch || c.MaxAckPending > MaxAckPendingLimit:
		return fmt.Errorf("%w: max ack pending %d, want %d..%d", ErrConsumerConfig, c.MaxAckPending, 2*c.Batch, MaxAckPendingLimit)
	case c.AckWait < MinAckWait:
		return fmt.Errorf("%w: ack wait %v, want at least %v", ErrConsumerConfig, c.AckWait, MinAckWait)
	case c.MaxDeliver < 1 || c.MaxDeliver > MaxDeliverLimit:
		return fmt.Errorf("%w: max deliver %d, want 1..%d", ErrConsumerConfig, c.MaxDeliver, MaxDeliverLimit)
	case c.NakDelay < 0 || c.MaxNakDelay < c.NakDelay:
		return fmt.Errorf("%w: nak delay %v..%v", ErrConsumerConfig, c.NakDelay, c.MaxNakDelay)
	}
	return nil
}

// Msg is one delivery of a stored message. Its fields are what an
// idempotent handler needs: StreamSeq and MsgID identify the message across
// deliveries, NumDelivered > 1 says it was handed out before.
type Msg struct {
	Subject string
	Data    []byte
	// MsgID is the Nats-Msg-Id it was published with.
	MsgID string
	// StreamSeq is the message's sequence in the stream: stable across
	// deliveries, consumers and restarts.
	StreamSeq uint64
	// ConsumerSeq counts deliveries by this consumer, redeliveries included.
	ConsumerSeq uint64
	// NumDelivered is 1 on first delivery and counts up on each redelivery.
	NumDelivered uint64
	// NumPending is how many more messages matched the consumer and were
	// not yet delivered when this one was.
	NumPending uint64
	// Stored is when the server stored the message.
	Stored time.Time

	raw jetstream.Msg
}

// Redelivered reports whether this message was delivered before: handled,
// maybe applied, but its ack never arrived.
func (m Msg) Redelivered() bool { return m.NumDelivered > 1 }

var errNoRaw = errors.New("bus: message was not delivered by a consumer")

// Ack tells the server the message is done. It does not wait for the
// server; a lost ack means a redelivery, never a loss.
func (m Msg) Ack() error {
	if m.raw == nil {
		return errNoRaw
	}
	if err := m.raw.Ack(); err != nil {
		return fmt.Errorf("bus: ack seq %d: %w", m.StreamSeq, err)
	}
	return nil
}

// AckSync acks and waits for the server to confirm it.
func (m Msg) AckSync(ctx context.Context) error {
	if m.raw == nil {
		return errNoRaw
	}
	if err := m.raw.DoubleAck(ctx); err != nil {
		return fmt.Errorf("bus: ack seq %d: %w", m.StreamSeq, err)
	}
	return nil
}

// Nak asks for redelivery after delay (0: at once).
func (m Msg) Nak(delay time.Duration) error {
	if m.raw == nil {
		return errNoRaw
	}
	var err error
	if delay > 0 {
		err = m.raw.NakWithDelay(delay)
	} else {
		err = m.raw.Nak()
	}
	if err != nil {
		return fmt.Errorf("bus: nak seq %d: %w", m.StreamSeq, err)
	}
	return nil
}

// InProgress restarts the message's AckWait, for a handler that takes long.
func (m Msg) InProgress() error {
	if m.raw == nil {
		return errNoRaw
	}
	if err := m.raw.InProgress(); err != nil {
		return fmt.Errorf("bus: in progress seq %d: %w", m.StreamSeq, err)
	}
	return nil
}

// Term tells the server never to redeliver the message.
func (m Msg) Term(reason string) error {
	if m.raw == nil {
		return errNoRaw
	}
	if err := m.raw.TermWithReason(reason); err != nil {
		return fmt.Errorf("bus: term seq %d: %w", m.StreamSeq, err)
	}
	return nil
}

func newMsg(raw jetstream.Msg) (Msg, error) {
	md, err := raw.Metadata()
	if err != nil {
		return Msg{}, fmt.Errorf("bus: message metadata: %w", err)
	}
	return Msg{
		Subject:      raw.Subject(),
		Data:         raw.Data(),
		MsgID:        raw.Headers().Get(jetstream.MsgIDHeader),
		StreamSeq:    md.Sequence.Stream,
		ConsumerSeq:  md.Sequence.Consumer,
		NumDelivered: md.NumDelivered,
		NumPending:   md.NumPending,
		Stored:       md.Timestamp,
		raw:          raw,
	}, nil
}

// Handler processes one message. Returning nil acks it; an error naks it
// for a later redelivery. A handler must be idempotent: the same message
// can arrive again after a crash or a lost ack.
type Handler func(ctx context.Context, m Msg) error

// Consumer is a durable pull consumer with explicit acks. It prefetches up
// to Batch messages. Its methods are not safe for concurrent use.
type Consumer struct {
	cfg ConsumerConfig
	js  jetstream.JetStream
	con jetstream.Consumer
	it  jetstream.MessagesContext
}

// OpenConsumer creates the durable consumer cfg describes, or updates it,
// and starts pulling. A new durable starts at the stream's first message;
// an existing one resumes after its last acked message.
func OpenConsumer(ctx context.Context, js jetstream.JetStream, cfg ConsumerConfig) (*Consumer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	con, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:         cfg.Durable,
		DeliverPolicy:   jetstream.DeliverAllPolicy,
		AckPolicy:       jetstream.AckExplicitPolicy,
		AckWait:         cfg.AckWait,
		MaxDeliver:      cfg.MaxDeliver,
		MaxAckPending:   cfg.MaxAckPending,
		MaxRequestBatch: cfg.Batch,
		FilterSubject:   cfg.FilterSubject,
		ReplayPolicy:    jetstream.ReplayInstantPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	it, err := con.Messages(
		jetstream.PullMaxMessages(cfg.Batch),
		// A missing heartbeat (server restart) re-issues the pull instead of
		// ending the iterator: the supervisor keeps consuming across it.
		jetstream.WithMessagesErrOnMissingHeartbeat(false),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	return &Consumer{cfg: cfg, js: js, con: con, it: it}, nil
}

// Config returns the consumer's configuration with defaults filled in.
func (c *Consumer) Config() ConsumerConfig { return c.cfg }

// Info returns the server's view of the consumer (ack floor, pending).
func (c *Consumer) Info(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	info, err := c.con.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s info: %w", c.cfg.Durable, err)
	}
	return info, nil
}

// Fetch returns between 1 and maxMsgs messages (maxMsgs ≤ Batch), blocking
// until at least one is there or ctx ends. It does not wait to fill the
// batch when the server has no more. The caller acks or naks each message;
// what it drops comes back after AckWait.
func (c *Consumer) Fetch(ctx context.Context, maxMsgs int) ([]Msg, error) {
	if maxMsgs < 1 || maxMsgs > c.cfg.Batch {
		return nil, fmt.Errorf("bus: fetch %d messages, want 1..%d", maxMsgs, c.cfg.Batch)
	}
	raw, err := c.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		return nil, c.fetchErr(err)
	}
	m, err := newMsg(raw)
	if err != nil {
		return nil, err
	}
	out := make([]Msg, 1, maxMsgs)
	out[0] = m
	for len(out) < maxMsgs && m.NumPending > 0 && ctx.Err() == nil {
		raw, err := c.it.Next(jetstream.NextMaxWait(gatherWait))
		if err != nil {
			// A timeout ends the batch; any other error too: hand out what
			// we have and let the next Fetch report it.
			break
		}
		if m, err = newMsg(raw); err != nil {
			nakAll(out)
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (c *Consumer) fetchErr(err error) error {
	return fmt.Errorf("bus: fetch from %s on %s: %w", c.cfg.Durable, c.cfg.Stream, err)
}

// Consume runs h on each message in stream order until ctx ends or the
// consumer fails, acking a message only after h returned nil for it. A
// handler error naks the message with a delay that doubles per delivery
// (NakDelay up to MaxNakDelay); the delivery that reaches MaxDeliver and
// fails terminates it and logs. Consume returns nil when ctx ends; messages
// fetched but not handled by then are handed back at once.
func (c *Consumer) Consume(ctx context.Context, h Handler) error {
	defer c.flush()
	for {
		msgs, err := c.Fetch(ctx, c.cfg.Batch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for i, m := range msgs {
			if ctx.Err() != nil {
				nakAll(msgs[i:])
				return nil
			}
			if herr := h(ctx, m); herr != nil {
				c.retryLater(ctx, m, herr)
				continue
			}
			if err := m.Ack(); err != nil {
				// The connection is closed; unacked messages come back.
				return err
			}
		}
	}
}

// retryLater naks m after a handler error, or terminates it on its last
// allowed delivery.
func (c *Consumer) retryLater(ctx context.Context, m Msg, herr error) {
	if m.NumDelivered >= uint64(c.cfg.MaxDeliver) {
		c.cfg.Logger.Error("bus: message terminated after max deliveries",
			"stream", c.cfg.Stream, "durable", c.cfg.Durable, "subject", m.Subject,
			"msg_id", m.MsgID, "stream_seq", m.StreamSeq, "deliveries", m.NumDelivered, "err", herr)
		_ = m.Term(fmt.Sprintf("handler failed %d times: %v", m.NumDelivered, herr))
		return
	}
	delay := time.Duration(0)
	if ctx.Err() == nil {
		// Shutting down hands the message back at once; otherwise back off.
		delay = c.nakDelay(m.NumDelivered)
	}
	_ = m.Nak(delay) // on failure the server redelivers after AckWait
}

func (c *Consumer) nakDelay(delivered uint64) time.Duration {
	d := c.cfg.NakDelay
	for i := uint64(1); i < delivered && d < c.cfg.MaxNakDelay; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxNakDelay)
}

// Close stops pulling and hands prefetched, unhandled messages back to the
// server so another consumer (or this one restarted) gets them without
// waiting for AckWait. Messages it cannot hand back in time come back after
// AckWait.
func (c *Consumer) Close() {
	c.it.Drain()
	deadline := time.Now().Add(closeWait)
	for n := 0; n < 2*c.cfg.Batch && time.Now().Before(deadline); n++ {
		raw, err := c.it.Next(jetstream.NextMaxWait(100 * time.Millisecond))
		if err != nil {
			break
		}
		_ = raw.Nak()
	}
	c.it.Stop()
	c.flush()
}

// flush pushes buffered acks to the server so a clean stop does not turn
// into redeliveries.
func (c *Consumer) flush() {
	if nc := c.js.Conn(); nc != nil && nc.IsConnected() {
		_ = nc.FlushTimeout(closeWait)
	}
}

func nakAll(msgs []Msg) {
	for _, m := range msgs {
		_ = m.Nak(0)
	}
}

// Consume opens the durable consumer durable on stream with the default
// configuration, runs h until ctx ends (see Consumer.Consume), and closes it.
// Like Consumer.Consume it returns nil once ctx has ended.
func Consume(ctx context.Context, js jetstream.JetStream, stream, durable, filterSubject string, h Handler) error {
	c, err := OpenConsumer(ctx, js, ConsumerConfig{Stream: stream, Durable: durable, FilterSubject: filterSubject})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer c.Close()
	return c.Consume(ctx, h)
}
