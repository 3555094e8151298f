// Package web holds what the API serves to browsers: the offline proof
// verifier page (/verify). Its WebAssembly (chainengine/bundle/wasm) and
// Go's wasm_exec.js are built into static/ by `make build`; the page is
// one self-contained file, so it works saved to disk and makes no request.
package web

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
)

//go:embed static
var static embed.FS

// ErrNotBuilt means the binary was built without the verifier's
// WebAssembly (go build instead of make build).
var ErrNotBuilt = errors.New("web: the verifier's WebAssembly is not built into this binary (make build makes api/web/static/verify.wasm.gz)")

// Built assets, made by make build.
const (
	WasmFile     = "static/verify.wasm.gz"
	WasmExecFile = "static/wasm_exec.js"
)

// VerifyPage is the verifier page built into the binary.
func VerifyPage() ([]byte, error) {
	wasm, err1 := fs.ReadFile(static, WasmFile)
	exec, err2 := fs.ReadFile(static, WasmExecFile)
	if err1 != nil || err2 != nil {
		return nil, ErrNotBuilt
	}
	return RenderVerifyPage(wasm, exec)
}

// RenderVerifyPage is the verifier page with the given gzipped
// WebAssembly and Go's wasm_exec.js inlined.
func RenderVerifyPage(wasmGz, wasmExec []byte) ([]byte, error) {
	tmpl, err := fs.ReadFile(static, "static/verify.html")
	if err != nil {
		return nil, err
	}
	if bytes.Contains(wasmExec, []byte("</script")) {
		return nil, errors.New("web: wasm_exec.js contains </script")
	}
	page := bytes.Replace(tmpl, []byte("{{WASM_GZ_BASE64}}"), []byte(base64.StdEncoding.EncodeToString(wasmGz)), 1)
	return bytes.Replace(page, []byte("{{WASM_EXEC_JS}}"), wasmExec, 1), nil
}

// ConsolePage is the console's page. demo, when the node runs the demo
// world (ewr run), is its participants with their tokens, listed on the
// sign-in page; nil for a real member, whose people bring their tokens.
func ConsolePage(demo any) ([]byte, error) {
	page, err := fs.ReadFile(static, "static/console/index.html")
	if err != nil {
		return nil, err
	}
	list := []byte("[]")
	if demo != nil {
		if list, err = json.Marshal(demo); err != nil {
			return nil, err
		}
		// Inside a <script>: no "</script" may appear in the data.
		list = bytes.ReplaceAll(list, []byte("<"), []byte(`\u003c`))
	}
	return bytes.Replace(page, []byte("{{DEMO_PARTICIPANTS}}"), list, 1), nil
}

// ConsoleAsset is one of the console's files (app.js, app.css) and its
// content type.
func ConsoleAsset(name string) ([]byte, string, bool) {
	types := map[string]string{"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
	ct, ok := types[name]
	if !ok {
		return nil, "", false
	}
	b, err := fs.ReadFile(static, "static/console/"+name)
	return b, ct, err == nil
}
