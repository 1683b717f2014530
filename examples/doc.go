// Package examples holds ctxguard's runnable examples, one command per
// directory (start with leakdemo), and a test that keeps the README's code
// snippets compiling.
package examples
