package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"
	"time"

	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/receipt"
)

// Drafts are how an op that needs several signers gets them, each with its
// own credential. The participant who starts the op creates the draft: the
// node fixes the tx body (nonce, expiry) and signs it with the creator's
// key. Every other signer then either approves with its own token (the
// node signs with the key it holds for that participant) or, keeping its
// key elsewhere, signs the body's sign bytes offline and posts the
// signature. A token approves only for its own participant, so no token
// ever signs for two. When the last signature arrives the node assembles
// the tx and submits it; the answer to that last call is the action's
// outcome.
//
// Drafts live in the memory of the node that made them (bounded; gone on
// restart): co-signers use the same node, or sign the body offline and
// anyone of them submits the assembled tx with POST /v1/txs.

// Draft statuses.
const (
	DraftAwaiting   = "awaiting_signatures"
	DraftSubmitting = "submitting"
	DraftCommitted  = "committed"
	DraftPending    = "pending"
	DraftRejected   = "rejected"
	DraftDeclined   = "declined"
	DraftExpired    = "expired"
)

// Draft is an op awaiting its signers.
type Draft struct {
	ID        string
	Creator   string
	Signers   []string
	OpType    string
	Op        receipt.Op
	Body      []byte
	TxHash    [32]byte
	ExpiresAt int64 // the tx's last height
	CreatedAt time.Time

	mu struct {
		sync.Mutex
		status   string
		sigs     []chainengine.Signature // by signer position; zero until signed
		signed   []bool
		height   int64
		problem  *Problem
		declined string
	}
}

// draftStore holds the drafts of this node.
type draftStore struct {
	each int // drafts awaiting signatures one creator may have
	mu   struct {
		sync.Mutex
		byID  map[string]*Draft
		order []string
	}
}

// Limits of the draft store.
const (
	maxDrafts = 10_000
	draftTTL  = 24 * time.Hour
)

func newDraftStore(each int) *draftStore {
	if each <= 0 {
		each = DefaultDraftsPerParticipant
	}
	d := &draftStore{each: each}
	d.mu.byID = map[string]*Draft{}
	return d
}

func newDraftID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "DR-" + hex.EncodeToString(b[:])
}

// create makes a draft for op with signers (signers[0] is the creator) and
// signs it with the creator's key.
func (ds *draftStore) create(s *Service, creator string, signers []string, op receipt.Op) (*Draft, error) {
	key, ok := s.keys.Key(creator)
	if !ok {
		return nil, failf(PKeyNotHeld, "%s", creator)
	}
	expires := s.chain.Height() + chainengine.DefaultTxTTL
	body := chainengine.OpBody(s.chain.ChainID(), signers, chainengine.RandomNonce(), expires, op)
	d := &Draft{ID: newDraftID(), Creator: creator, Signers: signers, OpType: op.Type(), Op: op, Body: body,
		TxHash: sha256.Sum256(body), ExpiresAt: expires, CreatedAt: time.Now()}
	d.mu.status = DraftAwaiting
	d.mu.sigs = make([]chainengine.Signature, len(signers))
	d.mu.signed = make([]bool, len(signers))
	d.mu.sigs[0], d.mu.signed[0] = chainengine.SignBody(key, body), true

	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.gcLocked()
	if n := ds.awaitingLocked(creator, s.chain.Height()); n >= ds.each {
		return nil, failf(PTooManyDrafts, "%s has %d drafts awaiting signatures; let them be signed, declined or expire", creator, n)
	}
	for len(ds.mu.order) >= maxDrafts {
		delete(ds.mu.byID, ds.mu.order[0])
		ds.mu.order = ds.mu.order[1:]
	}
	ds.mu.byID[d.ID] = d
	ds.mu.order = append(ds.mu.order, d.ID)
	return d, nil
}

