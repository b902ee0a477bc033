package gitd

import _ "embed"

// Source is gitd.go itself, which the image factory compiles into the git
// image's one binary, with a main package that calls Main.
//
//go:embed gitd.go
var Source string
