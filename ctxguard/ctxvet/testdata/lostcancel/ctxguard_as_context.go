// Package lostcancel holds the lostcancel check's cases. This file imports
// ctxguard under the name context, the one-line switch that silences go
// vet's own lostcancel.
package lostcancel

import (
	"errors"
	"log"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

func use(context.Context) error { return nil }

func register(context.CancelFunc) {}

func discarded(parent context.Context) error {
	ctx, _ := context.WithCancel(parent) // want `the cancel func of context.WithCancel is discarded, so the context is not cancelled until its parent ends \(a context leak\): assign it and call it when the work is done \(defer cancel\(\)\)`
	return use(ctx)
}

func discardedInVar(parent context.Context) error {
	var ctx, _ = context.WithTimeout(parent, time.Second) // want `the cancel func of context.WithTimeout is discarded`
	return use(ctx)
}

func discardedByAssignment(parent context.Context) error {
	var ctx context.Context
	ctx, _ = context.WithDeadline(parent, time.Now()) // want `the cancel func of context.WithDeadline is discarded`
	return use(ctx)
}

func resultsDiscarded(parent context.Context) {
	context.WithCancelCause(parent) // want `the results of context.WithCancelCause are discarded, so the context is not cancelled until its parent ends \(a context leak\): assign the cancel func and call it when the work is done`
}

func returnBeforeDefer(parent context.Context, fail bool) error {
	ctx, cancel := context.WithTimeout(parent, time.Second) // want `cancel \(the cancel func of context.WithTimeout\) is not called on every path, so the context can outlive this function: defer cancel\(\) right after this line`
	if fail {
		return errors.New("early") // want `this return leaves cancel uncalled \(context.WithTimeout on line 39\): call it on this path too, or defer it after that line`
	}
	defer cancel()
	return use(ctx)
}

func calledOnOneBranch(parent context.Context, done bool) {
	ctx, cancel := context.WithTimeoutCause(parent, time.Second, errors.New("slow")) // want `cancel \(the cancel func of context.WithTimeoutCause\) is not called on every path`
	if done {
		cancel()
	}
	_ = use(ctx)
} // want `the end of the function leaves cancel uncalled \(context.WithTimeoutCause on line 48\)`

func deferredAtOnce(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	return use(ctx)
}

func calledOnEveryPath(parent context.Context, fail bool) error {
	ctx, cancel := context.WithCancelCause(parent)
	if fail {
		cancel(errors.New("failed"))
		return nil
	}
	err := use(ctx)
	cancel(err)
	return err
}

func calledInDeferredClosure(parent context.Context) error {
	ctx, cancel := context.WithDeadlineCause(parent, time.Now(), errors.New("late"))
	defer func() {
		log.Print("done")
		cancel()
	}()
	return use(ctx)
}

func calledInGoroutine(parent context.Context, stop chan struct{}) error {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		<-stop
		cancel()
	}()
	return use(ctx)
}

func returned(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, time.Second)
	return ctx, cancel
}

func returnedThroughNamedResults(parent context.Context) (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancel = context.WithTimeout(parent, time.Second)
	return
}

type job struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func storedInField(parent context.Context) *job {
	ctx, cancel := context.WithCancel(parent)
	j := &job{ctx: ctx}
	j.cancel = cancel
	return j
}

func storedInLiteral(parent context.Context) *job {
	ctx, cancel := context.WithCancel(parent)
	return &job{ctx: ctx, cancel: cancel}
}

func (j *job) assignedToField(parent context.Context) {
	j.ctx, j.cancel = context.WithCancel(parent)
}

func passedOn(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	register(cancel)
	return use(ctx)
}

func closureDeclaredFirst(parent context.Context) error {
	var cancel context.CancelFunc
	defer func() {
		if cancel != nil {
			cancel()
		}
	}()
	var ctx context.Context
	ctx, cancel = context.WithCancel(parent)
	return use(ctx)
}

func panicPathIsNoReturn(parent context.Context, bad bool) error {
	ctx, cancel := context.WithCancel(parent)
	if bad {
		panic("bad")
	}
	if ctx == nil {
		log.Fatal("no context")
	}
	defer cancel()
	return use(ctx)
}

func inLoop(parent context.Context, steps []time.Duration) error {
	for _, d := range steps {
		ctx, cancel := context.WithTimeout(parent, d)
		err := use(ctx)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func inFuncLit(parent context.Context) func() error {
	return func() error {
		ctx, cancel := context.WithCancel(parent) // want `cancel \(the cancel func of context.WithCancel\) is not called on every path`
		if err := use(ctx); err != nil {
			return err // want `this return leaves cancel uncalled`
		}
		cancel()
		return nil
	}
}

var capturedCancel context.CancelFunc

func assignedToPackageVariable(parent context.Context) error {
	var ctx context.Context
	ctx, capturedCancel = context.WithCancel(parent)
	return use(ctx)
}

func returnedDirectly(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(parent)
}
