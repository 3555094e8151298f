package ledger

import (
	"github.com/ewrchain/ewr/internal/canon"
	"github.com/ewrchain/ewr/receipt"
)

// BlockRecord is what one committed block did to the state, as the chain
// publishes it to the indexer and the event feed: every tx with its
// outcome, its events and the records it wrote. It is derived from the
// block and stored beside the state, not inside the authenticated tree.
type BlockRecord struct {
	Height  int64
	Time    int64    // block time, unix seconds
	AppHash [32]byte // root of the state after this block
	Txs     []TxRecord
}

// TxRecord is one tx of a block.
type TxRecord struct {
	Hash    [32]byte // the tx id: sha256 of the signed body
	Index   uint32   // position in the block
	Signers []string
	OpType  string
	Code    uint32 // 0: applied; otherwise the rule error's code (receipt.LookupError)
	Log     string // the rejection, for people
	Events  []receipt.Event
	Writes  []Write // records the tx wrote, in write order; empty if rejected
}

// Write is one record a tx wrote: its key and its new canonical value.
type Write struct {
	Key     string
	Value   []byte
	Deleted bool
}

// EncodeBlockRecord is the canonical stored form of a block record.
func EncodeBlockRecord(b *BlockRecord) []byte { return canon.Marshal(b) }

// DecodeBlockRecord decodes a stored block record.
func DecodeBlockRecord(raw []byte) (*BlockRecord, error) {
	b := new(BlockRecord)
	if err := canon.Unmarshal(raw, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Signed is an op with who signed it, as a block carries it.
type Signed struct {
	Signers []string
	Op      receipt.Op
}

// ApplyBlock applies a block of ops at blk against st and returns its
// record. Rejected ops are recorded with their error and change nothing.
// Hash is filled with the op's position when the caller has no tx ids (in
// memory).
func (l *Ledger) ApplyBlock(st receipt.Store, blk receipt.Block, txs []Signed) *BlockRecord {
	rec := &BlockRecord{Height: blk.Height, Time: blk.Time, Txs: make([]TxRecord, 0, len(txs))}
	if r, ok := st.(Ranger); ok {
		BeginBlock(st, r, blk)
	}
	for i, tx := range txs {
		tr := TxRecord{Index: uint32(i), Signers: tx.Signers, OpType: tx.Op.Type()}
		tr.Hash[0], tr.Hash[1] = byte(i>>8), byte(i)
		res, err := l.Apply(st, blk, tx.Signers, tx.Op)
		if err != nil {
			e, _ := receipt.AsError(err)
			tr.Code, tr.Log = e.Code, err.Error()
		} else {
			tr.Events = res.Events
			tr.Writes = make([]Write, 0, len(res.Changed))
			for _, k := range res.Changed {
				v, ok := st.Get(k)
				tr.Writes = append(tr.Writes, Write{Key: k, Value: v, Deleted: !ok})
			}
		}
		rec.Txs = append(rec.Txs, tr)
	}
	return rec
}

// Genesis record: the writes InitState made, as block 0, so a read model
// rebuilt from height 0 sees the first consortium.
func GenesisRecord(st *MemStore, time int64) *BlockRecord {
	tr := TxRecord{OpType: "genesis"}
	for _, k := range st.Keys() {
		v, _ := st.Get(k)
		tr.Writes = append(tr.Writes, Write{Key: k, Value: v})
	}
	return &BlockRecord{Height: 0, Time: time, Txs: []TxRecord{tr}}
}

// Blocks makes a Sim record blocks: each Do becomes one block record
// appended to Sim.Records.
func (s *Sim) RecordBlocks() {
	if s.Records == nil {
		s.Records = []*BlockRecord{GenesisRecord(s.Store, s.Block.Time)}
	}
	s.record = true
}
