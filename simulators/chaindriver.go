package simulators

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// ChainDriver runs a scenario on a node of a real chain: it signs with the
// world's keys, submits to the node's mempool and waits for the commit.
type ChainDriver struct {
	Client *chainengine.Client
	App    *chainengine.ReceiptApp
}

// NewChainDriver drives node n with the keys of world w.
func NewChainDriver(n *chainengine.Node, w *ledger.World) *ChainDriver {
	keys := func(id string) (ed25519.PrivateKey, bool) {
		a, ok := w.Actors[id]
		if !ok {
			return nil, false
		}
		return a.Key, true
	}
	return &ChainDriver{Client: &chainengine.Client{Node: n, Keys: keys}, App: n.App().(*chainengine.ReceiptApp)}
}

// Submit implements Driver.
func (d *ChainDriver) Submit(ctx context.Context, signers []string, op receipt.Op) error {
	st, _ := d.App.State()
	ledger.ReadVersions(op, ledger.VersionsIn(st)) // as a client reads before it signs
	_, _, err := d.Client.Submit(ctx, signers, op)
	return err
}

// Receipt implements Driver.
func (d *ChainDriver) Receipt(_ context.Context, id string) (*receipt.Receipt, error) {
	st, _ := d.App.State()
	r, ok := ledger.Get[receipt.Receipt](st, receipt.ReceiptKey(id))
	if !ok {
		return nil, receipt.Errorf(receipt.ErrReceiptNotFound, "%q", id)
	}
	return r, nil
}

// Lot implements Driver.
func (d *ChainDriver) Lot(_ context.Context, id string) (*warehouse.Lot, error) {
	st, _ := d.App.State()
	l, ok := ledger.Get[warehouse.Lot](st, warehouse.LotKey(id))
	if !ok {
		return nil, receipt.Errorf(warehouse.ErrLotNotFound, "%q", id)
	}
	return l, nil
}

// Now implements Driver: the time of the newest block, or the wall clock
// if the chain has been idle longer (the next block will be at least that).
func (d *ChainDriver) Now(context.Context) (int64, error) {
	b, ok, err := d.App.Block(d.App.Height())
	if err != nil {
		return 0, err
	}
	now := time.Now().Unix()
	if ok && b.Time > now {
		return b.Time, nil
	}
	return now, nil
}

// WaitUntil returns once a block with time past t has been committed. Block
// time is BFT time (the median of the last commit's votes), so after an
// idle spell a block's time trails the clock: it commits two blocks, with
// ops the chain refuses and that change nothing, to move block time on.
func (d *ChainDriver) WaitUntil(ctx context.Context, t int64) error {
	for {
		b, ok, err := d.App.Block(d.App.Height())
		if err != nil {
			return err
		}
		if ok && b.Time > t {
			return nil
		}
		if wait := time.Until(time.Unix(t+1, 0)); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		// A tick: refused (no such receipt) but committed in a block.
		tick := &receipt.Expire{Receipt: "tick-" + time.Now().Format("150405.000000")}
		if err := d.Submit(ctx, []string{ledger.TraderA}, tick); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
