package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/receipt"
	"github.com/nats-io/nats.go/jetstream"
)

// AuditResult is an anchor checked against the stream.
type AuditResult struct {
	Anchor iot.Anchor `json:"anchor"`
	// Count and Root are what the stream holds now for the anchor's range.
	Count uint32   `json:"count"`
	Root  [32]byte `json:"root"`
	// Complete says the stream still holds the range's last message; a
	// range aged out of the stream cannot be audited.
	Complete bool `json:"complete"`
	OK       bool `json:"ok"`
}

// auditQuiet is how long the audit waits for the next message before it
// concludes the stream has no more in the range.
const auditQuiet = 2 * time.Second

// Audit recomputes an anchor's batch from the stream: the Merkle root of
// the warehouse's messages with stream sequence in [FirstSeq, LastSeq],
// compared with the root on chain.
func Audit(ctx context.Context, js jetstream.JetStream, a *iot.Anchor) (AuditResult, error) {
	res := AuditResult{Anchor: *a}
	filter, err := bus.ReadingFilter(a.Warehouse, "", "", "")
	if err != nil {
		return res, err
	}
	it, err := orderedFrom(ctx, js, a.Stream, filter, a.FirstSeq)
	if err != nil {
		return res, err
	}
	defer it.Stop()
	var leaves [][32]byte
	for {
		nctx, cancel := context.WithTimeout(ctx, auditQuiet)
		msg, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				break // nothing more: the range's tail is gone
			}
			return res, err
		}
		md, err := msg.Metadata()
		if err != nil {
			return res, err
		}
		seq := md.Sequence.Stream
		if seq > a.LastSeq {
			break
		}
		leaves = append(leaves, iot.LeafHash(seq, msg.Data()))
		if seq == a.LastSeq {
			res.Complete = true
			break
		}
	}
	res.Count = uint32(len(leaves))
	res.Root = iot.MerkleRoot(leaves)
	res.OK = res.Complete && res.Count == a.Count && res.Root == a.Root
	return res, nil
}

// AuditChain audits the last n anchors of a warehouse's stream (all if n
// ≤ 0), newest first, walking back from the chain's anchor head.
func AuditChain(ctx context.Context, js jetstream.JetStream, st receipt.Store, warehouse, stream string, n int) ([]AuditResult, error) {
	x := &receipt.Exec{Store: st}
	head, ok := receipt.Load[iot.AnchorHead](x, iot.AnchorHeadKey(warehouse, stream))
	if !ok {
		return nil, fmt.Errorf("supervisor: no anchors for %s on %s", warehouse, stream)
	}
	var out []AuditResult
	key := head.LastKey
	for key != "" && (n <= 0 || len(out) < n) {
		a, ok := receipt.Load[iot.Anchor](x, key)
		if !ok {
			return out, fmt.Errorf("supervisor: anchor %s missing", key)
		}
		r, err := Audit(ctx, js, a)
		if err != nil {
			return out, err
		}
		out = append(out, r)
		key = ""
		if a.PrevFirstSeq > 0 {
			key = iot.AnchorKey(warehouse, stream, a.PrevFirstSeq)
		}
	}
	return out, nil
}
