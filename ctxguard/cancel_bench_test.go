package ctxguard

import (
	"context"
	"testing"
	"time"
)

// The overhead goals, measured as ratios within one run:
//
//	go test -run '^$' -bench 'Constructors' -count 5 ./ctxguard
//
// compares each constructor, with its cancel called, in package context
// ("context"), here under the default Config ("default": one in
// DefaultCancelSampleRate tracked) and here with every cancel func tracked
// ("track-all"). Goals: default <= 1.1x context, track-all <= 2.5x.

var stdConstructors = map[string]func(Context){
	"WithCancel":        func(p Context) { _, c := context.WithCancel(p); c() },
	"WithCancelCause":   func(p Context) { _, c := context.WithCancelCause(p); c(errCause) },
	"WithDeadline":      func(p Context) { _, c := context.WithDeadline(p, time.Now().Add(time.Hour)); c() },
	"WithDeadlineCause": func(p Context) { _, c := context.WithDeadlineCause(p, time.Now().Add(time.Hour), errCause); c() },
	"WithTimeout":       func(p Context) { _, c := context.WithTimeout(p, time.Hour); c() },
	"WithTimeoutCause":  func(p Context) { _, c := context.WithTimeoutCause(p, time.Hour, errCause); c() },
}

func BenchmarkConstructors(b *testing.B) {
	for _, c := range constructors {
		b.Run(c.name+"/context", func(b *testing.B) {
			benchConstructor(b, context.Background(), stdConstructors[c.name])
		})
		b.Run(c.name+"/default", func(b *testing.B) {
			benchConstructor(b, context.Background(), c.call)
		})
		b.Run(c.name+"/track-all", func(b *testing.B) {
			m := New(Config{CancelSampleRate: 1, Logger: discardLogger})
			defer m.Close()
			benchConstructor(b, WithMonitor(context.Background(), m), c.call)
		})
	}
}

func BenchmarkConstructorsParallel(b *testing.B) {
	c := constructors[0]
	b.Run(c.name+"/context", func(b *testing.B) {
		benchConstructorParallel(b, context.Background(), stdConstructors[c.name])
	})
	b.Run(c.name+"/default", func(b *testing.B) {
		benchConstructorParallel(b, context.Background(), c.call)
	})
	b.Run(c.name+"/track-all", func(b *testing.B) {
		m := New(Config{CancelSampleRate: 1, Logger: discardLogger})
		defer m.Close()
		benchConstructorParallel(b, WithMonitor(context.Background(), m), c.call)
	})
}

func benchConstructor(b *testing.B, parent Context, f func(Context)) {
	b.ReportAllocs()
	for b.Loop() {
		f(parent)
	}
}

func benchConstructorParallel(b *testing.B, parent Context, f func(Context)) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f(parent)
		}
	})
}
