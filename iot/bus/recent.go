package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxRecent bounds what one Recent call reads.
const MaxRecent = 2048

// Recent reads up to limit messages of stream on filter stored at or after
// since, oldest first, with an ephemeral ordered consumer: for a console's
// chart or a warehouse operator's latest bay weight. It does not disturb
// any durable consumer. The newest messages win when more than limit
// match: Recent starts late enough to end at the stream's last.
func Recent(ctx context.Context, js jetstream.JetStream, stream, filter string, since time.Time, limit int) ([]Msg, error) {
	if limit <= 0 || limit > MaxRecent {
		return nil, fmt.Errorf("bus: recent: limit %d, want 1..%d", limit, MaxRecent)
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("bus: recent: stream %s: %w", stream, err)
	}
	// Start no earlier than the limit-th newest message on the filter, if
	// the stream knows it: a chart of a busy bay asks for its last hour.
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since}
	last, err := s.GetLastMsgForSubject(ctx, filter)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("bus: recent: %w", err)
	}
	if last.Time.Before(since) {
		return nil, nil
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bus: recent: %w", err)
	}
	var out []Msg
	for ctx.Err() == nil {
		batch, err := c.Fetch(min(limit, 256), jetstream.FetchMaxWait(150*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("bus: recent: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			n++
			out = append(out, Msg{Subject: m.Subject(), Data: m.Data(), MsgID: m.Headers().Get("Nats-Msg-Id"),
				StreamSeq: meta.Sequence.Stream, Stored: meta.Timestamp})
			if len(out) > limit {
				out = out[1:]
			}
		}
		if n == 0 || (len(out) > 0 && out[len(out)-1].StreamSeq >= last.Sequence) {
			return out, nil
		}
	}
	return nil, ctx.Err()
}
