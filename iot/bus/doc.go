// Package bus is the NATS JetStream transport between the warehouse devices, the
// IoT supervisor and the chain event feed. It owns the subject scheme, the two
// streams, publishing with deduplication, the durable pull consumer the
// supervisor reads from, and the embedded nats-server a node runs by default.
// It does not know what a reading means: the envelope, signatures and rules
// live in the other iot packages and reach this one as opaque bytes.
//
// # Subjects
//
// Readings are published on
//
//	ewr.readings.<warehouse>.<bay>.<device>.<kind>
//
// built by [ReadingSubject]. Kinds are free-form tokens; the ones in use are
// weight (bay load cell), ticket (weighbridge weigh ticket), motion (camera),
// seal (door/seal sensor) and heartbeat. Chain events (committed blocks'
// events for the feed) are published on
//
//	ewr.events.<type>
//
// built by [EventSubject]. Every token is 1..[MaxTokenLen] bytes of ASCII
// letters, digits, '-' and '_': no dots, no wildcards ('*', '>'), no spaces.
// A subject is routing, not evidence: the supervisor must check that the
// signed envelope's device and bay agree with it.
//
// # Streams
//
// [EnsureStreams] creates or updates two file-backed streams:
//
//	EWR_READINGS  ewr.readings.>  dedup window 2m, 7 days, 8 GiB, 16 KiB per message
//	EWR_EVENTS    ewr.events.>    dedup window 2m, 30 days, 2 GiB, 256 KiB per message
//
// (defaults; see [StreamOptions]). Both discard the oldest messages when full:
// a stream is a buffer in front of the supervisor and the indexer, not the
// archive, and refusing new readings would blind the supervisor exactly when
// it is behind. A supervisor that stays down past the retention sees a gap in
// the device sequence numbers, which its offline rule reports.
//
// # Deduplication
//
// Every message carries a Nats-Msg-Id header. For readings it is
// "<device>:<epoch>:<seq>" ([ReadingMsgID]): the device's boot epoch and its
// monotonic sequence within it, so a
// device or gateway that retries after a lost ack stores the reading once. The
// server remembers ids for the duplicates window only (memory grows with
// rate × window, which is why the window is minutes, not hours); beyond it, the
// supervisor's replay check on the device sequence is the dedup. For chain
// events the publisher supplies the id (e.g. height and event index).
//
// # Durability
//
// The embedded server runs JetStream with sync_interval: always (server option
// SyncAlways): every message is fsync'd to its block file before the publish is
// acknowledged. The nats-server default is to fsync every two minutes and ack
// once the write reached the OS page cache; a process crash loses nothing with
// that default, but a power cut or kernel panic loses up to two minutes of
// readings that devices were told are stored, and a device that got an ack has
// already forgotten them. [EnsureStreams] refuses a stream in async persist
// mode, which would silently turn SyncAlways off. An external server (--nats-url)
// must be configured by its operator with `jetstream { sync_interval: always }`
// (nats-server 2.10 or later); this package cannot check that over a client
// connection.
//
// Consumer positions (acks) are written by the server about ten times a second
// and are not fsync'd per ack: after a server crash a consumer may be handed
// messages it had already acked. Delivery is at least once, always; applying
// a reading once is the supervisor's job, and [Msg] carries what it needs for
// that (stream sequence, message id, NumDelivered).
//
// # Embedded server
//
// [StartEmbedded] runs nats-server in the node's process on 127.0.0.1:14222
// ([DefaultPort], not NATS's 4222, so a node and a nats-server on the same
// machine do not collide; RandomPort for tests), silent unless given a
// logger, with its store in a directory it locks: two servers writing one
// store corrupt it, and nats-server does not lock it itself. Processes in the
// node reach it through [Server.Connect] without the network stack; devices
// and other processes through [Connect] and its URL.
//
// # Consuming
//
// [Consumer] is a durable pull consumer with explicit acks. [Consumer.Consume]
// acks a message only after the handler returned nil; a handler error naks it
// with a growing delay, a crash leaves it unacked and the server redelivers it
// after AckWait; after MaxDeliver attempts it is terminated and logged. At most
// MaxAckPending messages are unacknowledged at once. A supervisor that
// restarts with the same durable name resumes after the last acked message.
// [Consumer.Fetch] hands out up to Batch messages per call for consumers that
// want to work in batches (e.g. to anchor a Merkle root over them).
//
// # Limits
//
// Tokens, message ids, payloads, publish batches, fetch batches, in-flight
// acks, redeliveries and publish retries are all bounded; see the Max*
// constants. Errors from this package start with "bus: ".
package bus
