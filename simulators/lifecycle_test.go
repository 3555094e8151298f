package simulators

import (
	"bytes"
	"context"
	"testing"

	"github.com/ewrchain/ewr/ledger"
	"github.com/stretchr/testify/require"
)

func TestLifecycleInMemory(t *testing.T) {
	w := ledger.NewWorld("demo", 1_900_000_000)
	sim, err := ledger.NewSim(w, "ewr-demo", 1_767_225_600)
	require.NoError(t, err)
	var out bytes.Buffer
	s := &Lifecycle{Driver: &MemDriver{Sim: sim}, World: w, Out: &out, Tag: "t1", Bay: ledger.DemoBays[0]}
	require.NoError(t, s.Run(context.Background()), out.String())
	require.NoError(t, ledger.CheckInvariants(sim.Store))
	require.Contains(t, out.String(), "receipt: already pledged")
	t.Log("\n" + out.String())
}