// awaitingLocked counts creator's drafts still awaiting signatures at
// height (an expired one no longer counts).
func (ds *draftStore) awaitingLocked(creator string, height int64) int {
	n := 0
	for _, d := range ds.mu.byID {
		if d.Creator != creator {
			continue
		}
		d.mu.Lock()
		if d.mu.status == DraftAwaiting && height <= d.ExpiresAt {
			n++
		}
		d.mu.Unlock()
	}
	return n
}

// gcLocked forgets drafts past their TTL.
func (ds *draftStore) gcLocked() {
	now := time.Now()
	keep := ds.mu.order[:0]
	for _, id := range ds.mu.order {
		d := ds.mu.byID[id]
		if now.Sub(d.CreatedAt) > draftTTL {
			delete(ds.mu.byID, id)
			continue
		}
		keep = append(keep, id)
	}
	ds.mu.order = keep
}

func (ds *draftStore) get(id string) (*Draft, bool) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d, ok := ds.mu.byID[id]
	return d, ok
}

// awaiting lists the drafts awaiting participant's signature, newest last.
func (ds *draftStore) list(participant string, awaitingOnly bool) []*Draft {
	ds.mu.Lock()
	ids := append([]string(nil), ds.mu.order...)
	ds.mu.Unlock()
	var out []*Draft
	for _, id := range ids {
		d, ok := ds.get(id)
		if !ok {
			continue
		}
		pos := d.position(participant)
		if pos < 0 {
			continue
		}
		if awaitingOnly {
			d.mu.Lock()
			wait := d.mu.status == DraftAwaiting && !d.mu.signed[pos]
			d.mu.Unlock()
			if !wait {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

func (d *Draft) position(p string) int {
	for i, s := range d.Signers {
		if s == p {
			return i
		}
	}
	return -1
}

// DraftView is a draft as the API shows it.
type DraftView struct {
	ID        string   `json:"id"`
	Status    string   `json:"status"`
	Creator   string   `json:"creator"`
	Signers   []string `json:"signers"`
	Signed    []string `json:"signed"`
	Awaiting  []string `json:"awaiting"`
	OpType    string   `json:"op_type"`
	Op        any      `json:"op"`
	Body      []byte   `json:"body"`
	SignBytes []byte   `json:"sign_bytes"`
	TxHash    string   `json:"tx_hash"`
	ExpiresAt int64    `json:"expires_at"`
	CreatedAt int64    `json:"created_at"`
	Height    int64    `json:"height,omitempty"`
	Declined  string   `json:"declined,omitempty"`
	Problem   *Problem `json:"problem,omitempty"`
}

func (d *Draft) view(height int64) DraftView {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.status == DraftAwaiting && height > d.ExpiresAt {
		d.mu.status = DraftExpired
	}
	v := DraftView{ID: d.ID, Status: d.mu.status, Creator: d.Creator, Signers: d.Signers, OpType: d.OpType, Op: d.Op,
		Body: d.Body, SignBytes: chainengine.SignBytes(d.Body), TxHash: hashHex(d.TxHash), ExpiresAt: d.ExpiresAt,
		CreatedAt: d.CreatedAt.Unix(), Height: d.mu.height, Declined: d.mu.declined, Problem: d.mu.problem}
	for i, s := range d.Signers {
		if d.mu.signed[i] {
			v.Signed = append(v.Signed, s)
		} else {
			v.Awaiting = append(v.Awaiting, s)
		}
	}
	return v
}

// sign records participant's signature sig (already verified). It
// returns the tx to submit once every signer has signed, and marks the
// draft submitting so no other call submits it too.
func (d *Draft) sign(height int64, participant string, sig chainengine.Signature) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.status == DraftAwaiting && height > d.ExpiresAt {
		d.mu.status = DraftExpired
	}
	if d.mu.status != DraftAwaiting {
		return nil, failf(PDraftClosed, "%s is %s", d.ID, d.mu.status)
	}
	pos := d.position(participant)
	if pos < 0 {
		return nil, failf(PDraftNotFound, "%s does not sign %s (signers %v)", participant, d.ID, d.Signers)
	}
	if d.mu.signed[pos] {
		return nil, failf(PDraftClosed, "%s already signed %s", participant, d.ID)
	}
	d.mu.sigs[pos], d.mu.signed[pos] = sig, true
	for _, ok := range d.mu.signed {
		if !ok {
			return nil, nil
		}
	}
	d.mu.status = DraftSubmitting
	return chainengine.AssembleTx(d.Body, d.mu.sigs), nil
}

// finish records how the submission ended.
func (d *Draft) finish(out *Outcome, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err != nil:
		p, _ := problemOf(err)
		d.mu.status, d.mu.problem = DraftRejected, p
	case out.Status == StatusPending:
		d.mu.status = DraftPending
	default:
		d.mu.status, d.mu.height = DraftCommitted, out.Height
	}
}

// Approve signs draft id for participant with the key this node holds.
func (s *Service) Approve(ctx context.Context, id, participant string, async bool) (*Draft, *Outcome, error) {
	d, ok := s.drafts.get(id)
	if !ok {
		return nil, nil, failf(PDraftNotFound, "%s", id)
	}
	if d.position(participant) < 0 {
		return d, nil, failf(PDraftNotFound, "%s does not sign %s", participant, id)
	}
	key, ok := s.keys.Key(participant)
	if !ok {
		return d, nil, failf(PKeyNotHeld, "%s: sign the draft's sign_bytes offline and POST /v1/drafts/%s/signatures", participant, id)
	}
	return s.addSignature(ctx, d, participant, chainengine.SignBody(key, d.Body), async)
}

// AddSignature records a signature made elsewhere, checked against the
// key the chain registered for participant.
func (s *Service) AddSignature(ctx context.Context, id, participant string, sig chainengine.Signature, async bool) (*Draft, *Outcome, error) {
	d, ok := s.drafts.get(id)
	if !ok {
		return nil, nil, failf(PDraftNotFound, "%s", id)
	}
	st, _ := s.chain.State()
	b, found := st.Get(receipt.ParticipantKey(participant))
	var p receipt.Participant
	if !found || receipt.DecodeRecord(b, &p) != nil {
		return d, nil, receipt.Errorf(receipt.ErrUnknownSigner, "%q", participant)
	}
	if p.PubKey != receipt.PubKey(sig.PubKey) {
		return d, nil, failf(PTxSignerKey, "%s signs with %x, not %x", participant, p.PubKey[:], sig.PubKey[:])
	}
	if !ed25519.Verify(sig.PubKey[:], chainengine.SignBytes(d.Body), sig.Sig[:]) {
		return d, nil, failf(PBadSignature, "%s's signature over draft %s", participant, id)
	}
	return s.addSignature(ctx, d, participant, sig, async)
}

func (s *Service) addSignature(ctx context.Context, d *Draft, participant string, sig chainengine.Signature, async bool) (*Draft, *Outcome, error) {
	raw, err := d.sign(s.chain.Height(), participant, sig)
	if err != nil || raw == nil {
		return d, nil, err
	}
	out, err := s.SubmitRaw(ctx, raw, async, nil)
	d.finish(out, err)
	return d, out, err
}

// Decline closes a draft awaiting signatures: by any of its signers.
func (s *Service) Decline(id, participant, reason string) (*Draft, error) {
	d, ok := s.drafts.get(id)
	if !ok {
		return nil, failf(PDraftNotFound, "%s", id)
	}
	if d.position(participant) < 0 {
		return d, failf(PDraftNotFound, "%s does not sign %s", participant, id)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.status != DraftAwaiting {
		return d, failf(PDraftClosed, "%s is %s", d.ID, d.mu.status)
	}
	d.mu.status = DraftDeclined
	d.mu.declined = participant + ": " + reason
	return d, nil
}

// sortDrafts orders drafts by creation, oldest first.
func sortDrafts(ds []*Draft) {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].CreatedAt.Before(ds[j].CreatedAt) })
}
