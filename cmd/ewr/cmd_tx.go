package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"github.com/ewrchain/ewr/receipt"
)

func init() {
	register(&command{name: "tx", summary: "txs signed outside the node: encode, sign (offline), send, get", run: runTx})
}

// txDoc is a tx being signed: the body and one signature slot per signer.
// `ewr tx encode` makes it, each signer's `ewr tx sign` fills its slot
// (offline), `ewr tx send` submits it.
type txDoc struct {
	api.EncodedTx
	Signatures []*api.SignatureJSON `json:"signatures"`
}

func runTx(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, `usage:
  ewr tx encode --op-type TYPE --op JSON|@file [--signers a,b] > tx.json   (asks the API for the body)
  ewr tx sign --key KEYFILE [--in tx.json] [--out tx.json]                  (offline)
  ewr tx sign --key KEYFILE --op-type TYPE --op @op.json --chain-id ID --expires-at H [--signers a,b]
                                                                             (offline, builds the body itself)
  ewr tx send [--in tx.json] [--no-wait]                                     (submits; the token must be a signer's)
  ewr tx get HASH`)
		if len(args) == 0 {
			return usagef("which tx command?")
		}
		return nil
	}
	switch args[0] {
	case "encode":
		return txEncode(ctx, args[1:])
	case "sign":
		return txSign(args[1:])
	case "send":
		return txSend(ctx, args[1:])
	case "get":
		for _, r := range api.Routes() {
			if r.CLI == "tx get" {
				return runRoute(ctx, r, args[1:])
			}
		}
	}
	return usagef("unknown tx command %q", args[0])
}

func readDoc(path string) (*txDoc, error) {
	var raw []byte
	var err error
	if path == "" || path == "-" {
		var b bytes.Buffer
		_, err = b.ReadFrom(os.Stdin)
		raw = b.Bytes()
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var d txDoc
	if err := snake.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("tx document: %w", err)
	}
	if len(d.Signatures) != len(d.Signers) {
		d.Signatures = make([]*api.SignatureJSON, len(d.Signers))
	}
	return &d, nil
}

