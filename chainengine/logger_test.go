package chainengine

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoggerDropsOnlyKnownNoise(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "error")
	require.NoError(t, err)
	l = l.With("module", "p2p")
	l.Error("Tx already received from peer", "tx", "AB", "sender", "x")
	l.Error("Error stopping pool", "err", errors.New("already stopped"))
	l.Error("Error serving server", "err", errors.New("accept tcp: use of closed network connection"))
	assert.Empty(t, buf.String())

	l.Error("Error stopping pool", "err", errors.New("disk on fire"))
	l.Error("Error serving server", "err", errors.New("permission denied"))
	l.Error("state machine rejected a proposed block")
	l.Info("not at error level")
	out := buf.String()
	assert.Contains(t, out, "disk on fire")
	assert.Contains(t, out, "permission denied")
	assert.Contains(t, out, "rejected a proposed block")
	assert.NotContains(t, out, "not at error level")

	_, err = NewLogger(&buf, "consensus:loud")
	assert.Error(t, err)
}
