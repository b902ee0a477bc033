package kaniko

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cachebench/cachebench/builders"
	"github.com/cachebench/cachebench/images"
	"github.com/cachebench/cachebench/versions"
)

// Upstream is upstream kaniko, the reference builder: official images
// online, built from its module offline.
var Upstream = definition(upstreamName, upstreamBuild(versions.Kaniko), versions.KanikoExecutor, versions.KanikoWarmer)

// Chainguard is the maintained fork of kaniko, which publishes no image:
// built from its module in both modes.
var Chainguard = definition("kaniko-chainguard", chainguardBuild(versions.KanikoChainguard), "", "")

const upstreamName = "kaniko"

// Roles of the images of a kaniko named name: "kaniko-executor".
func executorRole(name string) string { return name + "-executor" }
func warmerRole(name string) string   { return name + "-warmer" }

// RoleExecutor and RoleWarmer are upstream kaniko's image roles.
var (
	RoleExecutor = executorRole(upstreamName)
	RoleWarmer   = warmerRole(upstreamName)
)

func definition(name string, b images.GoBuild, officialExecutor, officialWarmer string) builders.Definition {
	return builders.Definition{
		Name: name,
		Images: []images.BuilderImage{
			{Role: executorRole(name), Official: officialExecutor, Spec: imageSpec(b, name, "executor")},
			{Role: warmerRole(name), Official: officialWarmer, Spec: imageSpec(b, name, "warmer")},
		},
		New: func(s builders.Settings) builders.Builder {
			k := Kaniko{Executor: s.Images[executorRole(name)], Warmer: s.Images[warmerRole(name)], AuthSecret: s.AuthSecret, CABundle: s.CABundle}
			if name != upstreamName {
				k.Label = name
			}
			return k
		},
	}
}

func upstreamBuild(v string) images.GoBuild {
	return images.GoBuild{
		Module:   "github.com/GoogleContainerTools/kaniko",
		Version:  v,
		Packages: []string{"github.com/GoogleContainerTools/kaniko/cmd/executor", "github.com/GoogleContainerTools/kaniko/cmd/warmer"},
		LDFlags:  []string{"-X github.com/GoogleContainerTools/kaniko/pkg/version.version=" + v},
	}
}

// chainguardBuild builds the maintained fork from its own module (its
// go.mod is the main module's, as in its release builds).
func chainguardBuild(v string) images.GoBuild {
	const m = "github.com/chainguard-dev/kaniko"
	return images.GoBuild{
		Module: m, Version: v, InModule: true,
		Packages: []string{m + "/cmd/executor", m + "/cmd/warmer"},
		LDFlags:  []string{"-X " + m + "/pkg/version.version=" + v},
	}
}

// imageSpec follows the layout of kaniko's own images: everything under
// /kaniko (which kaniko leaves out of its snapshots), nothing else but
// nsswitch.conf, so that the build's root file system stays clean. It is
// cachebench.local/<name>/<cmd>:<version>.
func imageSpec(b images.GoBuild, name, cmd string) images.Spec {
	ca, caKey := images.CABundle()
	return images.Spec{
		Name: name + "-" + cmd, Refs: []string{images.Ref(name+"/"+cmd, b.Version)},
		Binaries: []images.Binary{{Build: b, Name: cmd, Dest: "/kaniko/" + cmd}},
		Files: []images.File{
			{Path: "/kaniko", Dir: true, Mode: 0o777},
			{Path: "/kaniko/.docker", Dir: true, Mode: 0o777},
			{Path: "/etc/nsswitch.conf", Data: []byte("hosts: files dns\n")},
			{Path: "/workspace", Dir: true, Mode: 0o777},
		},
		Extra: func(ctx context.Context, f *images.Factory, tmp string) ([]images.File, error) {
			return []images.File{{Path: "/kaniko/ssl/certs/ca-certificates.crt", Data: ca}}, nil
		},
		ExtraInput: "kaniko CA bundle " + caKey,
		Config: v1.Config{
			Entrypoint: []string{"/kaniko/" + cmd},
			WorkingDir: "/workspace",
			Env: []string{
				"HOME=/root", "USER=root", "PATH=/usr/local/bin:/kaniko",
				"SSL_CERT_DIR=/kaniko/ssl/certs", "DOCKER_CONFIG=/kaniko/.docker/",
			},
		},
	}
}
