// Package browser drives Debian's headless Chromium (chromedp) for the dashboard's
// browser tests: a fresh profile at 1366×768 that records every sign that a script
// ran or a policy was broken (dialogs, console messages, exceptions, the browser
// log where CSP violations land, and the page's own securitypolicyviolation
// events in window.__csp), plus the few steps those tests share. Test code only.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"decnet/internal/testenv"
)

// Watch records what the page did that would show a script ran or a policy was broken.
type Watch struct {
	mu                                 sync.Mutex
	dialogs, console, exceptions, logs []string
}

func (w *Watch) add(dst *[]string, s string) {
	w.mu.Lock()
	*dst = append(*dst, s)
	w.mu.Unlock()
}

// Reset forgets everything recorded so far.
func (w *Watch) Reset() {
	w.mu.Lock()
	w.dialogs, w.console, w.exceptions, w.logs = nil, nil, nil, nil
	w.mu.Unlock()
}

// Snapshot returns copies of what was recorded.
func (w *Watch) Snapshot() (dialogs, console, exceptions, logs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.dialogs), slices.Clone(w.console), slices.Clone(w.exceptions), slices.Clone(w.logs)
}

// Chromium is the path of Debian's chromium; without it the test skips, or fails
// under the full suite (call it first to skip before expensive setup).
func Chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	testenv.Missing(t, "Debian's chromium is not installed (apt-get install -y chromium); the dashboard browser tests need it")
	return ""
}

// Start runs headless Chromium with a fresh profile at 1366×768 until the test
// ends; dialogs are recorded and dismissed.
func Start(t *testing.T) (context.Context, *Watch) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })

	w := &Watch{}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			w.add(&w.dialogs, string(ev.Type)+": "+ev.Message)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			w.add(&w.console, string(ev.Type)+": "+strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			w.add(&w.exceptions, msg)
		case *log.EventEntryAdded:
			w.add(&w.logs, string(ev.Entry.Source)+"/"+string(ev.Entry.Level)+": "+ev.Entry.Text)
		}
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the browser log: %v", err)
	}
	// Record CSP violations from the page's own point of view too (installed by the
	// DevTools protocol, not by the page, so the CSP does not apply to it).
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	}); err != nil {
		t.Fatalf("install the CSP violation recorder: %v", err)
	}
	return ctx, w
}

// Do runs the steps, failing the test (named by what) on an error or after 30 s.
func Do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JS expression (awaiting a promise) within 60 s.
func Eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// WaitJS waits until the JS expression is truthy (checked every 50 ms).
func WaitJS(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Text is the textContent of the first element matching the CSS selector ("" if none).
func Text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return Eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {textContent: ''}).textContent`, sel))
}

// Count is how many elements match the CSS selector.
func Count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return Eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// Nav clicks the dashboard's navigation link name and waits for the page whose
// root has data-testid testid.
func Nav(t *testing.T, ctx context.Context, name, testid string) {
	t.Helper()
	Do(t, ctx, "open "+name, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[data-nav=%q]`, name))))
	WaitJS(t, ctx, name+" page", fmt.Sprintf(`!!document.querySelector('[data-testid=%q]')`, testid), 10*time.Second)
}

// ClearInput empties a (Preact-controlled) input the way a user's edit would: new
// value, then an input event.
func ClearInput(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`, sel))(ctx, t)
		return err
	})
}

// SelectValue picks an option of a <select> and fires its change event.
func SelectValue(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q; el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value))(ctx, t)
		return err
	})
}

// ProveDetectors opens url and makes the page raise a dialog and log a console
// message, and fails unless w saw both: the end-of-test checks that nothing ran
// rely on w seeing them. It leaves w empty.
func ProveDetectors(t *testing.T, ctx context.Context, w *Watch, url string) {
	t.Helper()
	Do(t, ctx, "open the dashboard", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	Eval[bool](t, ctx, `setTimeout(() => { console.log('decnet-probe-console'); alert('decnet-probe-dialog'); }, 0), true`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		dialogs, console, _, _ := w.Snapshot()
		if len(dialogs) == 1 && strings.Contains(dialogs[0], "decnet-probe-dialog") && len(console) == 1 && strings.Contains(console[0], "decnet-probe-console") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the probe dialog and console message were not seen: dialogs %q, console %q", dialogs, console)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.Reset()
}

// CheckNoInjectedMarkup fails the test (without stopping it) when the app's DOM at
// where holds an element an attacker string could have created: scripts, images,
// SVG, frames, objects, javascript: links, inline handlers.
func CheckNoInjectedMarkup(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	got := Eval[[]string](t, ctx, `[...document.querySelectorAll('#app script, #app img, #app svg, #app iframe, #app object, #app embed, #app a[href^="javascript"], #app [onload], #app [onerror]')].map(e => e.outerHTML.slice(0, 120))`)
	if len(got) > 0 {
		t.Errorf("%s: the page holds elements that attacker text could have made: %q", where, got)
	}
}

// Display is how the dashboard shows s (web/src/text.jsx): what JSON makes of
// invalid UTF-8 (U+FFFD), then control characters, C1 controls, bidi controls,
// separators, BOM and U+FFFD as visible \xHH or \u{HHHH} escapes.
func Display(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		switch {
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			fmt.Fprintf(&b, `\x%02X`, r)
		case r == 0x200b || r == 0x200c || r == 0x200d || r == 0x200e || r == 0x200f ||
			(r >= 0x2028 && r <= 0x202e) || (r >= 0x2060 && r <= 0x2069) || r == 0xfeff || r == utf8.RuneError:
			fmt.Fprintf(&b, `\u{%04X}`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ChangeForcedPassword runs the first-login flow from the forced-password form:
// the API refuses other calls (403) until the password is changed from current to
// next, after which the overview shows.
func ChangeForcedPassword(t *testing.T, ctx context.Context, current, next string) {
	t.Helper()
	if got := Eval[int](t, ctx, `fetch('/api/stats').then(r => r.status)`); got != 403 {
		t.Errorf("GET /api/stats before the password change answered %d, want 403", got)
	}
	Do(t, ctx, "change the password",
		chromedp.SendKeys(chromedp.CSS(`input[name=current_password]`), current),
		chromedp.SendKeys(chromedp.CSS(`input[name=new_password]`), next),
		chromedp.SendKeys(chromedp.CSS(`input[name=new_password_again]`), next),
		chromedp.Click(chromedp.CSS(`[data-testid=password-submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=page-overview]`)),
	)
}
