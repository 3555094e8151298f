package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/iot/device"
	"github.com/nats-io/nats.go/jetstream"
)

// `ewr device run` is the reference device: what a bay scale's, camera's,
// door sensor's or weighbridge's gateway does with its readings. It reads
// readings as JSON lines on standard input (the format is documented on
// iot/device/line.go: one payload per line, e.g. {"weight": {"qty":
// 40480, "unit": "kg", "stable": true}}), numbers each in the device's
// boot epoch, signs it with the device key and publishes it on
// ewr.readings.<warehouse>.<bay or _>.<device>.<kind> with message id
// <device>:<epoch>:<seq>:<sig prefix>, waiting for the stream's ack. For
// each line it prints one JSON object on standard output: the reading's
// id, subject, message id and stream sequence, or the line's error.
//
// Each run is a boot: the epoch, kept in the state file (default
// <key file>.state), rises by one and is written before the first reading
// is signed, so the chain never sees a position twice.

func init() {
	localVerbs["device"] = map[string]localVerb{
		"run": {summary: "sign readings from standard input (JSON lines) with a device key and publish them to the bus", run: runDevice},
	}
}

// deviceResult is what `ewr device run` prints per line.
type deviceResult struct {
	Line      int    `json:"line"`
	ID        string `json:"id,omitempty"`
	Subject   string `json:"subject,omitempty"`
	MsgID     string `json:"msg_id,omitempty"`
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
}

func runDevice(ctx context.Context, args []string) error {
	fs := newFlags("device run")
	keyPath := fs.String("key", "", "the device's key file (ewr keys new --device); required")
	id := fs.String("device", "", "the device id (required; must be the key file's device if it names one)")
	natsURL := fs.String("nats-url", fmt.Sprintf("nats://%s:%d", bus.DefaultHost, bus.DefaultPort), "NATS server of the readings stream (ewr run prints its embedded one's)")
	wh := fs.String("warehouse", "", "the warehouse the device is bound to (default: the key file's)")
	bay := fs.String("bay", "", "its bay (default: the key file's; none for a weighbridge)")
	statePath := fs.String("state", "", "the device's epoch file (default <key>.state)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || *id == "" {
		return usagef("--key and --device are required")
	}
	kf, key, err := loadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	if kf.Device != "" && kf.Device != *id {
		return usagef("%s is device %s's key, not %s's", *keyPath, kf.Device, *id)
	}
	if *wh == "" {
		*wh = kf.Warehouse
	}
	if *bay == "" {
		*bay = kf.Bay
	}
	if *wh == "" {
		return usagef("the key file names no warehouse: give --warehouse (and --bay)")
	}
	if *statePath == "" {
		*statePath = *keyPath + ".state"
	}
	signer, err := device.Boot(*statePath, *id, *wh, *bay, key, time.Now())
	if err != nil {
		return err
	}
	js, closeBus, err := jetStreamAt(ctx, *natsURL)
	if err != nil {
		return err
	}
	defer closeBus()
	fmt.Fprintf(stderr, "device %s (%s/%s) booted into epoch %d; reading JSON lines on stdin\n", *id, *wh, *bay, signer.Epoch())
	failed, err := deviceLoop(ctx, signer, stdin, stdout, func(ctx context.Context, o bus.Outgoing) (uint64, bool, error) {
		return bus.Publish(ctx, js, o.Subject, o.MsgID, o.Data)
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d lines not published", failed)
	}
	return nil
}

// deviceLoop signs and publishes each line of in, printing a result per
// line on out; it returns how many lines failed. A bad line is reported
// and skipped (a gateway keeps going); a bus that stops acking ends the
// loop, since every later reading would be lost the same way.
func deviceLoop(ctx context.Context, s *device.Signer, in io.Reader, out io.Writer,
	publish func(context.Context, bus.Outgoing) (uint64, bool, error)) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	enc := json.NewEncoder(out)
	failed, n := 0, 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		res := deviceResult{Line: n}
		r, err := s.Parse(line)
		var sr iot.SignedReading
		if err == nil {
			sr, err = s.Sign(r, time.Now())
		}
		var msg bus.Outgoing
		if err == nil {
			msg, err = s.Message(&sr)
		}
		if err == nil {
			res.ID, res.Subject, res.MsgID = sr.Reading.ID(), msg.Subject, msg.MsgID
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			res.StreamSeq, res.Duplicate, err = publish(pctx, msg)
			cancel()
			if err != nil {
				res.Error = err.Error()
				_ = enc.Encode(res)
				return failed + 1, fmt.Errorf("line %d: publish: %w", n, err)
			}
		}
		if err != nil {
			failed++
			res.Error = err.Error()
		}
		if err := enc.Encode(res); err != nil {
			return failed, err
		}
	}
	return failed, sc.Err()
}

// jetStreamAt connects to the NATS server at url and returns its
// JetStream and what closes the connection.
func jetStreamAt(ctx context.Context, url string) (jetstream.JetStream, func(), error) {
	nc, err := bus.Connect(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	js, err := bus.JetStream(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc.Close, nil
}
