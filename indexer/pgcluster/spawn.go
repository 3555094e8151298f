package pgcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// spawner starts every child process from one goroutine that stays locked to
// its OS thread for the life of the process. The kernel sends a child its
// parent-death signal when the thread that forked it exits, not when the
// process does (go.dev/issue/27505), and the Go runtime ends a thread whose
// goroutine exits while locked to it. A thread that is locked, never unlocked
// and never returns lives until the process dies, so Pdeathsig then means
// "the process that started me died".
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan<- error
}

// startChild starts cmd from the spawner thread.
func startChild(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		go func() {
			runtime.LockOSThread() // never unlocked: see spawner
			for r := range spawner.reqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, errc: errc}
	return <-errc
}

// childAttr runs a child as su, in its own process group (so a terminal's
// Ctrl-C reaches only us, and we decide how the server stops), and has the
// kernel send it deathSignal when we die. Go sets the parent-death signal
// after switching user, because the kernel clears it on a credential change.
func childAttr(su serverUser, deathSignal syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  deathSignal,
		Credential: su.cred,
	}
}

// childEnv is this process's environment without PG* variables (the server
// programs must not pick up a client's PGDATA, PGPORT and the like) and in
// the C locale, so the server's messages, which errors quote, are English.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_ALL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// ProcessAlive reports whether a process with this pid exists and has not exited.
// EPERM means it exists but belongs to someone else. A zombie has exited;
// only its parent (init, for an orphan, which may be slow to reap) has not
// reaped it yet.
func ProcessAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc to tell a zombie by
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// clearStalePidFile removes the postmaster.pid a killed server left in dir,
// when the process it names is gone, or is not a postgres serving dir (its
// pid reused by something else). When that process may be a live server for
// dir, or this cannot be told, the file stays: postgres then judges it
// itself and refuses to start twice on one data dir. It returns whether it
// removed the file.
func clearStalePidFile(dir string) (bool, error) {
	path := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgcluster: %w", err)
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(first)))
	// An empty or garbled file is what a crash during startup leaves.
	if err == nil && pid > 0 && mayBeServerFor(pid, dir) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("pgcluster: remove stale %s: %w", path, err)
	}
	return true, nil
}

// mayBeServerFor reports whether pid may be a postgres process serving the
// data dir dir. It answers yes when it cannot tell.
func mayBeServerFor(pid int, dir string) bool {
	if !ProcessAlive(pid) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // no /proc: cannot tell
	}
	// argv[0] is the program path for the postmaster ("/usr/lib/postgresql/15/bin/postgres")
	// and a title for its children ("postgres: checkpointer").
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	argv0, _, _ = bytes.Cut(argv0, []byte(" "))
	base := filepath.Base(string(argv0))
	if !strings.HasPrefix(base, "postgres") && !strings.HasPrefix(base, "postmaster") {
		return false
	}
	// A postgres server's working directory is its data dir.
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return true
	}
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return true
	}
	return filepath.Clean(cwd) == want
}
