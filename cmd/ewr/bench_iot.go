package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ewrchain/ewr/simulators/iotbench"
)

func init() {
	registerBench(&benchmark{name: "iot", summary: "signed readings verified and evaluated per second by one supervisor; theft-to-frozen latency on a localnet", run: runBenchIoT})
}

func runBenchIoT(ctx context.Context, args []string) error {
	fs := newFlags("bench iot")
	duration := fs.Duration("duration", 30*time.Second, "throughput window: supervisors consume the pre-published readings pass after pass")
	readings := fs.Int("readings", 60_000, "readings pre-published (once, before the window) for the throughput passes")
	trials := fs.Int("trials", 30, "thefts the freeze latency is measured on")
	batch := fs.Int("batch", 0, "supervisor fetch batch (0: its default)")
	workers := fs.Int("workers", 0, "signature verification goroutines (0: GOMAXPROCS)")
	validators := fs.Int("validators", 4, "validators of the localnet")
	home := fs.String("home", "", "run in this directory and keep it (default: a fresh temporary one)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the throughput window to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *duration <= 0 || *readings <= 0 || *trials <= 0 || *batch < 0 || *workers < 0 || *validators < 1 {
		return usagef("bad flags")
	}
	cfg := iotbench.IoTBenchConfig{Duration: *duration, Readings: *readings, Trials: *trials,
		Batch: *batch, Workers: *workers, Validators: *validators, Home: *home, Progress: os.Stderr}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.CPUProfile = f
	}
	res, err := iotbench.RunIoTBench(ctx, cfg)
	if err != nil {
		return err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(out))
	return err
}
