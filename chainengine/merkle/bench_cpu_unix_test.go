//go:build unix

package merkle

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used, all threads and the
// garbage collector included. Benchmarks report it beside wall time because
// other work on a shared machine stretches wall time but not CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
