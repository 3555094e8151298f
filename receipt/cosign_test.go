package receipt

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// mapStore is a state for the rules' tests: a map, walkable by prefix.
type mapStore map[string][]byte

func (m mapStore) Get(k string) ([]byte, bool) { v, ok := m[k]; return v, ok }
func (m mapStore) Set(k string, v []byte)      { m[k] = v }
func (m mapStore) Delete(k string)             { delete(m, k) }
func (m mapStore) Range(prefix string, fn func(string, []byte)) {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fn(k, m[k])
	}
}

// namedOp is an op that names whoever the test says.
type namedOp struct {
	Freeze
	names []string
}

func (o *namedOp) Cosigners(*Exec, string) []string { return o.names }

func TestCosignersOf(t *testing.T) {
	st := mapStore{}
	x := &Exec{Store: st}
	for _, c := range []struct {
		name  string
		op    Op
		actor string
		want  []string
	}{
		{"an op of one signer", &Freeze{Receipt: "R"}, "a", nil},
		{"the actor is never its own co-signer", &namedOp{names: []string{"a", "b"}}, "a", []string{"b"}},
		{"each once, in order", &namedOp{names: []string{"c", "b", "c", "", "b"}}, "a", []string{"c", "b"}},
		{"nobody", &namedOp{}, "a", nil},
	} {
		assert.Equal(t, c.want, CosignersOf(x, c.actor, c.op), c.name)
	}
}

func TestAdminCosignersAndRoles(t *testing.T) {
	st := mapStore{}
	x := &Exec{Store: st}
	put := func(id string, roles Role, status ParticipantStatus) {
		st.Set(ParticipantKey(id), EncodeRecord(&Participant{ID: id, Roles: roles, Status: status, Version: 1}))
	}
	put("admin-1", RoleAdmin, ParticipantActive)
	put("admin-2", RoleAdmin, ParticipantSuspended)
	put("admin-3", RoleAdmin, ParticipantActive)
	put("admin-4", RoleAdmin, ParticipantActive)
	put("reg-b", RoleRegulator, ParticipantActive)
	put("reg-a", RoleRegulator, ParticipantSuspended)
	st.Set(KeyConsortium, EncodeRecord(&Consortium{Admins: []string{"admin-1", "admin-2", "admin-3", "admin-4"}, Threshold: 3, Version: 1}))
	assert.Equal(t, []string{"admin-3", "admin-4"}, AdminCosigners(x, "admin-1"), "skips the suspended admin, stops at the threshold")
	assert.Equal(t, []string{"admin-1", "admin-3"}, AdminCosigners(x, "admin-4"))
	assert.Nil(t, AdminCosigners(x, "trader-a"), "not an admin: nobody to ask")
	assert.Equal(t, "reg-b", FirstWithRole(x, RoleRegulator), "the first active one")
	assert.Equal(t, "", FirstWithRole(x, RoleOracle))
	assert.Equal(t, "", FirstWithRole(&Exec{Store: struct{ Store }{st}}, RoleRegulator), "a store that cannot be walked")
}

func TestCheckVersion(t *testing.T) {
	assert.ErrorIs(t, CheckVersion("receipt", 0), ErrMissingField)
	assert.NoError(t, CheckVersion("receipt", 1))
	for _, op := range []Op{
		&InitiateTransfer{Receipt: "R", To: "b"}, &AcceptTransfer{Receipt: "R"}, &Split{Receipt: "R", Parts: []Part{{ID: "A", Quantity: 1}, {ID: "B", Quantity: 1}}},
		&Merge{Into: "M", Receipts: []VersionedRef{{ID: "A", Version: 1}, {ID: "B"}}}, &RequestPledge{Pledge: "P", Receipt: "R", Bank: "bank"},
		&ConfirmPledge{Pledge: "P"}, &Void{Receipt: "R", Reason: "x"}, &Amend{Receipt: "R", Description: "d", ThirdPartyClaims: "none"},
	} {
		assert.ErrorIs(t, op.Check(), ErrMissingField, "%s without the version its signer saw", op.Type())
	}
}
