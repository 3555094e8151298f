package receipt

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnumsRoundTripAsNames(t *testing.T) {
	for s := StateIssued; s <= StateVoid; s++ {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		var back State
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, s, back)
	}
	b, _ := json.Marshal(StatePledged)
	assert.Equal(t, `"PLEDGED"`, string(b))
	var s State
	assert.Error(t, json.Unmarshal([]byte(`"STOLEN"`), &s))
	r, ok := ParseRoles("trader,bank")
	require.True(t, ok)
	rb, _ := json.Marshal(r)
	assert.Equal(t, `"trader,bank"`, string(rb))
}

func TestErrorCodesAreUniqueAndNamed(t *testing.T) {
	names := map[string]bool{}
	for _, e := range Errors() {
		assert.NotEmpty(t, e.Name)
		assert.False(t, names[e.Name], "duplicate error name %s", e.Name)
		names[e.Name] = true
		got, ok := LookupError(e.Code)
		require.True(t, ok)
		assert.Same(t, e, got)
	}
}
