package machine

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestReadingsMove(t *testing.T) {
	cpu0, host0 := ProcessCPU(), HostBusy()
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) { // burn CPU this process is charged for
		x++
	}
	_ = x
	assert.Greater(t, ProcessCPU(), cpu0, "process CPU time did not grow while spinning")
	if runtime.GOOS == "linux" {
		assert.Greater(t, HostBusy(), host0, "host busy time did not grow while spinning")
		assert.GreaterOrEqual(t, LoadAvg1m(), 0.0)
	}
}
