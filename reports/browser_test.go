package reports

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// BrowserEnv names the browser the site test opens pages in: a path, or
// "chromium" to look it up. Unset, the test is skipped; `make site-test`
// installs Debian's Chromium and sets it, so CI never skips.
const BrowserEnv = "CACHEBENCH_BROWSER"

// ScreenshotsEnv names a folder that keeps the test's screenshots.
const ScreenshotsEnv = "CACHEBENCH_SCREENSHOTS"

// pageCheck is what a page showed the browser.
type pageCheck struct {
	Title    string   `json:"title"`
	Charts   int      `json:"charts"`
	Blank    []string `json:"blank"`
	Images   int      `json:"images"`
	Broken   []string `json:"broken"`
	Links    []string `json:"links"`
	Overflow int      `json:"overflow"`
	Sections int      `json:"sections"`
	Markup   []string `json:"markup"`
	Headings []string `json:"headings"`
}

const pageScript = `(() => {
  const svgs = [...document.querySelectorAll('svg')];
  const imgs = [...document.images];
  return {
    title: document.title,
    charts: svgs.length,
    blank: svgs.filter(s => { const r = s.getBoundingClientRect(); return !(r.width > 0 && r.height > 0 && s.querySelector('path, text, rect, line')); })
               .map(s => (s.closest('figure')?.querySelector('figcaption')?.textContent) || 'an svg'),
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    sections: document.querySelectorAll('section').length,
    markup: (document.body.innerText.match(/.{0,30}(\*\*|\x60).{0,30}/g) || []),
    headings: [...document.querySelectorAll('h1, h2')].map(h => h.textContent),
  };
})()`

// TestSiteInBrowser makes a site of the examples and opens its index, every
// report and the trend in headless Chromium, at a laptop's and a phone's
// size: every chart drawn, no console error, exception or failed load,
// nothing loaded from elsewhere, every link answered, no page wider than
// the screen (wide tables scroll on their own). With CACHEBENCH_SCREENSHOTS
// set, a screenshot of each page is kept there.
func TestSiteInBrowser(t *testing.T) {
	browser := os.Getenv(BrowserEnv)
	if browser == "" {
		t.Skipf("%s is not set: make site-test installs Chromium and runs this test", BrowserEnv)
	}
	path, err := exec.LookPath(browser)
	if err != nil {
		t.Fatalf("%s=%s: %v: run host/install-chromium.sh", BrowserEnv, browser, err)
	}
	// Nothing of the browser's is left in the host's temporary folder.
	left := filepath.Join(os.TempDir(), "org.chromium.*")
	before, _ := filepath.Glob(left)
	t.Cleanup(func() {
		after, _ := filepath.Glob(left)
		if extra := slices.DeleteFunc(after, func(p string) bool { return slices.Contains(before, p) }); len(extra) > 0 {
			t.Errorf("the browser left %v behind", extra)
		}
	})
	shots := os.Getenv(ScreenshotsEnv)
	keep := shots != ""
	if !keep {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "site")
	site, err := RenderSite(dir, []string{filepath.Join("..", "benchmarks", "examples")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	// Chromium keeps its singleton socket in a folder of TMPDIR, which it
	// leaves behind when it is stopped: the test's own folder goes with it.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Env("TMPDIR="+t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	var mu sync.Mutex
	var problems []string
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	err = chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problem("console error: %s", strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			problem("exception: %s", ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				problem("browser error: %s (%s)", ev.Entry.Text, ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			if u := ev.Request.URL; !strings.HasPrefix(u, srv.URL) && !strings.HasPrefix(u, "data:") {
				problem("a page loads %s from elsewhere", u)
			}
		case *network.EventLoadingFailed:
			problem("a load failed: %s", ev.ErrorText)
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	pages := []string{SiteIndex}
	for _, b := range site.Benchmarks {
		pages = append(pages, b.Page)
	}
	if site.Trend == "" {
		t.Fatal("the examples' site has no trend")
	}
	pages = append(pages, site.Trend)
	sizes := []struct {
		name          string
		width, height int64
		scale         float64
		mobile        bool
	}{{"laptop", 1280, 900, 1, false}, {"phone", 390, 844, 2, true}}
	checked := map[string]bool{}
	for _, size := range sizes {
		for _, page := range pages {
			emulate := chromedp.EmulateViewport(size.width, size.height, chromedp.EmulateScale(size.scale))
			if size.mobile {
				emulate = chromedp.EmulateViewport(size.width, size.height, chromedp.EmulateScale(size.scale), chromedp.EmulateMobile)
			}
			if err := chromedp.Do(ctx, emulate, chromedp.Navigate(srv.URL+"/"+page), chromedp.WaitReady("body")); err != nil {
				t.Fatalf("%s (%s): %v", page, size.name, err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[pageCheck](pageScript))
			if err != nil {
				t.Fatalf("%s (%s): %v", page, size.name, err)
			}
			// Screenshots of tall pages cost most of the test's time: the
			// index's always, every page's when asked for.
			if page == SiteIndex || keep {
				shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("%s (%s): screenshot: %v", page, size.name, err)
				}
				name := strings.NewReplacer("/", "-", ".html", "").Replace(page) + "-" + size.name + ".png"
				if err := os.WriteFile(filepath.Join(shots, name), shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			where := page + " (" + size.name + ")"
			if got.Title == "" || len(got.Headings) == 0 {
				t.Errorf("%s: no title or heading: %+v", where, got)
			}
			for _, c := range got.Blank {
				t.Errorf("%s: chart %q is not drawn", where, c)
			}
			for _, i := range got.Broken {
				t.Errorf("%s: image %s did not load", where, i)
			}
			for _, m := range got.Markup {
				t.Errorf("%s: Markdown shows as text: %q", where, m)
			}
			if got.Overflow > 1 {
				t.Errorf("%s: the page is %d px wider than the screen", where, got.Overflow)
			}
			switch {
			case page == SiteIndex:
				if got.Sections != len(site.Benchmarks) {
					t.Errorf("%s: %d benchmarks listed, want %d", where, got.Sections, len(site.Benchmarks))
				}
				if len(got.Links) != len(site.Benchmarks)+1 {
					t.Errorf("%s: %d links, want one per benchmark and the trend: %v", where, len(got.Links), got.Links)
				}
			case page == site.Trend:
				if got.Charts == 0 {
					t.Errorf("%s: no chart", where)
				}
			default:
				if len(got.Headings) < 2 || got.Headings[1] != "Recommendation" {
					t.Errorf("%s: the report does not open with its recommendation: %v", where, got.Headings)
				}
				if got.Charts == 0 {
					t.Errorf("%s: no chart", where)
				}
			}
			for _, link := range got.Links {
				if checked[link] {
					continue
				}
				checked[link] = true
				if !strings.HasPrefix(link, srv.URL) {
					t.Errorf("%s: links outside the site: %s", where, link)
					continue
				}
				resp, err := http.Get(link)
				if err != nil {
					t.Errorf("%s: link %s: %v", where, link, err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s: link %s answers %s", where, link, resp.Status)
				}
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d pages at %d sizes; screenshots in %s", len(pages), len(sizes), shots)
}
