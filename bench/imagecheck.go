package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cachebench/cachebench/measure"
	"github.com/cachebench/cachebench/results"
	"github.com/cachebench/cachebench/scenarios"
)

// checkImage reads the run's pushed image back from the cache registry and
// compares it with the commit the run built (see CompareImage). Problems
// contradict the run; findings are noted beside it.
func (c verdictCollector) checkImage(ctx context.Context, s PlannedRun, rd *round, run results.Run) (check *results.ImageCheck, problems, findings []string, err error) {
	r := c.r
	if run.ImageDigest == "" || run.Commit == "" {
		return nil, nil, nil, fmt.Errorf("the run reported no image digest or commit")
	}
	commit, err := r.env.Git.Files(ctx, s.Workload.Name, run.Commit)
	if err != nil {
		return nil, nil, nil, err
	}
	sess, err := r.env.Registry.Connect(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	defer sess.Close()
	img, err := sess.ImageByDigest(ctx, rd.imageRepo, run.ImageDigest)
	if err != nil {
		return nil, nil, nil, err
	}
	var edit imageEdit
	if s.Cache == results.Warm {
		edit.change = s.made()
		edit.token = changeToken(r.runID, run.Seq)
	}
	check, problems, findings, err = InspectImage(img, s.Workload, commit, edit)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("image %s: %w", run.ImageDigest, err)
	}
	return check, problems, findings, nil
}

// imageEdit is the change a warm run's image must show, marked by token.
type imageEdit struct {
	change scenarios.Change
	token  string
}

// InspectImage checks that img holds the commit (its files by path): every
// file the workload's Dockerfile copies from it into the last stage, with
// the commit's bytes (see CompareImage); after a base change, the new
// base's configuration (a finding when not: the build kept an earlier
// base's).
func InspectImage(img v1.Image, w scenarios.Workload, commit map[string][]byte, edit imageEdit) (check *results.ImageCheck, problems, findings []string, err error) {
	files, skipped, err := w.ImageFiles(slices.Sorted(maps.Keys(commit)))
	if err != nil {
		return nil, nil, nil, err
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
		if f.InDir != "" {
			paths = append(paths, f.InDir)
		}
	}
	got, err := measure.ReadImageFiles(img, paths)
	if err != nil {
		return nil, nil, nil, err
	}
	var linked []string
	for _, e := range got {
		if e.Hardlink != "" {
			linked = append(linked, e.Hardlink)
		}
	}
	if len(linked) > 0 {
		targets, err := measure.ReadImageFiles(img, linked)
		if err != nil {
			return nil, nil, nil, err
		}
		maps.Copy(got, targets)
	}
	var editFile, editLine string
	switch edit.change {
	case scenarios.ChangeSource, scenarios.ChangeDeps:
		editFile = w.ChangedFile(edit.change)
		editLine = scenarios.ChangeLine(editFile, edit.token)
	case scenarios.ChangeBase:
		scratch, err := w.FinalFromScratch()
		if err != nil {
			return nil, nil, nil, err
		}
		if !scratch {
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, nil, nil, err
			}
			if got := cf.Config.Labels[ChangeLabel]; got != edit.token {
				findings = append(findings, fmt.Sprintf("the image's configuration is not the new base's: its label %s is %q, this run's base has %q (the build kept an earlier base's configuration)", ChangeLabel, got, edit.token))
			}
		}
	}
	check, problems, more := CompareImage(files, commit, got, editFile, editLine)
	check.Skipped = skipped
	return check, problems, append(findings, more...), nil
}

// changeToken marks a run's change: the line a source or deps change
// appends names it, and a base change sets the base's ChangeLabel to it.
func changeToken(runID string, seq int) string { return fmt.Sprintf("%s-%d", runID, seq) }

// CompareImage compares the files the Dockerfile copies from the commit
// (files, from scenarios.Workload.ImageFiles) with what the image holds
// (got, from measure.ReadImageFiles). A file missing, or holding bytes that
// are not the commit's, is a problem: the image does not hold the commit,
// as after a stale cache hit. A file that a later RUN may rewrite is only a
// finding when it differs. The edit of the run's change, when its file
// (editLine appended to editFile, a repository path; "" for none) must be
// in the image when its file reaches it.
func CompareImage(files []scenarios.ImageFile, commit map[string][]byte, got map[string]measure.ImageEntry, editFile, editLine string) (check *results.ImageCheck, problems, findings []string) {
	check = &results.ImageCheck{}
	editSeen := false
	for _, f := range files {
		want := commit[f.Source]
		at := f.Path
		e := got[at]
		if e.Dir && f.InDir != "" {
			at, e = f.InDir, got[f.InDir]
		}
		var differs string
		switch {
		case !e.Found:
			differs = fmt.Sprintf("the image has no %s", at)
		case e.Dir:
			differs = fmt.Sprintf("the image has a directory at %s", at)
		case e.Symlink != "":
			differs = fmt.Sprintf("the image's %s is a symbolic link to %s", at, e.Symlink)
		case e.Hardlink != "":
			if w, ok := got[e.Hardlink]; ok && w.Found && bytes.Equal(w.Data, want) {
				break
			}
			differs = fmt.Sprintf("the image's %s is a hard link to %s, not the commit's bytes", at, e.Hardlink)
		case !bytes.Equal(e.Data, want):
			differs = fmt.Sprintf("the image's %s (%d bytes, sha256 %.12x) is not the commit's %s (%d bytes, sha256 %.12x)", at, len(e.Data), sha256.Sum256(e.Data), f.Source, len(want), sha256.Sum256(want))
			if f.Source == editFile && !bytes.Contains(e.Data, []byte(editLine)) {
				differs += fmt.Sprintf(": it lacks this run's change (the line %q)", editLine)
			}
		}
		if f.Source == editFile {
			editSeen = true
		}
		where := fmt.Sprintf(" (line %d: %s)", f.Line, f.Instruction)
		switch {
		case differs == "":
			check.Files++
		case f.RewrittenBy != "":
			findings = append(findings, differs+where+"; "+f.RewrittenBy+" may have rewritten it")
		default:
			problems = append(problems, differs+where)
		}
	}
	if editFile != "" && !editSeen {
		check.Notes = append(check.Notes, fmt.Sprintf("the change's file %s is not copied into the last stage: its edit cannot be seen in the image", editFile))
	}
	return check, problems, findings
}

// imageNote says, in a run's progress line, what the image check found.
func imageNote(c *results.ImageCheck) string {
	if c == nil {
		return "; image not checked"
	}
	files := "files"
	if c.Files == 1 {
		files = "file"
	}
	return fmt.Sprintf("; image holds %d %s as committed", c.Files, files)
}
