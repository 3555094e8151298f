package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/ewrchain/ewr/iot"
	"github.com/ewrchain/ewr/iot/bus"
	"github.com/ewrchain/ewr/iot/supervisor"
	"github.com/ewrchain/ewr/receipt"
)

func init() {
	register(&command{name: "iot", summary: "IoT supervision tools: audit (recompute anchored batches from the readings stream)", run: runIoT})
}

func runIoT(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "audit" {
		fmt.Fprintln(os.Stderr, "usage: ewr iot audit --warehouse <id> [--anchor <first seq>] [--last n] [--nats-url url] [--rpc url] [--stream name]")
		return usagef("which iot command?")
	}
	return runIoTAudit(ctx, args[1:])
}

// runIoTAudit recomputes anchors from the stream and compares them with the
// chain: it prints one JSON object and fails if any anchor does not match.
func runIoTAudit(ctx context.Context, args []string) error {
	fs := newFlags("iot audit")
	natsURL := fs.String("nats-url", fmt.Sprintf("nats://%s:%d", bus.DefaultHost, bus.DefaultPort), "NATS server holding the readings stream (ewr run prints its embedded one's)")
	fs.StringVar(natsURL, "nats", *natsURL, "same as --nats-url")
	rpc := fs.String("rpc", "http://127.0.0.1:26657", "CometBFT RPC of a node, to read the anchors")
	wh := fs.String("warehouse", "", "warehouse whose anchors to audit (required)")
	stream := fs.String("stream", bus.ReadingsStream, "readings stream")
	first := fs.Uint64("anchor", 0, "audit the one anchor starting at this stream sequence (0: walk back from the last)")
	last := fs.Int("last", 0, "when walking, audit at most this many anchors (0: all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *wh == "" {
		return usagef("--warehouse is required")
	}
	node, err := rpchttp.New(*rpc)
	if err != nil {
		return err
	}
	st := &rpcStore{ctx: ctx, c: node}
	js, closeBus, err := jetStreamAt(ctx, *natsURL)
	if err != nil {
		return err
	}
	defer closeBus()
	var results []supervisor.AuditResult
	if *first > 0 {
		a, ok := receipt.Load[iot.Anchor](&receipt.Exec{Store: st}, iot.AnchorKey(*wh, *stream, *first))
		if st.err != nil {
			return st.err
		}
		if !ok {
			return fmt.Errorf("no anchor of %s on %s starting at %d", *wh, *stream, *first)
		}
		r, err := supervisor.Audit(ctx, js, a)
		if err != nil {
			return err
		}
		results = append(results, r)
	} else if results, err = supervisor.AuditChain(ctx, js, st, *wh, *stream, *last); err != nil {
		return errors.Join(err, st.err)
	}
	type line struct {
		FirstSeq uint64 `json:"first_seq"`
		LastSeq  uint64 `json:"last_seq"`
		Count    uint32 `json:"count"`
		Stream   uint32 `json:"stream_count"`
		Root     string `json:"root"`
		StreamRt string `json:"stream_root"`
		Height   int64  `json:"height"`
		Complete bool   `json:"complete"`
		OK       bool   `json:"ok"`
	}
	report := struct {
		Warehouse string `json:"warehouse"`
		Stream    string `json:"stream"`
		Anchors   []line `json:"anchors"`
		Readings  uint64 `json:"readings"`
		OK        bool   `json:"ok"`
	}{Warehouse: *wh, Stream: *stream, OK: len(results) > 0}
	for _, r := range results {
		report.Anchors = append(report.Anchors, line{FirstSeq: r.Anchor.FirstSeq, LastSeq: r.Anchor.LastSeq, Count: r.Anchor.Count,
			Stream: r.Count, Root: hex.EncodeToString(r.Anchor.Root[:]), StreamRt: hex.EncodeToString(r.Root[:]),
			Height: r.Anchor.Height, Complete: r.Complete, OK: r.OK})
		report.Readings += uint64(r.Count)
		report.OK = report.OK && r.OK
	}
	out, err := json.Marshal(report)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	if !report.OK {
		return errors.New("audit failed: the stream does not match the chain's anchors")
	}
	return nil
}

// rpcStore reads chain state through a node's ABCI query (/state/<key>).
// It is read-only; the first transport error is kept in err. It holds the
// command's ctx because receipt.Store's methods take none; it lives only
// for the one audit.
type rpcStore struct {
	ctx context.Context
	c   *rpchttp.HTTP
	err error
}

func (s *rpcStore) Get(key string) ([]byte, bool) {
	if s.err != nil {
		return nil, false
	}
	res, err := s.c.ABCIQuery(s.ctx, "/state/"+key, nil)
	if err != nil {
		s.err = fmt.Errorf("query %s: %w", key, err)
		return nil, false
	}
	if res.Response.Code != 0 {
		return nil, false
	}
	return res.Response.Value, true
}

func (*rpcStore) Set(string, []byte) { panic("ewr iot audit: read-only state") }
func (*rpcStore) Delete(string)      { panic("ewr iot audit: read-only state") }
