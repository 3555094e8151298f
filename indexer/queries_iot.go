package indexer

import (
	"context"
	"fmt"

	"github.com/ewrchain/ewr/iot"
)

// OpenAlerts lists a warehouse's open alerts (breaches and monitoring
// gaps), in id order: what its collateral manager must resolve.
func (q *Queries) OpenAlerts(ctx context.Context, warehouseID string, p Page) ([]*iot.Alert, string, error) {
	var w where
	w.add("warehouse = ?", warehouseID)
	w.add("status = 'OPEN'")
	w.add("id > ?", p.After)
	return pageOf[iot.Alert](ctx, q.db, `SELECT id, raw FROM alerts WHERE `+w.sql()+` ORDER BY id`, w.args, p.limit())
}

// AlertsOfLot lists every alert a lot has had, in id order.
func (q *Queries) AlertsOfLot(ctx context.Context, lot string, p Page) ([]*iot.Alert, string, error) {
	var w where
	w.add("lot = ?", lot)
	w.add("id > ?", p.After)
	return pageOf[iot.Alert](ctx, q.db, `SELECT id, raw FROM alerts WHERE `+w.sql()+` ORDER BY id`, w.args, p.limit())
}

// Anchors lists the anchored batches of a warehouse's readings stream in
// sequence order. The cursor is the last anchor's first sequence as its
// key writes it (20 digits); empty starts at the first.
func (q *Queries) Anchors(ctx context.Context, warehouseID, stream string, p Page) ([]*iot.Anchor, string, error) {
	var w where
	w.add("warehouse = ?", warehouseID)
	w.add("stream = ?", stream)
	w.add("seq > ?", p.After)
	return pageOf[iot.Anchor](ctx, q.db, `SELECT seq, raw FROM anchors WHERE `+w.sql()+` ORDER BY seq`, w.args, p.limit())
}

// AnchorHead returns the last anchored sequence of a warehouse's stream,
// or ErrNotFound before its first anchor.
func (q *Queries) AnchorHead(ctx context.Context, warehouseID, stream string) (*iot.AnchorHead, error) {
	hs, err := listOf[iot.AnchorHead](ctx, q.db, `SELECT raw FROM anchor_heads WHERE warehouse = $1 AND stream = $2`, warehouseID, stream)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("%w: no anchor of %s on %s", ErrNotFound, stream, warehouseID)
	}
	return hs[0], nil
}
