package lostcancel

import (
	"errors"

	context "github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
	"golang.org/x/sync/errgroup"
)

func work() error { return nil }

func waited(parent context.Context) error {
	g, ctx := spawn.WithContext(parent)
	g.Go(func() error { return use(ctx) })
	return g.Wait()
}

func waitedInGoroutine(parent context.Context, errc chan<- error) {
	g, ctx := spawn.WithContext(parent)
	g.SetLimit(2)
	g.Go(func() error { return use(ctx) })
	go func() { errc <- g.Wait() }()
}

func groupReturned(parent context.Context) (*spawn.Group, context.Context) {
	g, ctx := spawn.WithContext(parent)
	return g, ctx
}

func groupDiscarded(parent context.Context) error {
	_, ctx := spawn.WithContext(parent) // want `the Group of spawn.WithContext is discarded, so Wait is never called and its context is not cancelled until its parent ends: assign it and call Wait on every path`
	return use(ctx)
}

func neverWaited(parent context.Context) error {
	g, ctx := spawn.WithContext(parent) // want `g \(the Group of spawn.WithContext\) is not waited for on every path, so its context is not cancelled until its parent ends: call g.Wait\(\) on every path`
	g.Go(func() error { return use(ctx) })
	g.TryGo(work)
	return nil // want `this return skips g.Wait\(\) \(spawn.WithContext on line 37\): wait on this path too`
}

func goInClosureIsNoWait(parent context.Context, items []int) error {
	g, ctx := spawn.WithContext(parent) // want `g \(the Group of spawn.WithContext\) is not waited for on every path`
	for range items {
		func() { g.Go(func() error { return use(ctx) }) }()
	}
	return nil // want `this return skips g.Wait\(\)`
}

func errgroupEarlyReturn(parent context.Context, items []int) error {
	g, ctx := errgroup.WithContext(parent) // want `g \(the Group of errgroup.WithContext\) is not waited for on every path`
	if len(items) == 0 {
		return errors.New("no items") // want `this return skips g.Wait\(\) \(errgroup.WithContext on line 52\)`
	}
	for range items {
		g.Go(func() error { return use(ctx) })
	}
	return g.Wait()
}
