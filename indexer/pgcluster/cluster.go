package pgcluster

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the "postgres" database/sql driver
)

// Superuser is the role initdb creates and DSN connects as.
const Superuser = "postgres"

// connectTimeoutSec is the connect_timeout every DSN carries.
const connectTimeoutSec = 10

const (
	defaultStartTimeout = 60 * time.Second
	defaultStopTimeout  = 30 * time.Second
	// quitTimeout is how long an immediate shutdown (SIGQUIT) may take before
	// SIGKILL; postgres itself SIGKILLs its children after 5 s of it.
	quitTimeout = 10 * time.Second
	killTimeout = 10 * time.Second
	// portAttempts bounds how often Start picks another free port when the
	// one it picked was taken before postgres could bind it.
	portAttempts = 5
	readyPoll    = 20 * time.Millisecond
	pingTimeout  = 2 * time.Second
	logTailBytes = 4 << 10
	// sunPathMax is the longest unix socket path: sizeof(sun_path) - 1.
	sunPathMax = 107
)

// Errors about the server process.
var (
	ErrServerExited = errors.New("pgcluster: postgres exited")
	ErrStartTimeout = errors.New("pgcluster: postgres did not accept connections in time")
	ErrStopTimeout  = errors.New("pgcluster: postgres did not stop in time")
)

// Options says where and how Start runs a cluster.
type Options struct {
	// Dir is the data dir: created with initdb when absent or empty, reused
	// when it holds a cluster. Its parents are created as needed.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Fsync makes committed data survive a machine crash. Use true for data
	// that matters (`make run`), false for tests, which it makes faster.
	Fsync bool
	// BinDir holds initdb and postgres; empty searches for them (see
	// findBinDir).
	BinDir string
	// LogFile receives the server's output, appended; empty means
	// postgres.log in Dir.
	LogFile string
	// Logger receives this package's own messages (initdb, start, stop);
	// nil discards them.
	Logger *slog.Logger
	// Settings are extra server settings (postgres -c name=value), applied
	// after this package's own, so they may override them.
	Settings map[string]string
	// StartTimeout bounds the wait for the server to accept connections;
	// 0 means 60 s.
	StartTimeout time.Duration
	// StopTimeout bounds Stop's fast shutdown before it escalates; 0 means
	// 30 s.
	StopTimeout time.Duration
}

// Cluster is a running postmaster that this process started.
type Cluster struct {
	dir        string
	port       int
	sockDir    string
	tmpSockDir bool // sockDir is ours to remove on Stop
	logFile    string
	su         serverUser
	log        *slog.Logger
	stop       time.Duration

	cmd     *exec.Cmd
	exited  chan struct{} // closed once the postmaster has exited and been reaped
	exitErr error         // cmd.Wait's result; read only after exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start runs a cluster in opts.Dir, making it with initdb first when the dir
// is absent or empty, and returns once the server accepts connections. On
// error nothing of the server keeps running. Under root the server runs as
// ServerUserName (see the package doc). ctx bounds only the start: the
// server runs until Stop, or until this process dies.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is empty")
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("pgcluster: port %d out of range", opts.Port)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	su, err := currentServerUser()
	if err != nil {
		return nil, err
	}
	state, major, err := inspectDataDir(dir)
	if err != nil {
		return nil, err
	}
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = findBinDir(ctx, major); err != nil {
			return nil, err
		}
	} else if !hasServerPrograms(binDir) {
		return nil, fmt.Errorf("%w in Options.BinDir %s", ErrNoServerBinaries, binDir)
	}

	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := su.makeReachable(parent); err != nil {
		return nil, err
	}
	switch state {
	case dataDirMissing:
		began := time.Now()
		if err := initdb(ctx, binDir, dir, su, opts.Fsync); err != nil {
			return nil, err
		}
		log.Info("pgcluster: initdb done", "dir", dir, "bin", binDir, "took", time.Since(began))
	case dataDirCluster:
		if err := su.checkOwner(dir); err != nil {
			return nil, err
		}
		removed, err := clearStalePidFile(dir)
		if err != nil {
			return nil, err
		}
		if removed {
			log.Warn("pgcluster: removed a stale postmaster.pid left by a server that is gone", "dir", dir)
		}
	}

	logFile := opts.LogFile
	if logFile == "" {
		logFile = filepath.Join(dir, "postgres.log")
	}
	if logFile, err = filepath.Abs(logFile); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	sockDir, tmpSockDir, err := socketDir(dir, su)
	if err != nil {
		return nil, err
	}
	stopTimeout := opts.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = defaultStopTimeout
	}
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = pickPort(); err != nil {
				break
			}
		}
		c := &Cluster{
			dir: dir, port: port, sockDir: sockDir, tmpSockDir: tmpSockDir,
			logFile: logFile, su: su, log: log, stop: stopTimeout,
		}
		began := time.Now()
		var portInUse bool
		portInUse, err = c.launch(ctx, binDir, opts)
		if err == nil {
			log.Info("pgcluster: postgres accepts connections",
				"dir", dir, "port", port, "pid", c.PID(), "user", su.String(), "took", time.Since(began))
			return c, nil
		}
		if !(portInUse && opts.Port == 0 && attempt < portAttempts) {
			break
		}
		log.Warn("pgcluster: the free port picked was taken before postgres bound it; picking another", "port", port)
	}
	if tmpSockDir {
		os.RemoveAll(sockDir)
	}
	return nil, err
}

