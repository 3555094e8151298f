package api

import "context"

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

// Simulator is the simulated warehouse of `ewr run`: it injects faults into
// the device simulators, for the demo and for people trying the system.
type Simulator interface {
	Fault(ctx context.Context, f FaultRequest) (FaultResult, error)
}

// Fault kinds the simulator knows.
const FaultTheft = "theft"
