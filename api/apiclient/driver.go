package apiclient

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"github.com/ewrchain/ewr/chainengine"
	"github.com/ewrchain/ewr/ledger"
	"net/http"
	"net/url"
	"time"

	"github.com/ewrchain/ewr/api"
	"github.com/ewrchain/ewr/api/snake"
	"github.com/ewrchain/ewr/receipt"
	"github.com/ewrchain/ewr/warehouse"
)

// Driver runs a scenario (simulators.Driver) through the HTTP API: each
// op is started by its first signer with that participant's token, as a
// draft, and approved by every co-signer with its own token.
type Driver struct {
	Client *Client
	Tokens map[string]string // participant → token
	// Reader is the participant whose token reads state (default: the
	// regulator of the demo world).
	Reader string
	// OfflineKeys are the keys of participants the node holds no key for:
	// the driver signs for them itself, as their own signer would, and
	// posts the signature (a draft's) or the signed tx.
	OfflineKeys map[string]ed25519.PrivateKey
}

// reader is the client that reads state.
func (d *Driver) reader() *Client {
	r := d.Reader
	if r == "" {
		r = "regulator"
	}
	return d.Client.As(d.Tokens[r])
}

func (d *Driver) as(p string) (*Client, error) {
	t, ok := d.Tokens[p]
	if !ok {
		return nil, fmt.Errorf("apiclient: no token for %s", p)
	}
	return d.Client.As(t), nil
}

// Submit implements simulators.Driver.
func (d *Driver) Submit(ctx context.Context, signers []string, op receipt.Op) error {
	_, err := d.SubmitResult(ctx, signers, op)
	return err
}

// SubmitResult submits op as signers and returns the final answer.
func (d *Driver) SubmitResult(ctx context.Context, signers []string, op receipt.Op) (*Result, error) {
	c, err := d.as(signers[0])
	if err != nil {
		return nil, err
	}
	// As a client does before it signs: read the version of the loan or
	// pledge the op acts on, when it names none.
	ledger.ReadVersions(op, func(kind, id string) (uint64, bool) {
		var raw json.RawMessage
		if d.reader().Get(ctx, "/v1/"+kind+"s/"+url.PathEscape(id), &raw) != nil {
			return 0, false
		}
		var rec struct {
			Version uint64 `json:"version"`
		}
		if json.Unmarshal(raw, &rec) != nil {
			return 0, false
		}
		return rec.Version, true
	})
	raw, err := snake.Marshal(op)
	if err != nil {
		return nil, err
	}
	cos := append([]string{}, signers[1:]...)
	req := api.DraftRequest{OpType: op.Type(), Op: raw, Cosigners: &cos}
	var res Result
	err = c.Post(ctx, "/v1/drafts", req, &res)
	if p, ok := AsProblem(err); ok && p.Name() == api.PKeyNotHeld.Name && d.OfflineKeys[signers[0]] != nil && len(signers) == 1 {
		return d.signedOffline(ctx, c, signers[0], op, raw)
	}
	if err != nil {
		return nil, err
	}
	if res.Status != api.StatusAwaitingSignatures {
		return &res, nil
	}
	id := res.Draft.ID
	for _, co := range res.Draft.Awaiting {
		cc, err := d.as(co)
		if err != nil {
			return nil, err
		}
		res = Result{}
		err = cc.Post(ctx, "/v1/drafts/"+id+"/approve", nil, &res)
		if p, ok := AsProblem(err); ok && p.Name() == api.PKeyNotHeld.Name && d.OfflineKeys[co] != nil {
			var dv api.DraftView
			if err := cc.Get(ctx, "/v1/drafts/"+id, &dv); err != nil {
				return nil, err
			}
			key := d.OfflineKeys[co]
			sig := chainengine.SignBody(key, dv.Body)
			err = cc.Post(ctx, "/v1/drafts/"+id+"/signatures", api.SignatureRequest{PublicKey: receipt.PubKey(sig.PubKey), Signature: sig.Sig}, &res)
		}
		if err != nil {
			return nil, err
		}
	}
	return &res, nil
}

// signedOffline has the API encode op's body, signs it with signer's own
// key and posts the signed tx.
func (d *Driver) signedOffline(ctx context.Context, c *Client, signer string, op receipt.Op, raw []byte) (*Result, error) {
	var enc api.EncodedTx
	if err := c.Post(ctx, "/v1/txs/encode", api.EncodeTxRequest{OpType: op.Type(), Op: raw, Signers: []string{signer}}, &enc); err != nil {
		return nil, err
	}
	sig := chainengine.SignBody(d.OfflineKeys[signer], enc.Body)
	var res Result
	err := c.Post(ctx, "/v1/txs", api.SubmitTxRequest{Body: enc.Body,
		Signatures: []api.SignatureJSON{{PublicKey: receipt.PubKey(sig.PubKey), Signature: sig.Sig}}}, &res)
	return &res, err
}

// Receipt implements simulators.Driver.
func (d *Driver) Receipt(ctx context.Context, id string) (*receipt.Receipt, error) {
	var r receipt.Receipt
	if err := d.reader().Get(ctx, "/v1/receipts/"+id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Lot implements simulators.Driver.
func (d *Driver) Lot(ctx context.Context, id string) (*warehouse.Lot, error) {
	var l warehouse.Lot
	if err := d.reader().Get(ctx, "/v1/lots/"+id, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Now implements simulators.Driver: the later of the newest block's time
// and the server's clock.
func (d *Driver) Now(ctx context.Context) (int64, error) {
	var st api.StatusView
	if err := d.reader().Get(ctx, "/v1/status", &st); err != nil {
		return 0, err
	}
	return st.Now, nil
}

// WaitUntil implements simulators.Driver: it waits for a block with time
// past t. Block time only moves with blocks, so it submits a tick the
// chain refuses (an expiry of no receipt, with ?check=false) to make one.
func (d *Driver) WaitUntil(ctx context.Context, t int64) error {
	for {
		var st api.StatusView
		if err := d.reader().Get(ctx, "/v1/status", &st); err != nil {
			return err
		}
		if st.BlockTime > t {
			return nil
		}
		if wait := time.Until(time.Unix(t+1, 0)); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		tick := "tick-" + time.Now().Format("150405.000000")
		_, err := d.reader().Do(ctx, http.MethodPost, "/v1/receipts/"+tick+"/expire?check=false", api.Empty{}, nil)
		if _, isProblem := AsProblem(err); err != nil && !isProblem {
			return err
		}
	}
}