// initdb makes a cluster in dir. It works in a staging directory beside dir
// and renames it into place only on success, so dir never holds half a
// cluster.
func initdb(ctx context.Context, binDir, dir string, su serverUser, fsync bool) error {
	staging := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".initdb")
	if err := os.RemoveAll(staging); err != nil { // left by a killed initdb
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.Mkdir(staging, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.RemoveAll(staging) // nothing left to remove after the rename
	if err := su.chown(staging); err != nil {
		return err
	}
	args := []string{"-D", staging, "--auth=trust", "--username=" + Superuser, "--encoding=UTF8", "--no-locale"}
	if !fsync {
		args = append(args, "--no-sync")
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	cmd.Dir = staging
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = childAttr(su, syscall.SIGKILL)
	cmd.WaitDelay = 5 * time.Second // initdb's bootstrap postgres may hold the pipe
	if err := startChild(cmd); err != nil {
		return fmt.Errorf("pgcluster: start initdb: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("pgcluster: initdb %s as %s: %w; output:\n%s", dir, su, err, bytes.TrimSpace(out.Bytes()))
	}
	if err := os.Rename(staging, dir); err != nil {
		return fmt.Errorf("pgcluster: move the new cluster into place: %w", err)
	}
	if fsync {
		return syncDir(filepath.Dir(dir)) // make the rename durable
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("pgcluster: sync %s: %w", dir, err)
	}
	return nil
}

// socketDir returns the directory for the server's unix socket: the data dir
// when the socket path fits in sun_path, else a new short directory under
// /tmp that Stop removes (tmp true).
func socketDir(dataDir string, su serverUser) (dir string, tmp bool, err error) {
	if len(dataDir)+len("/.s.PGSQL.65535") <= sunPathMax {
		return dataDir, false, nil
	}
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err = os.MkdirTemp(base, "ewr-pg-")
	if err != nil {
		return "", false, fmt.Errorf("pgcluster: %w", err)
	}
	if err := su.chown(dir); err != nil {
		os.RemoveAll(dir)
		return "", false, err
	}
	if err := su.makeReachable(base); err != nil {
		os.RemoveAll(dir)
		return "", false, err
	}
	return dir, true, nil
}

// pickPort picks the port for Options.Port 0; tests replace it.
var pickPort = freePort

// freePort returns a loopback port that was free a moment ago. Another
// process may take it before postgres binds it; Start then picks again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverArgs is the postgres command line. The settings are small so that
// several clusters (parallel test binaries) fit on a small machine.
func serverArgs(dir string, port int, sockDir string, opts Options) []string {
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": quoteListItem(sockDir),
		"max_connections":         "100",
		"shared_buffers":          "128MB",
		"logging_collector":       "off", // output goes to LogFile
	}
	if !opts.Fsync {
		settings["shared_buffers"] = "32MB"
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	maps.Copy(settings, opts.Settings)
	args := []string{"-D", dir, "-p", strconv.Itoa(port)}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}
	return args
}

// quoteListItem quotes a path for a comma-separated list setting such as
// unix_socket_directories when it holds a comma, space or quote.
func quoteListItem(s string) string {
	if !strings.ContainsAny(s, ", \t\"") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// launch starts the postmaster and waits until it accepts connections. On
// error the postmaster is gone, and portInUse says whether it died because
// its port was taken.
func (c *Cluster) launch(ctx context.Context, binDir string, opts Options) (portInUse bool, err error) {
	logf, err := os.OpenFile(c.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return false, fmt.Errorf("pgcluster: %w", err)
	}
	fi, err := logf.Stat()
	if err != nil {
		logf.Close()
		return false, fmt.Errorf("pgcluster: %w", err)
	}
	logFrom := fi.Size()
	if filepath.Dir(c.logFile) == c.dir { // keep the data dir all the server user's
		if err := c.su.chown(c.logFile); err != nil {
			logf.Close()
			return false, err
		}
	}

	cmd := exec.Command(filepath.Join(binDir, "postgres"), serverArgs(c.dir, c.port, c.sockDir, opts)...)
	cmd.Dir = c.dir
	cmd.Env = childEnv()
	// An *os.File, not a pipe: the server's children inherit it, and a pipe
	// would keep cmd.Wait waiting on them.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr(c.su, syscall.SIGQUIT) // SIGQUIT: immediate shutdown
	err = startChild(cmd)
	logf.Close()
	if err != nil {
		return false, fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		c.exitErr = cmd.Wait()
		close(c.exited)
	}()

	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = defaultStartTimeout
	}
	if err := c.waitReady(ctx, timeout); err != nil {
		c.kill()
		tail := logTail(c.logFile, logFrom)
		portInUse = strings.Contains(tail, "Address already in use")
		return portInUse, fmt.Errorf("%w; server log %s ends:\n%s", err, c.logFile, tail)
	}
	return false, nil
}

// waitReady polls until the server accepts connections, it exits, ctx ends
// or timeout passes. Ready is what pg_ctl waits for: postmaster.pid names our
// postmaster and says "ready". A connection alone would not do: it reaches
// whichever server holds the port, and when ours failed to bind it, that is
// another one. Once ours is ready it holds the port (postgres exits when it
// cannot bind), and a connection checks the DSN we hand out.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	db, err := sql.Open("postgres", c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer db.Close()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	err = errors.New("postmaster.pid does not say ready")
	for {
		if c.pidFileSaysReady() {
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = db.PingContext(pctx)
			cancel()
			if err == nil {
				return nil
			}
		}
		select {
		case <-c.exited:
			return fmt.Errorf("%w during startup (%v)", ErrServerExited, c.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: waiting for postgres to start: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("%w (%v; last error: %v)", ErrStartTimeout, timeout, err)
		case <-tick.C:
		}
	}
}

// pidFileSaysReady reports whether the data dir's postmaster.pid names our
// postmaster (line 1) with status "ready" (line 8, since PostgreSQL 10).
func (c *Cluster) pidFileSaysReady() bool {
	b, err := os.ReadFile(filepath.Join(c.dir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(b), "\n")
	return len(lines) >= 8 &&
		strings.TrimSpace(lines[0]) == strconv.Itoa(c.cmd.Process.Pid) &&
		strings.TrimSpace(lines[7]) == "ready"
}

// logTail returns the end of what the server wrote to path after offset from,
// at most logTailBytes, starting at a line.
func logTail(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	start := max(from, fi.Size()-logTailBytes)
	b, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	if start > from {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(bytes.TrimSpace(b))
}

// Stop shuts the server down fast (SIGINT: roll back open transactions,
// checkpoint, exit) and waits for it. When that takes longer than
// Options.StopTimeout it escalates to SIGQUIT and then SIGKILL, and returns
// ErrStopTimeout. It returns ErrServerExited when the server had already
// exited. Calls after the first return the first result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.shutdown() })
	return c.stopErr
}

func (c *Cluster) shutdown() error {
	defer func() {
		if c.tmpSockDir {
			os.RemoveAll(c.sockDir)
		}
	}()
	select {
	case <-c.exited:
		return fmt.Errorf("%w before Stop: %v", ErrServerExited, c.exitErr)
	default:
	}
	began := time.Now()
	if c.signalAndWait(syscall.SIGINT, c.stop) {
		if c.exitErr != nil {
			return fmt.Errorf("pgcluster: fast shutdown: postgres %w", c.exitErr)
		}
		c.log.Info("pgcluster: postgres stopped", "dir", c.dir, "took", time.Since(began))
		return nil
	}
	c.log.Warn("pgcluster: postgres ignored a fast shutdown; killing it", "dir", c.dir, "waited", c.stop)
	c.kill()
	return fmt.Errorf("%w: no fast shutdown within %v; stopped with SIGQUIT or SIGKILL", ErrStopTimeout, c.stop)
}

// kill stops the postmaster with an immediate shutdown, then SIGKILL. Its
// children notice their postmaster's death and exit by themselves.
func (c *Cluster) kill() {
	if !c.signalAndWait(syscall.SIGQUIT, quitTimeout) {
		c.signalAndWait(syscall.SIGKILL, killTimeout)
	}
}

// signalAndWait sends sig to the postmaster and reports whether it exited
// within timeout.
func (c *Cluster) signalAndWait(sig syscall.Signal, timeout time.Duration) bool {
	// os.Process.Signal never signals a reaped and reused pid.
	if err := c.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.log.Warn("pgcluster: signal postgres", "signal", sig, "err", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.exited:
		return true
	case <-t.C:
		return false
	}
}

// DSN returns a lib/pq URL for database dbname on this cluster, as the
// superuser, with sslmode=disable and connect_timeout set.
func (c *Cluster) DSN(dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable&connect_timeout=" + strconv.Itoa(connectTimeoutSec),
	}
	return u.String()
}

// CreateDatabase creates database name unless it exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	return CreateDatabase(ctx, c.DSN("postgres"), name)
}

// Dir returns the data dir, absolute.
func (c *Cluster) Dir() string { return c.dir }

// Port returns the TCP port the server listens on, on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// PID returns the postmaster's process id.
func (c *Cluster) PID() int { return c.cmd.Process.Pid }

// LogFile returns the file that receives the server's output.
func (c *Cluster) LogFile() string { return c.logFile }

// Done is closed when the postmaster has exited, whether by Stop or not.
func (c *Cluster) Done() <-chan struct{} { return c.exited }
