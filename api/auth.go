package api

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Tokens maps bearer tokens to the one participant each acts for. It
// keeps only the tokens' sha256, so a heap dump does not hold them, and a
// lookup costs one hash and one map read. It is read-only once built.
type Tokens struct {
	byHash map[[32]byte]string
}

// NewTokens builds the table from token → participant.
func NewTokens(tokens map[string]string) *Tokens {
	t := &Tokens{byHash: make(map[[32]byte]string, len(tokens))}
	for tok, p := range tokens {
		t.byHash[sha256.Sum256([]byte(tok))] = p
	}
	return t
}

// Lookup returns the participant a token acts for.
func (t *Tokens) Lookup(token string) (string, bool) {
	if t == nil || token == "" {
		return "", false
	}
	p, ok := t.byHash[sha256.Sum256([]byte(token))]
	return p, ok
}

// KeyRing holds the signing keys of the participants whose users this node
// serves: the node signs for them when they authenticate with a token.
type KeyRing interface {
	Key(participant string) (ed25519.PrivateKey, bool)
}

// KeyMap is a KeyRing in memory.
type KeyMap map[string]ed25519.PrivateKey

// Key implements KeyRing.
func (m KeyMap) Key(p string) (ed25519.PrivateKey, bool) {
	k, ok := m[p]
	return k, ok
}

// NewToken returns a fresh random bearer token (256 bits, URL-safe).
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "ewr_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// ParticipantEntry is one line of participants.json: who a token acts for.
type ParticipantEntry struct {
	ID    string `json:"id"`
	Role  string `json:"role"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// ErrNoParticipantsFile is returned by LoadParticipants when the file is
// missing.
var ErrNoParticipantsFile = errors.New("api: no participants file")

// LoadParticipants reads a participants file (a JSON list).
func LoadParticipants(path string) ([]ParticipantEntry, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoParticipantsFile, path)
	}
	if err != nil {
		return nil, err
	}
	var out []ParticipantEntry
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("api: %s: %w", path, err)
	}
	return out, nil
}

// SaveParticipants writes a participants file readable by its owner only
// (it holds bearer tokens), atomically.
func SaveParticipants(path string, ps []ParticipantEntry) error {
	ps = append([]ParticipantEntry(nil), ps...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	raw, err := json.MarshalIndent(ps, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// TokenOf returns the token of participant id in a participants list.
func TokenOf(ps []ParticipantEntry, id string) (string, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p.Token, true
		}
	}
	return "", false
}

// bearer extracts the token from an Authorization header value.
func bearer(h string) string {
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}
