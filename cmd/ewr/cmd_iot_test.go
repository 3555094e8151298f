package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIoTCommandDispatch(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 2, run([]string{"iot"}, &stderr), "which iot command?")
	assert.Equal(t, 2, run([]string{"iot", "frob"}, &stderr))
	assert.Equal(t, 2, run([]string{"iot", "audit"}, &stderr), "--warehouse missing")
	assert.Equal(t, 2, run([]string{"bench", "iot", "--duration", "0s"}, &stderr))
	assert.Contains(t, commands, "iot")
	assert.Contains(t, benchmarks, "iot")
}
