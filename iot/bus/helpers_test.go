package bus

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// childStoreEnv, when set, turns the test binary into a bus server process:
// the crash test re-executes itself with it so it can kill -9 the server.
const (
	childStoreEnv = "EWR_BUS_TEST_CHILD_STORE"
	childURLLine  = "EWR_BUS_CHILD_URL="
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childStoreEnv); dir != "" {
		os.Exit(runChildServer(dir))
	}
	os.Exit(m.Run())
}

// runChildServer runs StartEmbedded on dir, prints its URL and serves until
// stdin closes (the parent went away) or the process is killed.
func runChildServer(dir string) int {
	s, err := StartEmbedded(Options{StoreDir: dir, Port: RandomPort, StartTimeout: 20 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("%s%s\n", childURLLine, s.ClientURL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.Shutdown()
	return 0
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startServer starts an embedded server on a random port with its store in
// a fresh temp dir.
func startServer(t testing.TB) *Server {
	t.Helper()
	s, err := StartEmbedded(Options{StoreDir: t.TempDir(), Port: RandomPort, StartTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	return s
}

// startStockServer starts a nats-server with JetStream and nats-server's own
// defaults, i.e. without sync always: the control for durability tests.
func startStockServer(t testing.TB, storeDir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: storeDir,
		NoLog: true, NoSigs: true, DisableJetStreamBanner: true,
	})
	require.NoError(t, err)
	ns.Start()
	require.True(t, ns.ReadyForConnections(10*time.Second), "stock server not ready")
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	require.False(t, ns.JetStreamConfig().SyncAlways, "stock server must not sync always")
	return ns
}

func connectJS(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := Connect(testCtx(t), url, nats.Name("ewr-bus-test"))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := JetStream(nc)
	require.NoError(t, err)
	return nc, js
}

// setup starts a server, connects over TCP and ensures the streams.
func setup(t testing.TB) (*Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	s := startServer(t)
	nc, js := connectJS(t, s.ClientURL())
	require.NoError(t, EnsureStreams(testCtx(t), js, StreamOptions{}))
	return s, nc, js
}

func reading(t testing.TB, wh, bay, dev, kind string) string {
	t.Helper()
	subj, err := ReadingSubject(wh, bay, dev, kind)
	require.NoError(t, err)
	return subj
}

// payload returns n bytes that name i, so a mixed-up message shows.
func payload(i, n int) []byte {
	p := []byte(fmt.Sprintf("reading-%08d|", i))
	for len(p) < n {
		p = append(p, byte('a'+i%26))
	}
	return p[:n]
}

// childServer is a bus server in a child process (see runChildServer).
type childServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
	out   *strings.Builder
}

func startChild(t *testing.T, storeDir string) *childServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childStoreEnv+"="+storeDir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	c := &childServer{cmd: cmd, stdin: stdin, out: &stderr}
	t.Cleanup(func() { c.kill() })

	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), childURLLine); ok {
				urls <- u
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		require.True(t, ok, "child exited before serving: %s", stderr.String())
		c.url = u
	case <-time.After(30 * time.Second):
		t.Fatalf("child server not up after 30s: %s", stderr.String())
	}
	return c
}

// kill sends SIGKILL: no shutdown path in the server runs.
func (c *childServer) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}
