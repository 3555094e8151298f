package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Defaults of the embedded server.
const (
	// DefaultHost keeps the embedded server on loopback: devices reach a
	// node through its gateway, not the node's bus directly.
	DefaultHost = "127.0.0.1"
	// DefaultPort is the project's client port. It is not NATS's 4222 so an
	// ewr node and a nats-server already on the machine do not collide.
	DefaultPort = 14222
	// RandomPort asks the OS for a free port (tests, several nodes per host).
	RandomPort = -1
	// DefaultStartTimeout bounds how long StartEmbedded waits for the server
	// to accept clients; recovering a large store takes part of it.
	DefaultStartTimeout = 30 * time.Second
	// MaxServerPayloadBytes is the largest message the embedded server takes
	// on the wire (its max_payload); stream limits are below it.
	MaxServerPayloadBytes = 1 << 20
)

var (
	// ErrNoStoreDir: the JetStream store must be placed explicitly, in the
	// node's home, so two nodes never share one by accident.
	ErrNoStoreDir = errors.New("bus: embedded server needs a store dir")
	// ErrNotReady: the server did not accept clients within StartTimeout.
	ErrNotReady = errors.New("bus: embedded server not ready")
	// ErrNotSyncAlways: JetStream came up without fsync on every write.
	ErrNotSyncAlways = errors.New("bus: jetstream not in sync-always mode")
	// ErrStoreDirInUse: another server (in this process or another) has the
	// store dir.
	ErrStoreDirInUse = errors.New("bus: store dir in use")
)

// lockFileName is the lock file StartEmbedded holds in the store dir.
const lockFileName = "ewr-bus.lock"

// Options configures StartEmbedded. The zero value of every field but
// StoreDir means its default.
type Options struct {
	// StoreDir is the JetStream file store, in the node's home
	// (e.g. ~/.ewr/nats). Created with mode 0700 if missing.
	StoreDir string
	// Host is the listen address; default DefaultHost.
	Host string
	// Port is the client port; 0 means DefaultPort, RandomPort a free one.
	Port int
	// MaxStoreBytes caps all JetStream file storage; 0 lets the server pick
	// (75% of the free disk).
	MaxStoreBytes int64
	// StartTimeout bounds the wait for ReadyForConnections; default
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Logger receives the server's notices, warnings and errors. Nil keeps
	// the server silent.
	Logger *slog.Logger
}

// Server is an in-process nats-server with JetStream in sync-always mode.
type Server struct {
	ns       *server.Server
	storeDir string
	unlock   func()
	once     sync.Once
}

// StartEmbedded starts a nats-server in this process and returns once it
// accepts clients, with JetStream on a file store that fsyncs every write.
func StartEmbedded(o Options) (*Server, error) {
	if o.StoreDir == "" {
		return nil, ErrNoStoreDir
	}
	storeDir, err := filepath.Abs(o.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("bus: store dir: %w", err)
	}
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return nil, fmt.Errorf("bus: store dir: %w", err)
	}
	unlock, err := lockStoreDir(storeDir)
	if err != nil {
		return nil, err
	}
	s, err := startLocked(o, storeDir)
	if err != nil {
		unlock()
		return nil, err
	}
	s.unlock = unlock
	return s, nil
}

func startLocked(o Options, storeDir string) (*Server, error) {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	switch {
	case o.Port == 0:
		o.Port = DefaultPort
	case o.Port < RandomPort || o.Port > 65535:
		return nil, fmt.Errorf("bus: port %d out of range", o.Port)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.MaxStoreBytes < 0 {
		return nil, fmt.Errorf("bus: max store bytes %d is negative", o.MaxStoreBytes)
	}

	sopts := &server.Options{
		ServerName:             "ewr-embedded",
		Host:                   o.Host,
		Port:                   o.Port,
		MaxPayload:             MaxServerPayloadBytes,
		JetStream:              true,
		StoreDir:               storeDir,
		JetStreamMaxStore:      o.MaxStoreBytes,
		DisableJetStreamBanner: true,
		// SyncAlways is `jetstream { sync_interval: always }`: the file store
		// fsyncs each message block write before the publish is acked. The
		// default (fsync every 2 minutes) acks what a power cut can still lose.
		SyncAlways: true,
		// The node owns the process's signals and logging.
		NoSigs: true,
		NoLog:  o.Logger == nil,
	}
	if o.MaxStoreBytes == 0 {
		sopts.JetStreamMaxStore = -1 // dynamic
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server: %w", err)
	}
	if o.Logger != nil {
		ns.SetLoggerV2(slogAdapter{o.Logger}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(o.StartTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("%w after %v on %s:%d", ErrNotReady, o.StartTimeout, o.Host, o.Port)
	}
	s := &Server{ns: ns, storeDir: storeDir}
	// Assert what the options promised: JetStream is on and syncs always.
	if !ns.JetStreamEnabled() {
		s.Shutdown()
		return nil, fmt.Errorf("%w: jetstream is off", ErrNotReady)
	}
	if !s.SyncAlways() {
		s.Shutdown()
		return nil, ErrNotSyncAlways
	}
	return s, nil
}

// ClientURL is the nats:// URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// SyncAlways reports whether the running JetStream fsyncs every write.
func (s *Server) SyncAlways() bool {
	cfg := s.ns.JetStreamConfig()
	return cfg != nil && cfg.SyncAlways
}

// StoreDir is Options.StoreDir made absolute; JetStream keeps its files in
// its jetstream subdirectory.
func (s *Server) StoreDir() string { return s.storeDir }

// Connect opens a client connection that bypasses the network stack; it
// has the same defaults as the package Connect.
func (s *Server) Connect(ctx context.Context, opts ...nats.Option) (*nats.Conn, error) {
	return Connect(ctx, s.ClientURL(), append([]nats.Option{nats.InProcessServer(s.ns)}, opts...)...)
}

// Shutdown stops the server and returns once it has stopped. Every message
// acked before the call is on disk already (sync always); Shutdown does not
// drain clients.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.once.Do(s.unlock)
}

// slogAdapter carries nats-server's log lines into slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
