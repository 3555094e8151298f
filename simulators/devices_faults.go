package simulators

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/nats-io/nats.go/jetstream"
)

// Faults and operations on command. Each takes effect at the clock's now:
// a sudden change shows as unsettled readings, then a settled one; an
// event (motion, seal, tamper) is sent at the next Step.

// ErrNoSuchDevice is a fault aimed at a bay or device the warehouse lacks.
var ErrNoSuchDevice = errors.New("simulators: no such bay or device")

func (s *Warehouse) bayLocked(id string) (*bay, error) {
	b := s.mu.byID[id]
	if b == nil {
		return nil, fmt.Errorf("%w: bay %s/%s", ErrNoSuchDevice, s.id, id)
	}
	return b, nil
}

func (s *Warehouse) deviceLocked(id string) (*device, error) {
	d := s.mu.devices[id]
	if d == nil {
		return nil, fmt.Errorf("%w: device %s", ErrNoSuchDevice, id)
	}
	return d, nil
}

// change moves a bay's goods suddenly at now: the cells go unsettled and
// report at once, then report the settled weight when they settle.
func (s *Warehouse) changeLocked(b *bay, qty uint64) { s.changeAtLocked(b, qty, s.clock.Now()) }

func (s *Warehouse) changeAtLocked(b *bay, qty uint64, at time.Time) {
	s.applyDriftLocked(b, at)
	b.qtyKg = qty
	b.rebase(at)
	b.changedAt = at
	b.nextReport = at
	if b.nextSample.After(at) {
		b.nextSample = at
	}
}

// Load sets the goods on a bay (weighed in and stacked).
func (s *Warehouse) Load(bayID string, kg uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	s.changeLocked(b, kg)
	b.lastReported = 0
	return nil
}

// Theft takes kg off a bay at once.
func (s *Warehouse) Theft(bayID string, kg uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	s.changeLocked(b, b.qtyKg-min(kg, b.qtyKg))
	return nil
}

// Drift makes a bay's weight change slowly, kgPerHour (negative: loss, as
// moisture shrink or slow pilfering); 0 stops it.
func (s *Warehouse) Drift(bayID string, kgPerHour int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	s.applyDriftLocked(b, now)
	b.rebase(now)
	b.driftKgH = kgPerHour
	return nil
}

// Motion makes a bay's camera see something.
func (s *Warehouse) Motion(bayID string, class iot.MotionClass, confidencePermille uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	if b.cam == nil {
		return fmt.Errorf("%w: camera in %s", ErrNoSuchDevice, bayID)
	}
	var clip [32]byte
	_, _ = rand.Read(clip[:])
	s.queueLocked(b.cam, iot.Reading{Motion: &iot.Motion{Zone: "stack", Class: class, ConfidencePermille: confidencePermille, ClipHash: clip}})
	return nil
}

// Seal reports a bay's door seal in state (open, closed, or broken).
func (s *Warehouse) Seal(bayID string, state iot.SealState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	if b.seal == nil {
		return fmt.Errorf("%w: seal in %s", ErrNoSuchDevice, bayID)
	}
	s.queueLocked(b.seal, iot.Reading{Seal: &iot.Seal{SealID: b.sealID, State: state}})
	return nil
}

// Tamper sets a device's tamper switch; it sends a heartbeat at once.
func (s *Warehouse) Tamper(deviceID string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deviceLocked(deviceID)
	if err != nil {
		return err
	}
	d.tamper = on
	s.queueLocked(d, iot.Reading{Heartbeat: &iot.Heartbeat{BatteryPermille: d.battery, Tamper: on, Firmware: d.fw}})
	return nil
}

// Offline silences a device for d (0: back now).
func (s *Warehouse) Offline(deviceID string, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dev, err := s.deviceLocked(deviceID)
	if err != nil {
		return err
	}
	dev.offlineUntil = s.clock.Now().Add(d)
	return nil
}

// Forge makes the next n readings of a device be signed with a key that is
// not its own (a cloned device, an attacker on the network).
func (s *Warehouse) Forge(deviceID string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deviceLocked(deviceID)
	if err != nil {
		return err
	}
	d.forgeNext += n
	return nil
}

// ForgeWeight sends, as if from a bay's scale, a settled weight of kg
// signed with a forger's key: a fake theft (or a fake all-clear).
func (s *Warehouse) ForgeWeight(bayID string, kg uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	s.mu.pending = append(s.mu.pending, event{dev: b.lc, t: s.clock.Now(), r: iot.Reading{Weight: &iot.BayWeight{Qty: kg, Unit: "kg", Stable: true}}, forged: true})
	return nil
}

// Replay sends again a device's reading from back readings ago (1: the
// latest), under a new message id so the bus stores it: a replay attack.
// It returns the replayed reading.
func (s *Warehouse) Replay(deviceID string, back int) (iot.SignedReading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deviceLocked(deviceID)
	if err != nil {
		return iot.SignedReading{}, err
	}
	if back < 1 || back > len(d.history) {
		return iot.SignedReading{}, fmt.Errorf("simulators: %s has %d readings to replay, asked %d back", deviceID, len(d.history), back)
	}
	sr := d.history[len(d.history)-back]
	o := Outgoing(s.id, d.bay, &sr)
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	o.MsgID += ":replay-" + hex.EncodeToString(tag[:])
	s.mu.out = append(s.mu.out, o)
	return sr, nil
}

// queue has dev send r at the next Step, stamped now.
func (s *Warehouse) queueLocked(dev *device, r iot.Reading) {
	s.mu.pending = append(s.mu.pending, event{dev: dev, t: s.clock.Now(), r: r})
}

// Publisher sends readings to the bus.
type Publisher interface {
	Publish(ctx context.Context, msgs []bus.Outgoing) error
}

// JetStreamPublisher publishes with bus.PublishBatch, in chunks.
type JetStreamPublisher struct{ JS jetstream.JetStream }

// Publish implements Publisher. A message the bus reports as a duplicate
// (same id within its window) is not an error.
func (p JetStreamPublisher) Publish(ctx context.Context, msgs []bus.Outgoing) error {
	for lo := 0; lo < len(msgs); lo += bus.MaxPublishBatch {
		if _, err := bus.PublishBatch(ctx, p.JS, msgs[lo:min(lo+bus.MaxPublishBatch, len(msgs))]); err != nil {
			return err
		}
	}
	return nil
}
