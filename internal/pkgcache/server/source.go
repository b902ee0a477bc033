package server

import _ "embed"

// Source is server.go itself, which the image factory compiles into the
// package cache's binary (with MainSource as its main package).
//
//go:embed server.go
var Source string

// MainSource is the main package of that binary.
const MainSource = `package main

import (
	"fmt"
	"os"

	"cachebench.local/packagecache/server"
)

func main() {
	if err := server.Main(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "package cache:", err)
		os.Exit(1)
	}
}
`
