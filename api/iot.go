package api

import (
	"context"
	"errors"
)

// IoT is what the API needs from the node's IoT supervision (package iot
// and its supervisor): counters for /metrics. Alerts themselves are chain
// records (ial/...), served from the state.
type IoT interface {
	Stats() IoTStats
}

// IoTStats are the supervisor's counters since it started.
type IoTStats struct {
	Readings uint64 // readings received and checked
	Alerts   uint64 // alerts raised (breaches and gaps)
}

// Simulator is the simulated warehouse of `ewr run`: it weighs goods in,
// loads release orders out as the warehouse's staff would, and injects
// faults into the device simulators, for the demo and for people trying
// the system.
type Simulator interface {
	Fault(ctx context.Context, f FaultRequest) (FaultResult, error)
	Intake(ctx context.Context, r IntakeRequest) (IntakeResult, error)
	// LoadOut reports a release order's load-out; ErrNoLoadOut when the
	// simulator is not loading it out.
	LoadOut(ctx context.Context, releaseOrder string) (LoadOutView, error)
}

// ErrNoLoadOut is a release order the simulator is not loading out (not
// open, not on a simulated bay, or not yet seen).
var ErrNoLoadOut = errors.New("the simulated warehouse is not loading this release order out")

// Fault kinds the simulator knows.
const FaultTheft = "theft"
