package api

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
)

// ActionResult is the answer to an action: committed (with the tx's events
// and the record acted on, as it is now), pending (submitted without
// waiting, or not committed within the commit timeout: poll the tx), or
// awaiting signatures (a draft the co-signers approve).
type ActionResult struct {
	Status       string      `json:"status"`
	OpType       string      `json:"op_type"`
	TxHash       string      `json:"tx_hash,omitempty"`
	Height       int64       `json:"height,omitempty"`
	Events       []EventView `json:"events"`
	ResourceKind string      `json:"resource_kind,omitempty"`
	ResourceID   string      `json:"resource_id,omitempty"`
	Resource     any         `json:"resource,omitempty"`
	Draft        *DraftView  `json:"draft,omitempty"`
}

// EventView is one committed event. ID is its position, "height:tx:index",
// which orders events and resumes an event stream (Last-Event-ID).
type EventView struct {
	ID      string            `json:"id"`
	Height  int64             `json:"height"`
	Time    int64             `json:"time"`
	TxHash  string            `json:"tx_hash"`
	TxIndex uint32            `json:"tx_index"`
	Index   uint32            `json:"index"`
	OpType  string            `json:"op_type"`
	Type    string            `json:"type"`
	Refs    []RefView         `json:"refs"`
	Attrs   map[string]string `json:"attrs"`
}

// RefView is a record an event concerns.
type RefView struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// EventPos is an event's position.
type EventPos struct {
	Height  int64
	TxIndex uint32
	Index   uint32
}

func (p EventPos) String() string { return fmt.Sprintf("%d:%d:%d", p.Height, p.TxIndex, p.Index) }

// Less orders positions.
func (p EventPos) Less(q EventPos) bool {
	if p.Height != q.Height {
		return p.Height < q.Height
	}
	if p.TxIndex != q.TxIndex {
		return p.TxIndex < q.TxIndex
	}
	return p.Index < q.Index
}

// ParseEventPos reads "height:tx:index".
func ParseEventPos(s string) (EventPos, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return EventPos{}, false
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	t, err2 := strconv.ParseUint(parts[1], 10, 32)
	i, err3 := strconv.ParseUint(parts[2], 10, 32)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 {
		return EventPos{}, false
	}
	return EventPos{Height: h, TxIndex: uint32(t), Index: uint32(i)}, true
}

// EventViewOf is how the API (and the member's NATS event feed) shows event
// i of tx t of block rec.
func EventViewOf(rec *ledger.BlockRecord, t *ledger.TxRecord, i int) EventView {
	return eventView(rec, t, i, &t.Events[i])
}

func eventView(rec *ledger.BlockRecord, t *ledger.TxRecord, i int, ev *receipt.Event) EventView {
	v := EventView{
		ID:     EventPos{rec.Height, t.Index, uint32(i)}.String(),
		Height: rec.Height, Time: rec.Time, TxHash: hashHex(t.Hash), TxIndex: t.Index, Index: uint32(i),
		OpType: t.OpType, Type: ev.Type, Refs: make([]RefView, len(ev.Refs)), Attrs: make(map[string]string, len(ev.Attrs)),
	}
	for j, r := range ev.Refs {
		v.Refs[j] = RefView{Kind: r.Kind, ID: r.ID}
	}
	for _, a := range ev.Attrs {
		v.Attrs[a.Key] = a.Value
	}
	return v
}

// BlockView is a committed block as the API shows it.
type BlockView struct {
	Height  int64    `json:"height"`
	Time    int64    `json:"time"`
	AppHash string   `json:"app_hash"`
	Txs     []TxView `json:"txs"`
}

// TxView is a committed tx: its outcome, events and the keys it wrote.
type TxView struct {
	Hash    string      `json:"hash"`
	Status  string      `json:"status"` // committed, rejected, pending
	Height  int64       `json:"height,omitempty"`
	Index   uint32      `json:"index"`
	Signers []string    `json:"signers"`
	OpType  string      `json:"op_type"`
	Code    uint32      `json:"code"`
	Rule    string      `json:"rule,omitempty"`
	Log     string      `json:"log,omitempty"`
	Events  []EventView `json:"events"`
	Writes  []string    `json:"writes"`
}

func txView(rec *ledger.BlockRecord, t *ledger.TxRecord) TxView {
	v := TxView{Hash: hashHex(t.Hash), Status: "committed", Height: rec.Height, Index: t.Index, Signers: t.Signers,
		OpType: t.OpType, Code: t.Code, Log: t.Log, Events: []EventView{}, Writes: []string{}}
	if t.Code != 0 {
		v.Status = "rejected"
		if e, ok := receipt.LookupError(t.Code); ok {
			v.Rule = e.Name
		}
	}
	for i := range t.Events {
		v.Events = append(v.Events, eventView(rec, t, i, &t.Events[i]))
	}
	for _, w := range t.Writes {
		v.Writes = append(v.Writes, w.Key)
	}
	return v
}

func blockView(rec *ledger.BlockRecord) BlockView {
	v := BlockView{Height: rec.Height, Time: rec.Time, AppHash: fmt.Sprintf("%x", rec.AppHash), Txs: []TxView{}}
	for i := range rec.Txs {
		v.Txs = append(v.Txs, txView(rec, &rec.Txs[i]))
	}
	return v
}

// List is one page of a list: Next is the cursor of the next page (pass it
// as ?after=), empty after the last.
type List struct {
	Items any    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// StatusView is the node's state.
type StatusView struct {
	ChainID       string         `json:"chain_id"`
	Height        int64          `json:"height"`
	BlockTime     int64          `json:"block_time"`
	Now           int64          `json:"now"`
	Participant   string         `json:"participant"`
	ReadModel     *ReadModelView `json:"read_model,omitempty"`
	HoldsKey      bool           `json:"holds_key"`
	DraftsWaiting int            `json:"drafts_waiting"`
}

// ReadModelView is the indexer's progress.
type ReadModelView struct {
	Height  int64  `json:"height"`
	Lag     int64  `json:"lag"`
	Running bool   `json:"running"`
	Error   string `json:"error,omitempty"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status    string         `json:"status"`
	Height    int64          `json:"height"`
	ReadModel *ReadModelView `json:"read_model,omitempty"`
}
