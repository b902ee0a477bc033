package reports

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cachebench/cachebench/decision"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// SiteIndex is the site's front page.
const SiteIndex = "index.html"

// Site is what RenderSite wrote.
type Site struct {
	Dir        string
	Benchmarks []SiteEntry // newest first
	// Trend is the trend page, relative to Dir ("" with fewer than two
	// benchmarks).
	Trend string
}

// SiteEntry is one benchmark of a site.
type SiteEntry struct {
	RunID   string
	Started time.Time
	// Measured says what the benchmark measured, read from its runs:
	// workloads, builders, strategies, changes, networks, starts.
	Measured  []string
	Host      string
	Runs      int
	Headlines []string
	// Page is its report, relative to the site's folder.
	Page string
}

// siteRecords are the files of a results folder the site copies: its
// report is rendered again from them.
var siteRecords = []string{results.ResultsFile, results.EnvironmentFile}

// RenderSite makes a static site in out from benchmarks: each source is a
// results folder or a folder of them. Each benchmark's records are copied
// into out/<run-id>/ and its report rendered there, deciding with the
// inputs it was run with; with two or more, their trend goes to
// out/trend/; out/index.html lists them all, newest first, with their
// settings and recommendations; defined are this cachebench's builders,
// whose needs serve benchmarks recorded before needs were kept
// (decision.Inputs.Defined).
// The site needs no server-side code and loads nothing from elsewhere.
func RenderSite(out string, sources []string, defined []results.BuilderInfo) (*Site, error) {
	var dirs []string
	for _, src := range sources {
		if _, err := os.Stat(filepath.Join(src, results.ResultsFile)); err == nil {
			dirs = append(dirs, src)
			continue
		}
		inside, err := results.All(src)
		if err != nil {
			return nil, err
		}
		if len(inside) == 0 {
			return nil, fmt.Errorf("%s is neither a results folder (it has no %s) nor a folder of them", src, results.ResultsFile)
		}
		dirs = append(dirs, inside...)
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no benchmarks given: name results folders, or folders of them")
	}
	site := &Site{Dir: out}
	from := map[string]string{}
	for _, dir := range dirs {
		id := filepath.Base(filepath.Clean(dir))
		if other, dup := from[id]; dup {
			return nil, fmt.Errorf("%s and %s are both named %s: a site holds one benchmark of a name", other, dir, id)
		}
		from[id] = dir
		dst := filepath.Join(out, id)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, err
		}
		for _, name := range siteRecords {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if os.IsNotExist(err) && name != results.ResultsFile {
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
				return nil, err
			}
		}
		res, err := results.Load(dst)
		if err != nil {
			return nil, err
		}
		in, err := decision.RecordedInputs(res.Environment.Settings)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		in.Defined = defined
		rep, err := RenderResults(res, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		e := res.Environment
		entry := SiteEntry{RunID: id, Started: e.Started, Measured: measured(res.Runs), Runs: len(res.Runs), Page: id + "/" + HTMLFile,
			Host: fmt.Sprintf("%d CPUs, %.0f GiB, cgroup %s", e.CPUs, e.MemoryGiB, e.Cgroup)}
		for _, d := range rep.Decisions {
			entry.Headlines = append(entry.Headlines, Headline(d))
		}
		site.Benchmarks = append(site.Benchmarks, entry)
	}
	sort.SliceStable(site.Benchmarks, func(i, j int) bool { return site.Benchmarks[i].Started.After(site.Benchmarks[j].Started) })
	if len(dirs) >= 2 {
		if _, err := RenderTrend(out); err != nil {
			return nil, fmt.Errorf("trend: %w", err)
		}
		site.Trend = TrendDir + "/" + TrendHTML
	}
	if err := writeFile(filepath.Join(out, SiteIndex), func(f *os.File) error { return siteTemplate.Execute(f, site) }); err != nil {
		return nil, err
	}
	return site, nil
}

// measured names what runs measured: "workloads small, gobuild".
func measured(runs []results.Run) []string {
	var out []string
	for _, dim := range []struct {
		name string
		of   func(results.Run) string
	}{
		{"workloads", func(r results.Run) string { return r.Workload }},
		{"builders", stats.BuilderOf},
		{"strategies", func(r results.Run) string { return r.Strategy }},
		{"changes", stats.ChangeOf},
		{"networks", stats.NetworkOf},
		{"started by", stats.StartOf},
	} {
		out = append(out, dim.name+" "+strings.Join(stats.Distinct(runs, dim.of), ", "))
	}
	return out
}

var siteTemplate = template.Must(template.New("site").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<title>cachebench benchmarks</title><style>` + htmlStyle + `p.meta{color:#555;font-size:14px}h2{margin-bottom:.2em}</style></head><body>
<h1>cachebench benchmarks</h1>
<p>{{len .Benchmarks}} benchmark{{if ne (len .Benchmarks) 1}}s{{end}} of container image builds in Tekton Pipelines, newest first: each builder under each build-cache strategy, measured on one cluster. Each report opens with its recommendation, for the commit mix and rules it was run with.{{if .Trend}} How the medians moved from one benchmark to the next: <a href="{{.Trend}}">the trend</a>.{{end}}</p>
{{range .Benchmarks}}<section>
<h2><a href="{{.Page}}">{{.RunID}}</a></h2>
<p class="meta">{{.Started.UTC.Format "2006-01-02 15:04 UTC"}} · {{.Runs}} runs · {{.Host}}<br>{{range $i, $m := .Measured}}{{if $i}} · {{end}}{{$m}}{{end}}</p>
<ul>{{range .Headlines}}<li>{{.}}</li>{{end}}</ul>
</section>
{{end}}<p>Made by <code>cachebench site</code>. Each benchmark's folder holds its records (results.jsonl, environment.json), its report (report.md, report.html), its charts and bench.txt.</p>
</body></html>
`))
