package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ewrchain/ewr/member/chaos"
)

func init() {
	register(&command{name: "chaos", summary: "the fault test: members in their own namespaces under seeded partitions, kills and pauses", run: runChaos})
}

func runChaos(ctx context.Context, args []string) error {
	fs := newFlags("chaos")
	members := fs.Int("members", 4, "members, each its own process in its own network namespace")
	duration := fs.Duration("duration", 60*time.Second, "how long the faults and the clients run")
	seed := fs.Int64("seed", 1, "the fault schedule's and the clients' seed")
	dir := fs.String("dir", "", "where the members' homes go (default: a temporary directory, removed when the run passes)")
	loopback := fs.Bool("loopback", false, "run the members on 127.0.0.1 without namespaces (no partitions)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	rep, err := chaos.Run(ctx, chaos.Options{Members: *members, Duration: *duration, Seed: *seed, Binary: bin, Dir: *dir,
		Loopback: *loopback, Log: stderr})
	if rep != nil {
		b, _ := json.Marshal(rep)
		fmt.Println(string(b))
		fmt.Fprintln(stderr, rep.Summary())
	}
	if err != nil {
		return fmt.Errorf("chaos (seed %d): %w; replay: ewr chaos --members %d --duration %s --seed %d", *seed, err, *members, *duration, *seed)
	}
	if !rep.OK() {
		return errors.New("chaos: the run found faults")
	}
	return nil
}
