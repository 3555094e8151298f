package simulators

import (
	"context"
	"strconv"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/warehouse"
)

// scenarioDevices signs readings as the world's devices for a scripted
// scenario (the tours), the way the devices themselves would: one boot
// epoch per scenario run, its sequences counting from 1, device time
// close to block time (evidence older than the chain's window counts for
// nothing).
type scenarioDevices struct {
	w     *ledger.World
	tag   string
	epoch uint64
	seq   map[string]uint64
}

// newScenarioDevices starts the devices' epoch at the block time now: a
// run after an earlier one on the same chain is a later boot.
func newScenarioDevices(w *ledger.World, tag string, now int64) *scenarioDevices {
	return &scenarioDevices{w: w, tag: tag, epoch: uint64(max(now, 1)), seq: map[string]uint64{}}
}

// sign signs r as dev's next reading at device time ms.
func (p *scenarioDevices) sign(dev string, ms int64, r iot.Reading) iot.SignedReading {
	p.seq[dev]++
	r.Event = p.tag + "-" + strconv.FormatUint(p.seq[dev], 10)
	r.Device, r.Epoch, r.Seq, r.TimeMs = dev, p.epoch, p.seq[dev], ms
	return iot.Sign(r, p.w.Devices[dev].Key)
}

// scale is the world's bay scale of a bay, if it has one.
func (p *scenarioDevices) scale(wh, bay string) (string, bool) {
	for id, d := range p.w.Devices {
		if d.Device.Type == warehouse.BayScale && d.Device.Warehouse == wh && d.Device.Bay == bay {
			return id, true
		}
	}
	return "", false
}

// closing is the wire form of what an honest bay scale reads as a
// load-out of weighed closes on lot: what the lock then expects, settled,
// at the block time. It is nil for a bay without a scale of the world's.
func (p *scenarioDevices) closing(ctx context.Context, d Driver, lotID string, weighed uint64) ([]byte, error) {
	l, err := d.Lot(ctx, lotID)
	if err != nil {
		return nil, err
	}
	dev, ok := p.scale(l.Warehouse, l.Bay)
	if !ok {
		return nil, nil
	}
	now, err := d.Now(ctx)
	if err != nil {
		return nil, err
	}
	sr := p.sign(dev, now*1000, iot.Reading{Weight: &iot.BayWeight{Qty: l.Expected - min(weighed, l.Expected), Unit: l.Unit, Stable: true}})
	return iot.Encode(&sr), nil
}