func writeDoc(d *txDoc, path string) error {
	raw, err := snake.Marshal(d)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	_ = json.Indent(&b, raw, "", "  ")
	b.WriteByte('\n')
	if path == "" || path == "-" {
		_, err = stdout.Write(b.Bytes())
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func txEncode(ctx context.Context, args []string) error {
	fs := newFlags("tx encode")
	cf := addClientFlags(fs)
	opType := fs.String("op-type", "", "op type, e.g. pledge.confirm (required)")
	opArg := fs.String("op", "{}", "the op as JSON (snake_case), or @file")
	signers := fs.String("signers", "", "comma-separated signers, the acting one first (default: the token's participant)")
	out := fs.String("out", "", "write the document here (default stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	op, err := readArg(*opArg)
	if err != nil {
		return err
	}
	req := api.EncodeTxRequest{OpType: *opType, Op: op}
	if *signers != "" {
		req.Signers = splitList(*signers)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	var enc api.EncodedTx
	if err := c.Post(ctx, "/v1/txs/encode", req, &enc); err != nil {
		return apiErr(err, *cf.json)
	}
	return writeDoc(&txDoc{EncodedTx: enc, Signatures: make([]*api.SignatureJSON, len(enc.Signers))}, *out)
}

func txSign(args []string) error {
	fs := newFlags("tx sign")
	keyPath := fs.String("key", "", "key file from `ewr keys new` (required)")
	in := fs.String("in", "", "document from `ewr tx encode` or an earlier sign (default stdin)")
	out := fs.String("out", "", "write the signed document here (default stdout)")
	opType := fs.String("op-type", "", "build the body offline: op type")
	opArg := fs.String("op", "", "build the body offline: the op as JSON, or @file")
	signers := fs.String("signers", "", "build the body offline: signers, the acting one first (default: the key's participant)")
	chainID := fs.String("chain-id", "", "build the body offline: chain id")
	expiresAt := fs.Int64("expires-at", 0, "build the body offline: last height the tx may be included at")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" {
		return usagef("--key is required")
	}
	kf, key, err := loadKeyFile(*keyPath)
	if err != nil {
		return err
	}
	var d *txDoc
	if *opType != "" {
		if *chainID == "" || *expiresAt == 0 {
			return usagef("building a body offline needs --chain-id and --expires-at")
		}
		raw, err := readArg(*opArg)
		if err != nil {
			return err
		}
		op, err := ledger.New().Registry.New(*opType)
		if err != nil {
			return usagef("%v", err)
		}
		if err := snake.Unmarshal(raw, op); err != nil {
			return usagef("--op: %v", err)
		}
		if err := op.Check(); err != nil {
			return err
		}
		ss := []string{kf.Participant}
		if *signers != "" {
			ss = splitList(*signers)
		}
		body := chainengine.OpBody(*chainID, ss, chainengine.RandomNonce(), *expiresAt, op)
		d = docOf(body)
	} else {
		if d, err = readDoc(*in); err != nil {
			return err
		}
	}
	body, err := chainengine.DecodeBody(d.Body)
	if err != nil {
		return fmt.Errorf("the document's body does not decode: %w", err)
	}
	if !bytes.Equal(d.SignBytes, chainengine.SignBytes(d.Body)) {
		return fmt.Errorf("the document's sign_bytes are not its body's: refusing to sign")
	}
	pos := -1
	for i, s := range body.Signers {
		if s == kf.Participant {
			pos = i
		}
	}
	if pos < 0 {
		return fmt.Errorf("%s is not a signer of this tx (signers %v)", kf.Participant, body.Signers)
	}
	sig := chainengine.SignBody(key, d.Body)
	d.Signatures[pos] = &api.SignatureJSON{PublicKey: receipt.PubKey(sig.PubKey), Signature: sig.Sig}
	fmt.Fprintf(stderr, "signed %s (%s) as %s\n", body.OpType, d.TxHash, kf.Participant)
	return writeDoc(d, *out)
}

// docOf makes a signing document of a body built offline.
func docOf(body []byte) *txDoc {
	b, err := chainengine.DecodeBody(body)
	if err != nil {
		panic(err)
	}
	tx, _ := chainengine.DecodeTx(chainengine.AssembleTx(body, make([]chainengine.Signature, len(b.Signers))))
	d := &txDoc{EncodedTx: api.EncodedTx{ChainID: b.ChainID, Signers: b.Signers, Nonce: b.Nonce, ExpiresAt: b.ExpiresAt,
		OpType: b.OpType, Body: body, SignBytes: chainengine.SignBytes(body)}, Signatures: make([]*api.SignatureJSON, len(b.Signers))}
	if tx != nil {
		d.TxHash = fmt.Sprintf("%x", tx.Hash)
	}
	return d
}

func txSend(ctx context.Context, args []string) error {
	fs := newFlags("tx send")
	cf := addClientFlags(fs)
	in := fs.String("in", "", "signed document (default stdin)")
	noWait := fs.Bool("no-wait", false, "answer once the tx is accepted, without waiting for its block")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d, err := readDoc(*in)
	if err != nil {
		return err
	}
	req := api.SubmitTxRequest{Body: d.Body}
	for i, s := range d.Signatures {
		if s == nil {
			return fmt.Errorf("%s has not signed yet (ewr tx sign --key <%s's key file>)", d.Signers[i], d.Signers[i])
		}
		req.Signatures = append(req.Signatures, *s)
	}
	// Check the signatures here too: a mistake is cheaper to see before
	// the node refuses it.
	for i, s := range req.Signatures {
		if !ed25519.Verify(s.PublicKey[:], chainengine.SignBytes(d.Body), s.Signature[:]) {
			return fmt.Errorf("%s's signature does not verify over this body", d.Signers[i])
		}
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	path := "/v1/txs"
	if *noWait {
		path += "?wait=false"
	}
	var raw []byte
	if _, err := c.Do(ctx, "POST", path, req, &raw); err != nil {
		return apiErr(err, *cf.json)
	}
	if *cf.json {
		printJSON(raw)
	} else {
		printHuman(raw)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range bytes.Split([]byte(s), []byte(",")) {
		if t := string(bytes.TrimSpace(p)); t != "" {
			out = append(out, t)
		}
	}
	return out
}
