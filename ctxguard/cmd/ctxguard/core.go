package main

// The core module is linked in only so that this command's build
// information records which version of it the command goes with
// (builtWithCore): the version test, build and run make a module use when
// it does not require ctxguard itself.
import _ "github.com/ctxguard/ctxguard/spawn"
