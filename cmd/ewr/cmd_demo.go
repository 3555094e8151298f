package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/simulators"
)

func init() {
	register(&command{name: "demo", summary: "walk a lot through its whole lifecycle and print what happens", run: runDemo})
}

func runDemo(ctx context.Context, args []string) error {
	fs := newFlags("demo")
	memory := fs.Bool("memory", false, "run on an in-memory ledger instead of a running system")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*memory {
		return usagef("only --memory is available in this build")
	}
	now := time.Now().Unix()
	w := ledger.NewWorld("demo", now+5*365*86400)
	sim, err := ledger.NewSim(w, "ewr-demo", now)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "ewr demo (in memory): consortium of %d participants, warehouse %s\n\n", len(w.Actors), ledger.Warehouse1)
	s := &simulators.Lifecycle{Driver: &simulators.MemDriver{Sim: sim}, World: w, Out: os.Stdout, Tag: fmt.Sprint(now % 100000), Bay: ledger.DemoBays[0]}
	if err := s.Run(ctx); err != nil {
		return err
	}
	if err := ledger.CheckInvariants(sim.Store); err != nil {
		return err
	}
	h := sim.Store.StateHash()
	fmt.Fprintf(os.Stdout, "\nall invariants hold; state hash %x after %d blocks\n", h[:8], sim.Block.Height)
	return nil
}
