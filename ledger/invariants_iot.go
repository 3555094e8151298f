package ledger

import (
	"sort"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// checkIoT checks the sensor side of the lock:
//
//   - a lot's open alert exists, is open, is about that lot, and is a
//     breach if the lot is in ALARM, a gap if UNVERIFIED; an OK lot names
//     no alert; every open alert is its lot's;
//   - a lot in ALARM on an alert has every live receipt frozen;
//   - a receipt frozen for a breach whose alert is recorded names its
//     lot's open alert;
//   - a warehouse stream's anchors never overlap, and its head is the
//     last of them.
//
// Health set outside the iot ops (genesis, tests) names no alert record
// and is not judged here.
func checkIoT(st Ranger, receipts map[string]*receipt.Receipt, receiptIDs []string,
	lots map[string]*warehouse.Lot, lotIDs []string, fail func(string, ...any)) {
	alerts := map[string]*iot.Alert{}
	var alertIDs []string
	decodeAll(st, iot.PrefixAlert, func(k string, v []byte) {
		a := new(iot.Alert)
		mustDecode(k, v, a)
		alerts[a.ID] = a
		alertIDs = append(alertIDs, a.ID)
	})
	sort.Strings(alertIDs)

	for _, id := range lotIDs {
		l := lots[id]
		if l.Health == warehouse.HealthOK && l.Alert != "" {
			fail("lot %s: healthy with alert %s", id, l.Alert)
		}
		if l.Alert == "" {
			continue
		}
		a, ok := alerts[l.Alert]
		switch {
		case !ok:
			fail("lot %s: names missing alert %s", id, l.Alert)
			continue
		case a.Status != iot.AlertOpen || a.Lot != id:
			fail("lot %s: names alert %s that is %s on %s", id, a.ID, a.Status, a.Lot)
		case l.Health == warehouse.HealthAlarm && !a.Kind.Breach():
			fail("lot %s: in alarm on a %s alert", id, a.Kind)
		case l.Health == warehouse.HealthUnverified && a.Kind != iot.AlertGap:
			fail("lot %s: unverified on a %s alert", id, a.Kind)
		}
		if l.Health == warehouse.HealthAlarm {
			for _, rid := range l.Live {
				if r := receipts[rid]; r != nil && r.State != receipt.StateFrozen {
					fail("lot %s: in alarm but live receipt %s is %s", id, rid, r.State)
				}
			}
		}
	}
	for _, id := range alertIDs {
		a := alerts[id]
		if a.Status != iot.AlertOpen {
			continue
		}
		if l, ok := lots[a.Lot]; !ok || l.Alert != id {
			fail("alert %s: open but lot %s does not name it", id, a.Lot)
		}
	}
	for _, rid := range receiptIDs {
		r := receipts[rid]
		if r.State != receipt.StateFrozen || r.Frozen == nil || r.Frozen.Cause != receipt.FreezeByBreach {
			continue
		}
		if _, recorded := alerts[r.Frozen.Alert]; !recorded {
			continue
		}
		if l, ok := lots[r.Lot]; !ok || l.Alert != r.Frozen.Alert {
			fail("receipt %s: frozen for alert %s, which is not its lot's open alert", rid, r.Frozen.Alert)
		}
	}

	heads := map[string]*iot.AnchorHead{}
	decodeAll(st, iot.PrefixAnchorHead, func(k string, v []byte) {
		h := new(iot.AnchorHead)
		mustDecode(k, v, h)
		heads[k] = h
	})
	type run struct {
		last     uint64
		lastKey  string
		anchors  uint64
		readings uint64
	}
	runs := map[string]*run{}
	var headKeys []string
	decodeAll(st, iot.PrefixAnchor, func(k string, v []byte) { // key order is sequence order
		a := new(iot.Anchor)
		mustDecode(k, v, a)
		hk := iot.AnchorHeadKey(a.Warehouse, a.Stream)
		r, ok := runs[hk]
		if !ok {
			r = &run{}
			runs[hk] = r
			headKeys = append(headKeys, hk)
		}
		if a.FirstSeq <= r.last {
			fail("anchor %s: starts at %d, previous ends at %d", k, a.FirstSeq, r.last)
		}
		r.last, r.lastKey = a.LastSeq, k
		r.anchors++
		r.readings += uint64(a.Count)
	})
	sort.Strings(headKeys)
	for _, hk := range headKeys {
		r, h := runs[hk], heads[hk]
		if h == nil || h.LastSeq != r.last || h.LastKey != r.lastKey || h.Anchors != r.anchors || h.Readings != r.readings {
			fail("anchor head %s: %+v, anchors say last %d (%s), %d anchors, %d readings", hk, h, r.last, r.lastKey, r.anchors, r.readings)
		}
	}
}
