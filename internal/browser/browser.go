// Package browser runs a real headless Chromium for the tests and the
// benchmarks that check what people see (the verifier page, the console),
// driven over the DevTools protocol by chromedp.
package browser

import (
	"context"
	"errors"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium means no Chromium is installed (make deps installs
// Debian's chromium package).
var ErrNoChromium = errors.New("browser: no chromium (make deps installs it)")

// Path is the Chromium binary: $EWR_CHROMIUM, or chromium on PATH.
func Path() (string, error) {
	if p := os.Getenv("EWR_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Start starts a headless Chromium with a fresh profile in profileDir and
// returns a context for chromedp actions in its first tab; cancel stops
// the browser.
func Start(ctx context.Context, profileDir string) (context.Context, context.CancelFunc, error) {
	path, err := Path()
	if err != nil {
		return nil, nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profileDir),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelTab := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		cancelTab()
		cancelAlloc()
		return nil, nil, err
	}
	return bctx, func() { cancelTab(); cancelAlloc() }, nil
}
