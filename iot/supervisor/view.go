package supervisor

import (
	"fmt"
	"sort"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Chain is the committed state a supervisor reads: the records the rules
// need, and a signal at each commit. *chainengine.ReceiptApp satisfies it.
// The store State returns must also list records by prefix (ledger.Ranger).
type Chain interface {
	State() (receipt.Store, int64)
	Committed() <-chan struct{}
	// DryRun is the rules' answer to op on the committed state, in the
	// next block at time now.
	DryRun(signers []string, op receipt.Op, now int64) error
}

// deviceKey is a device as the chain records it, with its public key
// expanded once for verification.
type deviceKey struct {
	dev *warehouse.Device
	exp *voi.ExpandedPublicKey // nil if the key is not a valid point
}

// view is what the supervisor knows of the chain at one height.
type view struct {
	height    int64
	rules     iot.Rules
	windowMs  int64 // the chain's evidence window
	warehouse *warehouse.Warehouse
	devices   map[string]*deviceKey
	lots      []iot.LotView
}

// loadView reads the warehouse, its devices and its locked lots from st.
// Expanded keys of devices whose key did not change are taken from prev.
func loadView(st receipt.Store, height int64, wh string, prev *view) (*view, error) {
	rg, ok := st.(ledger.Ranger)
	if !ok {
		return nil, fmt.Errorf("supervisor: chain state %T cannot list records", st)
	}
	x := &receipt.Exec{Store: st}
	w, err := warehouse.LoadWarehouse(x, wh)
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	v := &view{height: height, rules: *iot.LoadRules(x), windowMs: x.Params().EvidenceWindowSec * 1000, warehouse: w,
		devices: map[string]*deviceKey{}}
	scales := map[string]bool{} // bays with an active scale
	var decodeErr error
	byBay := map[string][]string{}
	rg.Range(warehouse.PrefixDevice, func(k string, raw []byte) {
		d := new(warehouse.Device)
		if err := receipt.DecodeRecord(raw, d); err != nil {
			decodeErr = fmt.Errorf("supervisor: device record %s: %w", k, err)
			return
		}
		dk := &deviceKey{dev: d}
		if d.Warehouse == wh {
			if p, ok := prev.device(d.ID); ok && p.dev.PubKey == d.PubKey {
				dk.exp = p.exp
			} else if exp, err := voi.NewExpandedPublicKey(voi.PublicKey(d.PubKey[:])); err == nil {
				dk.exp = exp
			}
			if d.Bay != "" && d.Status == warehouse.Active {
				byBay[d.Bay] = append(byBay[d.Bay], d.ID)
				scales[d.Bay] = scales[d.Bay] || d.Type == warehouse.BayScale
			}
		}
		v.devices[d.ID] = dk
	})
	if decodeErr != nil {
		return nil, decodeErr
	}
	var bays []*warehouse.Bay
	rg.Range(warehouse.PrefixBay+wh+"/", func(k string, raw []byte) {
		b := new(warehouse.Bay)
		if err := receipt.DecodeRecord(raw, b); err != nil {
			decodeErr = fmt.Errorf("supervisor: bay record %s: %w", k, err)
			return
		}
		bays = append(bays, b)
	})
	if decodeErr != nil {
		return nil, decodeErr
	}
	for _, b := range bays {
		if b.LockedBy == "" {
			continue
		}
		l, err := warehouse.LoadLot(x, b.LockedBy)
		if err != nil || l.Status != warehouse.LotLocked {
			continue
		}
		var alert *iot.Alert
		if l.Alert != "" {
			alert, _ = receipt.Load[iot.Alert](x, iot.AlertKey(l.Alert))
		}
		v.lots = append(v.lots, iot.NewLotView(l, iot.LoadWatch(x, l.ID), warehouse.LoadLockHistory(x, l.ID), alert, byBay[b.ID], scales[b.ID]))
	}
	sort.Slice(v.lots, func(i, j int) bool { return v.lots[i].Lot < v.lots[j].Lot })
	return v, nil
}

func (v *view) device(id string) (*deviceKey, bool) {
	if v == nil {
		return nil, false
	}
	d, ok := v.devices[id]
	return d, ok
}

func (v *view) lot(id string) (iot.LotView, bool) {
	for _, l := range v.lots {
		if l.Lot == id {
			return l, true
		}
	}
	return iot.LotView{}, false
}
