package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamLimits bounds one stream. Zero fields take the stream's default.
type StreamLimits struct {
	// Duplicates is the deduplication window: a message id seen within it
	// is acked as a duplicate and not stored again.
	Duplicates time.Duration
	// MaxAge drops messages older than this.
	MaxAge time.Duration
	// MaxBytes drops the oldest messages once the stream is this large.
	MaxBytes int64
	// MaxMsgBytes refuses larger messages (header and payload).
	MaxMsgBytes int32
}

// StreamOptions configures EnsureStreams. The zero value gives the defaults.
type StreamOptions struct {
	// Replicas is the stream replication on a clustered external server;
	// default 1 (the embedded server is a single node).
	Replicas int
	Readings StreamLimits
	Events   StreamLimits
}

// Default stream limits. A warehouse with 1,000 devices at 1 Hz and 200-byte
// readings writes ~17 GiB a day, so 8 GiB holds ~11 hours at that rate and
// far longer at ordinary rates; the supervisor consumes within seconds and
// the chain anchors what matters, so the stream only has to bridge outages.
var (
	DefaultReadingsLimits = StreamLimits{
		Duplicates:  2 * time.Minute,
		MaxAge:      7 * 24 * time.Hour,
		MaxBytes:    8 << 30,
		MaxMsgBytes: 16 << 10,
	}
	DefaultEventsLimits = StreamLimits{
		Duplicates:  2 * time.Minute,
		MaxAge:      30 * 24 * time.Hour,
		MaxBytes:    2 << 30,
		MaxMsgBytes: 256 << 10,
	}
)

// Bounds on StreamOptions.
const (
	MaxDuplicatesWindow = time.Hour
	MinStreamBytes      = 1 << 20
	MaxReplicas         = 5
)

// ErrStreamConfig: a stream on the server does not have the configuration
// this package relies on (file storage, synchronous persistence, dedup).
var ErrStreamConfig = errors.New("bus: stream config")

func (l StreamLimits) withDefaults(d StreamLimits) StreamLimits {
	if l.Duplicates == 0 {
		l.Duplicates = d.Duplicates
	}
	if l.MaxAge == 0 {
		l.MaxAge = d.MaxAge
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxMsgBytes == 0 {
		l.MaxMsgBytes = d.MaxMsgBytes
	}
	return l
}

func (l StreamLimits) check(name string) error {
	switch {
	case l.Duplicates < 0 || l.Duplicates > MaxDuplicatesWindow:
		return fmt.Errorf("bus: %s: duplicates window %v, want 0..%v", name, l.Duplicates, MaxDuplicatesWindow)
	case l.MaxAge < 0:
		return fmt.Errorf("bus: %s: max age %v is negative", name, l.MaxAge)
	case l.Duplicates > l.MaxAge:
		// The server refuses this too, less legibly.
		return fmt.Errorf("bus: %s: duplicates window %v exceeds max age %v", name, l.Duplicates, l.MaxAge)
	case l.MaxBytes < MinStreamBytes:
		return fmt.Errorf("bus: %s: max bytes %d, want at least %d", name, l.MaxBytes, MinStreamBytes)
	case l.MaxMsgBytes <= 0 || l.MaxMsgBytes > MaxPayloadBytes:
		return fmt.Errorf("bus: %s: max message bytes %d, want 1..%d", name, l.MaxMsgBytes, MaxPayloadBytes)
	}
	return nil
}

// streamConfigs returns the readings and events stream configs for o.
func streamConfigs(o StreamOptions) ([]jetstream.StreamConfig, error) {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > MaxReplicas {
		return nil, fmt.Errorf("bus: replicas %d, want 1..%d", o.Replicas, MaxReplicas)
	}
	r := o.Readings.withDefaults(DefaultReadingsLimits)
	e := o.Events.withDefaults(DefaultEventsLimits)
	if err := r.check(ReadingsStream); err != nil {
		return nil, err
	}
	if err := e.check(EventsStream); err != nil {
		return nil, err
	}
	mk := func(name, desc, root string, l StreamLimits) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{root + ".>"},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
			Duplicates:  l.Duplicates,
			MaxAge:      l.MaxAge,
			MaxBytes:    l.MaxBytes,
			MaxMsgSize:  l.MaxMsgBytes,
			MaxMsgs:     -1,
			Discard:     jetstream.DiscardOld,
			// PersistMode stays DefaultPersistMode: async would disable the
			// server's SyncAlways for this stream.
			PersistMode: jetstream.DefaultPersistMode,
		}
	}
	return []jetstream.StreamConfig{
		mk(ReadingsStream, "ewr: signed device readings", ReadingsRoot, r),
		mk(EventsStream, "ewr: committed chain events", EventsRoot, e),
	}, nil
}

// EnsureStreams creates EWR_READINGS and EWR_EVENTS, or updates them to o,
// and checks the server kept what durability depends on. It is idempotent;
// every node and supervisor calls it at start.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, o StreamOptions) error {
	cfgs, err := streamConfigs(o)
	if err != nil {
		return err
	}
	for _, want := range cfgs {
		// An existing stream the server cannot convert (memory storage,
		// async persist) is refused by name before the update fails less
		// legibly.
		switch st, err := js.Stream(ctx, want.Name); {
		case err == nil:
			if err := checkDurable(st.CachedInfo().Config); err != nil {
				return fmt.Errorf("%w; recreate the stream", err)
			}
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return fmt.Errorf("bus: ensure stream %s: %w", want.Name, err)
		}
		st, err := js.CreateOrUpdateStream(ctx, want)
		if err != nil {
			return fmt.Errorf("bus: ensure stream %s: %w", want.Name, err)
		}
		if err := checkStreamConfig(want, st.CachedInfo().Config); err != nil {
			return err
		}
	}
	return nil
}

// checkDurable refuses a stream whose writes would not be fsync'd before
// the ack.
func checkDurable(got jetstream.StreamConfig) error {
	switch {
	case got.Storage != jetstream.FileStorage:
		return fmt.Errorf("%w: %s: storage %v, want file", ErrStreamConfig, got.Name, got.Storage)
	case got.PersistMode != jetstream.DefaultPersistMode:
		return fmt.Errorf("%w: %s: persist mode %v turns sync-always off", ErrStreamConfig, got.Name, got.PersistMode)
	}
	return nil
}

func checkStreamConfig(want, got jetstream.StreamConfig) error {
	if err := checkDurable(got); err != nil {
		return err
	}
	switch {
	case got.Duplicates != want.Duplicates:
		return fmt.Errorf("%w: %s: duplicates window %v, want %v", ErrStreamConfig, got.Name, got.Duplicates, want.Duplicates)
	case !slices.Equal(got.Subjects, want.Subjects):
		return fmt.Errorf("%w: %s: subjects %v, want %v", ErrStreamConfig, got.Name, got.Subjects, want.Subjects)
	}
	return nil
}
