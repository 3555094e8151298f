package main

import (
	"context"
	"fmt"
	"os"
	"sort"
)

// benchmark is one `ewr bench <name>`; each lives in its own bench_*.go file
// and registers itself in init.
type benchmark struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var benchmarks = map[string]*benchmark{}

func registerBench(b *benchmark) {
	if _, dup := benchmarks[b.name]; dup {
		panic("ewr: benchmark registered twice: " + b.name)
	}
	benchmarks[b.name] = b
}

func init() {
	register(&command{name: "bench", summary: "run a benchmark; prints one JSON object on stdout", run: runBench})
}

func runBench(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		benchUsage()
		if len(args) == 0 {
			return usagef("which benchmark?")
		}
		return nil
	}
	b, ok := benchmarks[args[0]]
	if !ok {
		benchUsage()
		return usagef("unknown benchmark %q", args[0])
	}
	return b.run(ctx, args[1:])
}

func benchUsage() {
	fmt.Fprintln(os.Stderr, "usage: ewr bench <benchmark> [flags]\n\nbenchmarks:")
	names := make([]string, 0, len(benchmarks))
	for n := range benchmarks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, benchmarks[n].summary)
	}
}
