// Package workspace holds the repository's tests of itself as a set of
// modules; it has no code. The core module (the repository root) requires
// no other module, and the integrations, bench and examples are modules of
// their own, listed in go.work (see docs/modules.md). go test ./...
// at the root does not descend into them, so that the README's one test
// command still runs every test of every module, TestModules runs go test
// in each of them; TestDependencyWeight checks that adding the core to a
// program raises none of its requirements.
package workspace
