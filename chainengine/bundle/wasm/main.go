//go:build js && wasm

// Command wasm is the bundle verifier compiled to WebAssembly for the
// browser (the /verify page): it sets ewrVerify(bundleJSON, genesisJSON,
// maxAgeSeconds, minHeight), which returns the bundle.Report as JSON and,
// in "display", the records as exact indented JSON text (decoded from the
// proven bytes in Go: the page never parses an amount into a JS number).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"syscall/js"
	"time"

	"github.com/ewrchain/ewr/chainengine/bundle"
)

type result struct {
	Report  *bundle.Report `json:"report"`
	Display []display      `json:"display"`
	// VerifyMs is how long the check took in this browser.
	VerifyMs float64 `json:"verify_ms"`
}

type display struct {
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Present bool   `json:"present"`
	Text    string `json:"text"`
}

func verify(bundleJSON, genesisJSON string, maxAgeS, minHeight int64) string {
	t0 := time.Now()
	rep, err := bundle.Check([]byte(bundleJSON), []byte(genesisJSON), time.Now())
	if err == nil {
		err = rep.Fresh(time.Duration(maxAgeS)*time.Second, minHeight)
	}
	res := result{Report: rep, VerifyMs: float64(time.Since(t0).Microseconds()) / 1000}
	if err != nil {
		rep.OK, rep.Error = false, err.Error()
	} else {
		res.Display = append(res.Display, show(rep.Kind, rep.Key, rep.Present, rep.Record))
		for _, r := range rep.Records {
			res.Display = append(res.Display, show(r.Kind, r.Key, r.Present, r.Record))
		}
	}
	out, _ := json.Marshal(res)
	return string(out)
}

func show(kind, key string, present bool, rec json.RawMessage) display {
	d := display{Kind: kind, Key: key, Present: present}
	if present {
		var b []byte
		if ind, err := json.MarshalIndent(rec, "", "  "); err == nil {
			b = ind
		}
		d.Text = string(b)
	}
	return d
}

// genesisInfo names a genesis file for the page to show what it pinned.
func genesisInfo(genesisJSON string) string {
	var info struct {
		ChainID    string `json:"chain_id,omitempty"`
		Validators int    `json:"validators,omitempty"`
		SHA256     string `json:"sha256,omitempty"`
		Error      string `json:"error,omitempty"`
	}
	set, chainID, err := bundle.TrustedValidatorsJSON([]byte(genesisJSON))
	if err != nil {
		info.Error = err.Error()
	} else {
		sum := sha256.Sum256([]byte(genesisJSON))
		info.ChainID, info.Validators, info.SHA256 = chainID, set.Size(), hex.EncodeToString(sum[:])
	}
	out, _ := json.Marshal(info)
	return string(out)
}

func main() {
	js.Global().Set("ewrGenesisInfo", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 1 {
			return `{"error":"ewrGenesisInfo(genesis)"}`
		}
		return genesisInfo(args[0].String())
	}))
	js.Global().Set("ewrVerify", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 4 {
			return `{"report":{"ok":false,"error":"ewrVerify(bundle, genesis, maxAgeSeconds, minHeight)"}}`
		}
		return verify(args[0].String(), args[1].String(), int64(args[2].Int()), int64(args[3].Int()))
	}))
	js.Global().Call("ewrVerifierReady")
	select {}
}
