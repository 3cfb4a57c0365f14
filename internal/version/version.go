// Package version holds the version of the ActorSwarm binaries. The Makefile
// sets it at link time with
// -ldflags "-X github.com/actorswarm/swarm/internal/version.Version=...";
// a plain go build leaves it at "dev". It is written only by the linker and
// read-only at run time, so it is safe to read from any goroutine.
package version

// Version is the version of this build, from git describe, or "dev".
var Version = "dev"
