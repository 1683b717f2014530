package main

import "context"

func run(ctx context.Context) {}

func main() {
	func(ctx context.Context) { run(context.Background()) }(nil)
}

func notMain(ctx context.Context) {
	run(context.Background()) // want `context.Background\(\) drops the context parameter ctx`
}
