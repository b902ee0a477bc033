package reports

import (
	"fmt"

	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/stats"
)

// triggerSection reports, when any run was started by a push event, how
// long the event took to become a PipelineRun and a running build, row by
// row. Without such runs it adds nothing, so reports of benchmarks without
// triggers stay as they were.
func triggerSection(d *doc, all []stats.Stat) {
	rows := filterRows(all, func(s stats.Stat) bool { return s.Start == results.StartTrigger })
	if len(rows) == 0 {
		return
	}
	d.heading(2, "Push to build: Tekton Triggers")
	d.para("These runs began with a signed GitHub-style push event sent to a Tekton Triggers EventListener, whose Trigger created the PipelineRun; they are never pooled or compared with runs the harness created. " +
		"Times are the harness's monotonic clock from sending the event: until a watch saw the PipelineRun (found by its triggers.tekton.dev/triggers-eventid label), and until its first step container ran; " +
		"the wall time runs from the PipelineRun being seen to its completion. Medians with their 95% interval; the event's times in milliseconds, the wall time in seconds.")
	d.add(triggerTable(rows))
	if why := triggerWhy(rows); why != "" {
		d.para("n/a: " + why + ".")
	}
}

// triggerTable has a row per configuration of the trigger-started runs.
// The workload column leaves out the start, which every row shares.
func triggerTable(rows []stats.Stat) table {
	t := table{header: []string{"workload", "builder", "strategy", "cache", "n", "event→PipelineRun (ms)", "95% CI", "event→first step (ms)", "95% CI", "wall time (s)"}, numeric: 4}
	for _, s := range rows {
		k := s.Key
		k.Start = ""
		row := []string{k.Where(), s.Builder, s.Strategy, string(s.Cache), fmt.Sprint(s.N)}
		if s.N == 0 {
			t.add(append(row, "", "", "", "", "")...)
			continue
		}
		row = append(row, eventCells(s.EventToPipelineRun, s.N)...)
		row = append(row, eventCells(s.EventToFirstStep, s.N)...)
		t.add(append(row, secs(s.Median))...)
	}
	return t
}

// eventCells are a median and its interval in milliseconds (an event
// becomes a PipelineRun in tens of them); a sample smaller than the row's
// (a time some runs did not record) says its own n.
func eventCells(m stats.Summary, rowN int) []string {
	if m.N == 0 {
		return []string{"—", ""}
	}
	median := millis(m.Median)
	if m.N != rowN {
		median += fmt.Sprintf(" (n=%d)", m.N)
	}
	ci := "n/a"
	if m.CI.OK {
		ci = millis(m.CI.Lo) + "–" + millis(m.CI.Hi)
	}
	return []string{median, ci}
}

// millis writes seconds as whole milliseconds.
func millis(seconds float64) string { return fmt.Sprintf("%.0f", seconds*1000) }

// triggerWhy explains the first n/a interval of the trigger table.
func triggerWhy(rows []stats.Stat) string {
	for _, s := range rows {
		for _, m := range []stats.Summary{s.EventToPipelineRun, s.EventToFirstStep} {
			if m.N > 0 && !m.CI.OK {
				return naNote(m.CI.Why)
			}
		}
	}
	return firstWhy(rows)
}
