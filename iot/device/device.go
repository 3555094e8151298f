// Package device is the device side of the readings path: what a bay
// scale, camera, door seal or weighbridge (or the gateway in front of it)
// does before the bus. It numbers each reading in the device's boot epoch,
// signs it with the device key, and names its subject and message id.
// `ewr device run` and the simulators both publish through it, so a
// vendor's gateway built on the documented format behaves as they do.
//
// A device's position (epoch, sequence) only ever rises: the chain takes
// a reading of a device only if it comes after the last one it used.
// Boot persists the new epoch before the first reading is signed, so a
// crash or power cut never reuses one; a device that lost its state file
// boots into an epoch no lower than the wall clock's unix seconds, still
// above any epoch it had before (epochs count boots, or seconds when the
// count is lost).
package device

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
)

// Signer signs one device's readings in order. It is safe for concurrent
// use.
type Signer struct {
	id        string
	warehouse string
	bay       string
	key       ed25519.PrivateKey

	mu    sync.Mutex
	epoch uint64
	seq   uint64
}

// State is a device's state file: the epoch it last booted into.
type State struct {
	Device string `json:"device"`
	Epoch  uint64 `json:"epoch"`
}

// Boot starts a device's new epoch: one above the epoch in the state file
// at path (none: a first boot), and no lower than now's unix seconds when
// the file is missing. It writes the new epoch to path before returning.
func Boot(path, id, warehouse, bay string, key ed25519.PrivateKey, now time.Time) (*Signer, error) {
	if id == "" || warehouse == "" {
		return nil, errors.New("device: id and warehouse are required")
	}
	if !bus.ValidToken(id) || !bus.ValidToken(warehouse) || (bay != "" && !bus.ValidToken(bay)) {
		return nil, fmt.Errorf("device: %q, %q, %q: ids must be subject tokens ([A-Za-z0-9_-], at most %d bytes)", id, warehouse, bay, bus.MaxTokenLen)
	}
	var st State
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st = State{Device: id, Epoch: uint64(max(now.Unix()-1, 0))}
	case err != nil:
		return nil, fmt.Errorf("device: state: %w", err)
	default:
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("device: state %s: %w", path, err)
		}
		if st.Device != id {
			return nil, fmt.Errorf("device: state %s is device %q's, not %q's", path, st.Device, id)
		}
	}
	st.Epoch++
	if err := writeState(path, st); err != nil {
		return nil, err
	}
	return &Signer{id: id, warehouse: warehouse, bay: bay, key: key, epoch: st.Epoch}, nil
}

// writeState replaces the state file durably: a temporary file synced,
// renamed over the old one, the directory synced.
func writeState(path string, st State) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("device: state: %w", err)
	}
	_, err = f.Write(append(raw, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("device: state: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// NewSigner is a signer at a known epoch (the simulators, which keep their
// devices' epochs themselves).
func NewSigner(id, warehouse, bay string, key ed25519.PrivateKey, epoch uint64) *Signer {
	return &Signer{id: id, warehouse: warehouse, bay: bay, key: key, epoch: epoch}
}

// Epoch is the epoch the device signs in.
func (s *Signer) Epoch() uint64 { return s.epoch }

// Sign numbers r as the device's next reading and signs it. A zero TimeMs
// takes now; an empty Event takes "<device>-<epoch>-<seq>". It refuses a
// reading the chain would refuse as malformed, without using a sequence.
func (s *Signer) Sign(r iot.Reading, now time.Time) (iot.SignedReading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Device, r.Epoch, r.Seq = s.id, s.epoch, s.seq+1
	if r.TimeMs == 0 {
		r.TimeMs = now.UnixMilli()
	}
	if r.Event == "" {
		r.Event = s.id + "-" + strconv.FormatUint(r.Epoch, 10) + "-" + strconv.FormatUint(r.Seq, 10)
	}
	if err := r.Check(); err != nil {
		return iot.SignedReading{}, err
	}
	s.seq++
	return iot.Sign(r, s.key), nil
}

// Message is the bus message of one of the signer's readings.
func (s *Signer) Message(sr *iot.SignedReading) (bus.Outgoing, error) {
	return Message(s.warehouse, s.bay, sr)
}

// Message is the bus message of a signed reading of a device bound to
// warehouse and bay ("" for none, as a weighbridge): subject
// ewr.readings.<warehouse>.<bay or "_">.<device>.<kind>, the canonical
// encoding as data, and message id "<device>:<epoch>:<seq>:<first 8
// signature bytes, hex>" so a retried reading is deduplicated and a forger
// reusing a sequence cannot squat on the genuine reading's id.
func Message(warehouse, bay string, sr *iot.SignedReading) (bus.Outgoing, error) {
	r := &sr.Reading
	subj, err := bus.ReadingSubject(warehouse, iot.BayToken(bay), r.Device, r.Kind().String())
	if err != nil {
		return bus.Outgoing{}, err
	}
	return bus.Outgoing{Subject: subj, MsgID: bus.ReadingMsgID(r.Device, r.Epoch, r.Seq) + ":" + hex.EncodeToString(sr.Sig[:8]), Data: iot.Encode(sr)}, nil
}
