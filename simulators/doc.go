// Package simulators drives the system the way its users and devices
// would: scenario drivers (the lifecycle of a lot, the demo story), device
// simulators (weighbridge, bay load cells, cameras, door seals, each signing
// with its own key, with faults on command) and load generators.
//
// Scenarios run through a Driver, so the same story runs in memory, on a
// local consortium, or through the HTTP API.
package simulators
