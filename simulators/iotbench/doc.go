// Package iotbench is `ewr bench iot`: how many signed readings one
// supervisor verifies and evaluates per second, and how long a theft takes
// to freeze receipts on a local consortium (RunIoTBench).
//
// Throughput: the readings of one warehouse's devices (mostly ordinary,
// with 0.2% forged, 0.1% replayed and 0.1% from unknown devices) are
// published once before the window — the sync-always stream stores a few
// thousand a second, fewer than a supervisor reads — and then consumed
// pass after pass, each pass by a fresh supervisor on a fresh durable
// consumer, until the window is over. readings_per_s is readings handled
// over the time the passes took.
//
// Freeze latency: another warehouse runs its simulated devices and its
// collateral manager's supervisor against a 4-validator localnet; each
// trial takes 3 t off a lot's bay and times from the moment the settled
// theft reading is handed to the bus to the commit that froze the lot's
// receipts; a re-count with the regulator resets the lot.
package iotbench
