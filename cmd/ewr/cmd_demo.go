package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/apiclient"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/simulators"
	"github.com/ewrchain/ewr/simulators/demo"
)

func init() {
	register(&command{name: "demo", summary: "tell the story of a lot of copper through the API of a running system (or --memory)", run: runDemo})
}

func runDemo(ctx context.Context, args []string) error {
	fs := newFlags("demo")
	memory := fs.Bool("memory", false, "run on an in-memory ledger instead of a running system")
	apiURL := fs.String("api", envOr("EWR_API", defaultAPI), "API base URL of the running system (`ewr run`)")
	participants := fs.String("participants", envOr("EWR_PARTICIPANTS", defaultDataDir+"/"+participantsRel), "participants file with the tokens")
	tag := fs.String("tag", "", "suffix that makes the story's ids unique (default: from the clock)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *memory {
		return runMemoryDemo(ctx)
	}
	ps, err := api.LoadParticipants(*participants)
	if errors.Is(err, api.ErrNoParticipantsFile) {
		return fmt.Errorf("%w: start the system first (`make run` or `ewr run`), or use --memory", err)
	}
	if err != nil {
		return err
	}
	tokens := map[string]string{}
	for _, p := range ps {
		tokens[p.ID] = p.Token
	}
	if *tag == "" {
		*tag = fmt.Sprintf("d%d", time.Now().Unix()%1_000_000)
	}
	// The demo plays the weighbridge: it signs tickets with the demo
	// world's device keys, which do not depend on the calibration date.
	world := ledger.NewWorld(worldSeed, 0)
	res, err := demo.Run(ctx, demo.Config{API: *apiURL, Tokens: tokens, World: world, Out: stdout, Tag: *tag})
	if err != nil {
		return err
	}
	return demo.Check(ctx, apiclient.New(*apiURL, tokens[ledger.Regulator]), res)
}

func runMemoryDemo(ctx context.Context) error {
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
