package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeviceRun feeds `ewr device run` JSON lines against a real embedded
// NATS server and reads what landed on the readings stream: each good line
// signed by the device key in one epoch with rising sequences, on the
// device's subject with its message id; a bad line reported and skipped;
// the next run a later epoch.
func TestDeviceRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := bus.StartEmbedded(bus.Options{StoreDir: t.TempDir(), Port: bus.RandomPort})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect(ctx)
	require.NoError(t, err)
	defer nc.Close()
	js, err := bus.JetStream(nc)
	require.NoError(t, err)
	require.NoError(t, bus.EnsureStreams(ctx, js, bus.StreamOptions{}))

	dir := t.TempDir()
	keyPath := filepath.Join(dir, "lc.key.json")
	var errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"keys", "new", "--device", "WH-T-LC-01", "--warehouse", "WH-T", "--bay", "BAY-01", "--out", keyPath}, &errOut), errOut.String())
	raw, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	var kf keyFile
	require.NoError(t, json.Unmarshal(raw, &kf))
	pub, err := hex.DecodeString(kf.PublicKey)
	require.NoError(t, err)

	feed := func(lines string) (int, []deviceResult) {
		var out bytes.Buffer
		oldIn, oldOut := stdin, stdout
		stdin, stdout = strings.NewReader(lines), &out
		defer func() { stdin, stdout = oldIn, oldOut }()
		code := run([]string{"device", "run", "--key", keyPath, "--device", "WH-T-LC-01", "--nats-url", srv.ClientURL()}, &errOut)
		var res []deviceResult
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var r deviceResult
			require.NoError(t, json.Unmarshal([]byte(l), &r), l)
			res = append(res, r)
		}
		return code, res
	}
	code, res := feed(`{"weight": {"qty": 40480, "unit": "kg", "stable": true}}
{"seal": {"seal_id": "SEAL-1", "state": "ajar"}}
{"heartbeat": {"battery_permille": 900}}
`)
	assert.Equal(t, 1, code, "one line was not published: %s", errOut.String())
	require.Len(t, res, 3)
	assert.NotEmpty(t, res[1].Error)
	assert.Equal(t, "ewr.readings.WH-T.BAY-01.WH-T-LC-01.weight", res[0].Subject)
	assert.Equal(t, "ewr.readings.WH-T.BAY-01.WH-T-LC-01.heartbeat", res[2].Subject)

	code, res2 := feed(`{"weight": {"qty": 40470, "unit": "kg", "stable": true}}` + "\n")
	assert.Equal(t, 0, code, errOut.String())

	filter, err := bus.ReadingFilter("WH-T", "BAY-01", "WH-T-LC-01", "")
	require.NoError(t, err)
	msgs, err := bus.Recent(ctx, js, bus.ReadingsStream, filter, time.Now().Add(-time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	var prev iot.Pos
	for i, m := range msgs {
		sr, _, err := iot.Decode(m.Data)
		require.NoError(t, err)
		assert.True(t, ed25519.Verify(pub, iot.SignBytes(&sr.Reading), sr.Sig[:]), "signed by the device key")
		assert.True(t, sr.Reading.Pos().After(prev), "reading %d comes after the one before", i)
		prev = sr.Reading.Pos()
		assert.Equal(t, m.MsgID, []string{res[0].MsgID, res[2].MsgID, res2[0].MsgID}[i])
	}
	first, _, _ := iot.Decode(msgs[0].Data)
	last, _, _ := iot.Decode(msgs[2].Data)
	assert.Equal(t, first.Reading.Epoch+1, last.Reading.Epoch, "each run is a boot")
	assert.Equal(t, uint64(1), last.Reading.Seq)
}
