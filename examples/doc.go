// Package examples holds ctxguard's runnable examples, one command per
// directory (start with leakdemo), and the tests that keep the code
// snippets of the README, docs/ and CONTRIBUTING.md compiling, and the log
// output the README shows true.
package examples
