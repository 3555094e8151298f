package bus

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ewrchain/ewr/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExternalServerRoundTrip runs the round trip against a nats-server
// process found on PATH, as a node started with --nats-url would use it. The
// server gets a random port (reported through its ports file, so no port is
// guessed and the machine's own server on 4222 is never touched) and a temp
// store dir. Configured with sync_interval: always when the binary knows the
// option (2.10+); older ones cannot be made durable and the test says so.
func TestExternalServerRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats-server process")
	}
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server not on PATH; install it to run the external-server test")
	}
	dir := t.TempDir()
	syncAlways := true
	conf := writeConf(t, dir, true)
	if out, err := exec.Command(bin, "-t", "-c", conf).CombinedOutput(); err != nil {
		if !strings.Contains(string(out), "sync_interval") {
			t.Fatalf("nats-server -t: %v: %s", err, out)
		}
		t.Logf("%s does not know sync_interval (%s): running without sync always; do not use it in production",
			bin, strings.TrimSpace(string(out)))
		syncAlways = false
		conf = writeConf(t, dir, false)
	}

	portsDir := filepath.Join(dir, "ports")
	require.NoError(t, os.Mkdir(portsDir, 0o700))
	var logs strings.Builder
	cmd := exec.Command(bin, "-c", conf, "--ports_file_dir", portsDir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("nats-server output:\n%s", logs.String())
		}
	})

	var url string
	portsFile := filepath.Join(portsDir, fmt.Sprintf("%s_%d.ports", filepath.Base(bin), cmd.Process.Pid))
	testkit.Poll(t, 15*time.Second, "", func() error {
		b, err := os.ReadFile(portsFile)
		if err != nil {
			return err
		}
		var ports struct {
			Nats []string `json:"nats"`
		}
		if err := json.Unmarshal(b, &ports); err != nil || len(ports.Nats) == 0 {
			return fmt.Errorf("ports file %q: %v", b, err)
		}
		url = ports.Nats[0]
		return nil
	})
	require.NotContains(t, url, ":4222", "must not be the machine's own server")
	t.Logf("external nats-server at %s (sync always: %v)", url, syncAlways)

	_, js := connectJS(t, url)
	ctx := testCtx(t)
	require.NoError(t, EnsureStreams(ctx, js, StreamOptions{}))

	subj := reading(t, "wh1", "bay-1", "lc-1", KindWeight)
	seq, dup, err := Publish(ctx, js, subj, ReadingMsgID("lc-1", 1, 1), []byte("r1"))
	require.NoError(t, err)
	assert.False(t, dup)
	seq2, dup, err := Publish(ctx, js, subj, ReadingMsgID("lc-1", 1, 1), []byte("r1"))
	require.NoError(t, err)
	assert.True(t, dup)
	assert.Equal(t, seq, seq2)

	c, err := OpenConsumer(ctx, js, ConsumerConfig{Stream: ReadingsStream, Durable: "sup"})
	require.NoError(t, err)
	defer c.Close()
	msgs, err := c.Fetch(ctx, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, []byte("r1"), msgs[0].Data)
	assert.Equal(t, "lc-1:1:1", msgs[0].MsgID)
	assert.Equal(t, seq, msgs[0].StreamSeq)
	require.NoError(t, msgs[0].AckSync(ctx))
}

func writeConf(t *testing.T, dir string, syncAlways bool) string {
	t.Helper()
	js := fmt.Sprintf("store_dir: %q", filepath.Join(dir, "store"))
	if syncAlways {
		js += ", sync_interval: always"
	}
	conf := filepath.Join(dir, "nats.conf")
	body := fmt.Sprintf("listen: \"127.0.0.1:-1\"\nserver_name: ewr-bus-test\njetstream { %s }\n", js)
	require.NoError(t, os.WriteFile(conf, []byte(body), 0o600))
	return conf
}
