package member

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// readings answers the API's bay readings from the member's own NATS:
// the signed readings of a bay's scale in the stream since a moment, as
// the devices sent them (the stream keeps what the supervisor reads).
type readings struct{ js jetstream.JetStream }

func (r readings) BayReadings(ctx context.Context, warehouse, bay string, since time.Time, max int) ([]iot.SignedReading, error) {
	// Any device of the bay: the subject with its device token a wildcard.
	subject, err := bus.ReadingSubject(warehouse, iot.BayToken(bay), "DEVICE", iot.KindWeight.String())
	if err != nil {
		return nil, err
	}
	subject = strings.Replace(subject, ".DEVICE.", ".*.", 1)
	// A short-lived consumer per request: removed when done, and by the
	// server soon after should the removal not arrive (a chart polls every
	// few seconds; the library's default keeps one five minutes).
	c, err := r.js.OrderedConsumer(ctx, bus.ReadingsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject},
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since, InactiveThreshold: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	defer func() {
		if info := c.CachedInfo(); info != nil {
			_ = r.js.DeleteConsumer(context.WithoutCancel(ctx), bus.ReadingsStream, info.Name)
		}
	}()
	out := []iot.SignedReading{}
	for len(out) < max {
		batch, err := c.Fetch(min(256, max-len(out)), jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if sr, _, err := iot.Decode(m.Data()); err == nil {
				out = append(out, *sr)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}
