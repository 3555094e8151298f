package indexer

import (
	"fmt"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/warehouse"
)

// Decoders of the IoT supervision's records (entries in recordTables).

func decodeAlert(w *row, ids []string, raw []byte) error {
	a, err := decodeAs[iot.Alert](raw)
	if err != nil {
		return err
	}
	if err := sameID("alert", ids[0], a.ID); err != nil {
		return err
	}
	w.u64(a.Version).text(a.Lot).text(a.Warehouse).text(a.Bay).text(a.Kind.String()).text(a.Status.String()).
		bytes(a.Digest[:]).texts(a.Readings).text(a.Device).i64(a.AtMs).i64(a.LastSeenMs).text(a.By).texts(a.Frozen).
		i64(a.OpenedAt).i64(a.OpenedHeight).i64(a.ClosedAt).text(a.ClosedBy).text(a.Resolution).u64(a.Counted)
	return nil
}

func decodeWatch(w *row, ids []string, raw []byte) error {
	x, err := decodeAs[iot.Watch](raw)
	if err != nil {
		return err
	}
	if err := sameID("lot", ids[0], x.Lot); err != nil {
		return err
	}
	w.u64(x.Version).i64(x.BaselineAtMs).text(x.BaselineReading).text(x.BaselineBy).u64(x.Counted).
		i64(int64(x.Alerts)).text(x.LastAlert)
	return nil
}

// decodeAnchor writes an anchor; its key's last part is the first stream
// sequence, zero-padded to 20 digits (iot.AnchorKey), so that keys sort
// in sequence order.
func decodeAnchor(w *row, ids []string, raw []byte) error {
	a, err := decodeAs[iot.Anchor](raw)
	if err != nil {
		return err
	}
	if err := sameID("warehouse", ids[0], a.Warehouse); err != nil {
		return err
	}
	if err := sameID("stream", ids[1], a.Stream); err != nil {
		return err
	}
	if err := sameID("first sequence", ids[2], fmt.Sprintf("%020d", a.FirstSeq)); err != nil {
		return err
	}
	w.u64(a.Version).u64(a.FirstSeq).u64(a.LastSeq).i64(int64(a.Count)).bytes(a.Root[:]).u64(a.PrevFirstSeq).
		text(a.By).i64(a.Height).i64(a.At)
	return nil
}

func decodeAnchorHead(w *row, ids []string, raw []byte) error {
	h, err := decodeAs[iot.AnchorHead](raw)
	if err != nil {
		return err
	}
	if err := sameID("warehouse", ids[0], h.Warehouse); err != nil {
		return err
	}
	if err := sameID("stream", ids[1], h.Stream); err != nil {
		return err
	}
	w.u64(h.Version).u64(h.LastSeq).text(h.LastKey).u64(h.Anchors).u64(h.Readings)
	return nil
}

func decodeDeviceMark(w *row, ids []string, raw []byte) error {
	m, err := decodeAs[iot.DeviceMark](raw)
	if err != nil {
		return err
	}
	if err := sameID("device", ids[0], m.Device); err != nil {
		return err
	}
	w.u64(m.Version).u64(m.Epoch).u64(m.Seq).i64(m.TimeMs).text(m.Op).i64(m.Height)
	return nil
}

// decodeLockHistory writes a lot's lock history as its current phase and
// how far back it reaches; the phases themselves stay in raw.
func decodeLockHistory(w *row, ids []string, raw []byte) error {
	h, err := decodeAs[warehouse.LockHistory](raw)
	if err != nil {
		return err
	}
	if err := sameID("lot", ids[0], h.Lot); err != nil {
		return err
	}
	var since int64
	if len(h.Phases) > 0 {
		since = h.Phases[0].FromMs
	}
	cur := h.Current()
	w.u64(h.Version).i64(int64(len(h.Phases))).i64(since).u64(cur.Expected).i64(int64(cur.Open)).u64(cur.OutQty)
	return nil
}
