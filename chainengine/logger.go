package chainengine

import (
	"fmt"
	"io"
	"strings"

	"github.com/cometbft/cometbft/libs/cli/flags"
	"github.com/cometbft/cometbft/libs/log"
)

// DefaultLogLevel keeps CometBFT's errors and drops its per-block chatter.
const DefaultLogLevel = "*:error"

// NewLogger returns a CometBFT logger writing to w at level, which is either
// one word (debug, info, error, none) or module:level pairs as CometBFT takes
// them ("consensus:info,*:error"). The logger drops the known-noisy errors
// listed in noisyErrors and keeps every other error.
func NewLogger(w io.Writer, level string) (log.Logger, error) {
	if level == "" {
		level = DefaultLogLevel
	}
	l, err := flags.ParseLogLevel(level, log.NewTMLogger(log.NewSyncWriter(w)), "info")
	if err != nil {
		return nil, fmt.Errorf("chainengine: log level %q: %w", level, err)
	}
	return quietLogger{next: l}, nil
}

// noisyErrors are what CometBFT logs at Error level that is not an error:
// the message, and a substring its "err" value must contain ("" for any).
// "Tx already received from peer" comes thousands of times a minute under
// load when two peers relay the same tx (an upstream issue); the others are
// a clean shutdown.
var noisyErrors = []struct{ msg, err string }{
	{"Tx already received from peer", ""},
	{"Error stopping pool", "already stopped"},
	{"error stopping peer", "already stopped"},
	{"Stopped accept routine, as transport is closed", ""},
	{"Won't start a peer - switch is not running", ""},
	{"Error serving server", "use of closed network connection"},
}

func isNoisy(msg string, kv []any) bool {
	for _, n := range noisyErrors {
		if n.msg != msg {
			continue
		}
		if n.err == "" {
			return true
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "err" && strings.Contains(fmt.Sprint(kv[i+1]), n.err) {
				return true
			}
		}
	}
	return false
}

type quietLogger struct{ next log.Logger }

func (l quietLogger) Debug(msg string, kv ...any) { l.next.Debug(msg, kv...) }
func (l quietLogger) Info(msg string, kv ...any)  { l.next.Info(msg, kv...) }
func (l quietLogger) Error(msg string, kv ...any) {
	if isNoisy(msg, kv) {
		return
	}
	l.next.Error(msg, kv...)
}
func (l quietLogger) With(kv ...any) log.Logger { return quietLogger{next: l.next.With(kv...)} }

// pebbleLogger routes pebble's log lines (WAL replay on every open, compaction
// notes) to the debug level of a CometBFT logger.
type pebbleLogger struct{ l log.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("pebble fatal", "msg", msg)
	panic("pebble: " + msg)
}
