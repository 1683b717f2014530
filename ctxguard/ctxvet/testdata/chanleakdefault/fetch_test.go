package chanleakdefault

import "context"

func slowCall() int { return 1 }

// The blocked sender, in a test file: not reported by default.
func fetch(ctx context.Context) (int, error) {
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
