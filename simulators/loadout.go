package simulators

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/warehouse"
)

// The goods' movements, as the world does them: intake puts goods on a
// bay, a load-out takes them off truck by truck while its release order is
// open, each step seen by the bay's devices. A simulator that moved goods
// without their weight, or weight without its door and forklift, would
// hide the very defects the lock is there to catch.

// action is a physical step at a time; do returns what the devices see of
// it (the bay scale feels it through its weight).
type action struct {
	t  time.Time
	do func(t time.Time) []event
}

// scheduleLocked adds a step to the agenda, keeping it in time order.
func (s *Warehouse) scheduleLocked(t time.Time, do func(time.Time) []event) {
	i := sort.Search(len(s.mu.agenda), func(i int) bool { return s.mu.agenda[i].t.After(t) })
	s.mu.agenda = append(s.mu.agenda, action{})
	copy(s.mu.agenda[i+1:], s.mu.agenda[i:])
	s.mu.agenda[i] = action{t: t, do: do}
}

// loadOut is a release order being loaded out of a bay.
type loadOut struct {
	ro, bay string
	qty     uint64
	tickets []warehouse.SignedTicket
	// closeAt is when the door closed after the last truck; the closing
	// reading is the bay scale's first settled report after it.
	closeAt time.Time
	closing *iot.SignedReading
}

// ErrLoadOutUnknown is a load-out the simulator never started.
var ErrLoadOutUnknown = errors.New("simulators: no such load-out")

// Intake weighs in trucks carrying netsKg (what each truly carries) and
// stacks the goods on a bay: the bay's scale goes unsettled and settles on
// its tare plus the goods. It returns the trucks' in-tickets, whose nets
// carry the weighbridge's error.
func (s *Warehouse) Intake(bayID string, netsKg ...uint64) ([]warehouse.SignedTicket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return nil, err
	}
	if s.mu.wb == nil {
		return nil, fmt.Errorf("simulators: %s has no weighbridge", s.id)
	}
	now := s.clock.Now()
	tickets := make([]warehouse.SignedTicket, 0, len(netsKg))
	var total uint64
	for _, kg := range netsKg {
		if kg == 0 {
			return nil, fmt.Errorf("simulators: a truck carrying nothing")
		}
		tickets = append(tickets, s.weighLocked(warehouse.In, kg, "", now))
		total += kg
	}
	s.changeAtLocked(b, b.qtyKg+total, now)
	b.lastReported = 0
	return tickets, nil
}

// StartLoadOut begins loading qtyKg out of a bay against release order ro,
// on the simulator's clock: the door opens, forklifts carry the goods to
// trucks of at most LoadOut.TruckKg, each truck is weighed out on the
// weighbridge with an out-ticket naming ro, and the door closes. The
// camera sees the forklifts and the door sensor the door; the bay scale
// feels every load. LoadOutResult gives the tickets and the scale's
// settled reading after the door closed, once there is one. Starting a
// load-out already started does nothing.
func (s *Warehouse) StartLoadOut(ro, bayID string, qtyKg uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mu.loadOuts[ro]; ok {
		return nil
	}
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	if s.mu.wb == nil {
		return fmt.Errorf("simulators: %s has no weighbridge", s.id)
	}
	if qtyKg == 0 || b.qtyKg == 0 {
		return fmt.Errorf("simulators: load-out of %d kg from bay %s holding %d kg", qtyKg, bayID, b.qtyKg)
	}
	// The papers may promise a little more than the bay holds (the intake
	// tickets' weighing error): the last truck takes what is there.
	qtyKg = min(qtyKg, b.qtyKg)
	lo := &loadOut{ro: ro, bay: bayID, qty: qtyKg}
	s.mu.loadOuts[ro] = lo
	cfg := s.cfg.LoadOut
	t := s.clock.Now().Add(time.Second)
	s.scheduleLocked(t, func(at time.Time) []event {
		return []event{{dev: b.seal, t: at, r: iot.Reading{Seal: &iot.Seal{SealID: b.sealID, State: iot.SealOpen}}}}
	})
	// As few trucks as the order needs, loaded evenly: no truck leaves for
	// the last few kilos (the weighbridge's error would exceed them).
	trucks := (qtyKg + cfg.TruckKg - 1) / cfg.TruckKg
	left := qtyKg
	for i := uint64(0); left > 0; i++ {
		truck := left / (trucks - i)
		left -= truck
		for loaded := uint64(0); loaded < truck; {
			move := min(cfg.MoveKg, truck-loaded)
			loaded += move
			t = t.Add(cfg.MoveEvery)
			s.scheduleLocked(t, func(at time.Time) []event {
				s.changeAtLocked(b, b.qtyKg-min(move, b.qtyKg), at)
				conf := uint16(900 + s.mu.rng.IntN(100))
				return []event{{dev: b.cam, t: at, r: iot.Reading{Motion: &iot.Motion{Zone: "dock", Class: iot.ClassForklift, ConfidencePermille: conf}}}}
			})
		}
		t = t.Add(cfg.WeighAfter)
		s.scheduleLocked(t, func(at time.Time) []event {
			st := s.weighLocked(warehouse.Out, truck, ro, at)
			lo.tickets = append(lo.tickets, st)
			return []event{{dev: s.mu.wb, t: at, r: iot.Reading{Ticket: &st}}}
		})
	}
	// The door closes after the last truck weighed (its ticket is stamped
	// in whole seconds: the closing reading must be later).
	t = t.Add(max(cfg.CloseAfter, time.Second))
	s.scheduleLocked(t, func(at time.Time) []event {
		lo.closeAt = at
		if b.nextReport.After(at) {
			b.nextReport = at // the scale reports as the door closes
		}
		return []event{{dev: b.seal, t: at, r: iot.Reading{Seal: &iot.Seal{SealID: b.sealID, State: iot.SealClosed}}}}
	})
	return nil
}

