package scenarios

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// FromLine is one FROM instruction of a Dockerfile that names an image
// (not scratch, not an earlier stage), with its ARGs substituted.
type FromLine struct {
	// Image is the reference as the build resolves it, e.g.
	// "debian:bookworm-slim" or "ghcr.io/org/base:1".
	Image string
	// Line is the instruction's first line in the Dockerfile (1-based).
	Line int
	// Stage is the index of the stage it starts.
	Stage int
}

// dockerfileAST is a parsed Dockerfile: BuildKit's syntax tree and
// instructions, the same parser the builders run.
type dockerfileAST struct {
	root     *parser.Node
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	lex      *shell.Lex
}

func parseDockerfile(data []byte) (*dockerfileAST, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(res.AST.Children, func(n *parser.Node) bool { return strings.EqualFold(n.Value, "from") }) {
		return nil, fmt.Errorf("no FROM instruction")
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, err
	}
	return &dockerfileAST{root: res.AST, stages: stages, metaArgs: metaArgs, lex: shell.NewLex(res.EscapeToken)}, nil
}

// BaseImages returns the images a Dockerfile builds FROM, in order, each
// once per FROM line, with ARGs before the first FROM set from buildArgs
// (KEY=VALUE) or their defaults, as BuildKit does. Stages that build on an
// earlier stage and FROM scratch are left out.
func BaseImages(dockerfile []byte, buildArgs []string) ([]FromLine, error) {
	ast, err := parseDockerfile(dockerfile)
	if err != nil {
		return nil, err
	}
	return ast.bases(buildArgs)
}

func (a *dockerfileAST) bases(buildArgs []string) ([]FromLine, error) {
	env, err := a.metaEnv(buildArgs)
	if err != nil {
		return nil, err
	}
	var out []FromLine
	for i, st := range a.stages {
		line := 0
		if len(st.Location) > 0 {
			line = st.Location[0].Start.Line
		}
		res, err := a.lex.ProcessWordWithMatches(st.BaseName, env)
		if err != nil {
			return nil, fmt.Errorf("line %d: FROM %s: %w", line, st.BaseName, err)
		}
		if len(res.Unmatched) > 0 {
			var names []string
			for n := range res.Unmatched {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("line %d: FROM %s: %s has no value: give it with --build-arg %s=...", line, st.BaseName, strings.Join(names, ", "), names[0])
		}
		image := res.Result
		if image == "" {
			return nil, fmt.Errorf("line %d: FROM %s names no image", line, st.BaseName)
		}
		if _, stage := a.earlierStage(i, image, false); !stage && !strings.EqualFold(image, "scratch") {
			out = append(out, FromLine{Image: image, Line: line, Stage: i})
		}
	}
	return out, nil
}

// earlierStage returns the index of the stage before stage i that ref
// names: by name, case-insensitively (FROM, COPY --from), or by index
// (COPY --from only, so byIndex).
func (a *dockerfileAST) earlierStage(i int, ref string, byIndex bool) (int, bool) {
	for j := range i {
		if a.stages[j].Name != "" && strings.EqualFold(a.stages[j].Name, ref) {
			return j, true
		}
	}
	if byIndex {
		if j, err := strconv.Atoi(ref); err == nil && j >= 0 && j < i {
			return j, true
		}
	}
	return 0, false
}

// metaEnv is what FROM lines may expand: the ARGs declared before the first
// FROM, set from buildArgs or their defaults, and the platform arguments
// BuildKit predefines.
func (a *dockerfileAST) metaEnv(buildArgs []string) (shell.EnvGetter, error) {
	given := map[string]string{}
	for _, kv := range buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("build argument %q: want KEY=VALUE", kv)
		}
		given[k] = v
	}
	platform := "linux/" + runtime.GOARCH
	vars := []string{
		"BUILDPLATFORM=" + platform, "BUILDOS=linux", "BUILDARCH=" + runtime.GOARCH,
		"TARGETPLATFORM=" + platform, "TARGETOS=linux", "TARGETARCH=" + runtime.GOARCH,
	}
	for _, arg := range a.metaArgs {
		for _, kv := range arg.Args {
			if v, ok := given[kv.Key]; ok {
				vars = append(vars, kv.Key+"="+v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := a.lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(vars))
			if err != nil {
				return nil, fmt.Errorf("ARG %s: %w", kv.Key, err)
			}
			vars = append(vars, kv.Key+"="+v)
		}
	}
	return shell.EnvsFromSlice(vars), nil
}

// syntaxDirective is the parser directive that names a frontend image.
var syntaxDirective = regexp.MustCompile(`(?i)^\s*#\s*syntax\s*=`)

// BaseRegistryArg is the build argument that carries the host of the
// registry base images come from; every workload's FROM lines use it.
const BaseRegistryArg = "BASE_REGISTRY"

// RewriteBases returns the Dockerfile with every FROM line that names an
// image rewritten to ${BASE_REGISTRY}/<repo>, repo being repos[image] (the
// image as BaseImages gives it), so that builds pull it from the upstream
// registry, through its network profile and the mirror strategy's map.
// The rest of the file stays as it is, but for a "# syntax=" directive,
// which is blanked; one ARG line goes before the first FROM.
func RewriteBases(dockerfile []byte, buildArgs []string, repos map[string]string) ([]byte, error) {
	ast, err := parseDockerfile(dockerfile)
	if err != nil {
		return nil, err
	}
	froms, err := ast.bases(buildArgs)
	if err != nil {
		return nil, err
	}
	var fromNodes []*parser.Node
	for _, n := range ast.root.Children {
		if strings.EqualFold(n.Value, "from") {
			fromNodes = append(fromNodes, n)
		}
	}
	if len(fromNodes) != len(ast.stages) {
		return nil, fmt.Errorf("found %d FROM lines but %d stages", len(fromNodes), len(ast.stages))
	}
	lines := strings.Split(string(dockerfile), "\n")
	for _, f := range froms {
		repo, ok := repos[f.Image]
		if !ok {
			return nil, fmt.Errorf("line %d: no upstream repository for %s", f.Line, f.Image)
		}
		n := fromNodes[f.Stage]
		words := []string{"FROM"}
		words = append(words, n.Flags...)
		words = append(words, "${"+BaseRegistryArg+"}/"+repo)
		if n.Next != nil && n.Next.Next != nil && n.Next.Next.Next != nil {
			words = append(words, "AS", n.Next.Next.Next.Value)
		}
		start, end := n.StartLine-1, n.EndLine-1
		if start < 0 || end >= len(lines) || end < start {
			return nil, fmt.Errorf("line %d: FROM spans lines %d-%d of %d", f.Line, n.StartLine, n.EndLine, len(lines))
		}
		lines[start] = strings.Join(words, " ")
		// Continuation lines become empty, so later line numbers stay.
		for i := start + 1; i <= end; i++ {
			lines[i] = ""
		}
	}
	// A syntax directive would send BuildKit to Docker Hub for that
	// frontend image (offline there is none); its built-in frontend parses
	// the file instead, as kaniko and Buildah do, which ignore the line.
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			break
		}
		if syntaxDirective.MatchString(l) {
			lines[i] = ""
		}
	}
	// The ARG goes right before the first FROM: parser directives
	// (# escape=) must stay the file's first lines.
	first := fromNodes[0].StartLine - 1
	out := slices.Concat(lines[:first], []string{"ARG " + BaseRegistryArg}, lines[first:])
	return []byte(strings.Join(out, "\n")), nil
}
