//go:build unix

package chainengine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrHomeInUse: another process runs a node on this home.
var ErrHomeInUse = errors.New("chainengine: another process runs a node on this home")

// LockHome takes an exclusive lock on a node's home (home/ewr.lock, with
// the holder's pid), before anything in it is opened: a second process on
// one home is refused with the first's pid, not by a store failing midway.
// The kernel drops the lock when the process dies.
func LockHome(home string) (release func(), err error) {
	path := filepath.Join(home, "ewr.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("chainengine: lock home: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			return nil, fmt.Errorf("%w: %s (pid %s)", ErrHomeInUse, home, strings.TrimSpace(string(b)))
		}
		return nil, fmt.Errorf("chainengine: lock home: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