// closingLocked notes a bay scale's settled weight as its last, and as a
// load-out's closing reading if it is the first taken after the load-out's
// door closed.
func (s *Warehouse) closingLocked(dev *device, sr *iot.SignedReading) {
	if sr.Reading.Weight == nil || !sr.Reading.Weight.Stable || dev.typ != warehouse.BayScale {
		return
	}
	if b := s.mu.byID[dev.bay]; b != nil && b.lc == dev {
		c := *sr
		b.lastSettled = &c
	}
	at := time.UnixMilli(sr.Reading.TimeMs)
	for _, lo := range s.mu.loadOuts {
		if lo.bay == dev.bay && lo.closing == nil && !lo.closeAt.IsZero() && !at.Before(lo.closeAt) {
			c := *sr
			lo.closing = &c
		}
	}
}

// LoadOutResult is a load-out's out-tickets and the bay scale's closing
// reading: done once the door closed and the scale settled.
func (s *Warehouse) LoadOutResult(ro string) (tickets []warehouse.SignedTicket, closing *iot.SignedReading, done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lo, ok := s.mu.loadOuts[ro]
	if !ok {
		return nil, nil, false, fmt.Errorf("%w: %s", ErrLoadOutUnknown, ro)
	}
	if lo.closing == nil {
		return nil, nil, false, nil
	}
	c := *lo.closing
	return append([]warehouse.SignedTicket(nil), lo.tickets...), &c, true, nil
}

// ForgetLoadOut drops a finished load-out's record. Forget only a load-out
// whose order is closed on chain: a simulator following the chain loads
// out an open order it does not remember.
func (s *Warehouse) ForgetLoadOut(ro string) {
	s.mu.Lock()
	delete(s.mu.loadOuts, ro)
	s.mu.Unlock()
}

// LoadingOut reports whether a load-out for ro was started.
func (s *Warehouse) LoadingOut(ro string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.mu.loadOuts[ro]
	return ok
}

// Restart reboots a device: it is silent for BootTime, then signs in a
// new epoch, its sequence counting from 1 again.
func (s *Warehouse) Restart(deviceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deviceLocked(deviceID)
	if err != nil {
		return err
	}
	d.epoch++
	d.seq = 0
	d.offlineUntil = s.clock.Now().Add(s.cfg.BootTime)
	return nil
}

// SetTare sets what a bay's scale reads empty.
func (s *Warehouse) SetTare(bayID string, kg uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bayLocked(bayID)
	if err != nil {
		return err
	}
	b.tareKg = kg
	return nil
}

// LastSettled is the bay scale's last settled weight as it signed it, if
// it was taken at or after since: what a collateral manager takes as the
// baseline of a re-count.
func (s *Warehouse) LastSettled(bayID string, since time.Time) *iot.SignedReading {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mu.byID[bayID]
	if b == nil || b.lastSettled == nil || time.UnixMilli(b.lastSettled.Reading.TimeMs).Before(since) {
		return nil
	}
	c := *b.lastSettled
	return &c
}
