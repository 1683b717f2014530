// Package places blocks goroutines at one of N distinct lines, for the
// tests and benchmarks of what groups goroutines by where they are
// blocked (untracked groups, an entry's blocking locations): a goroutine running Wait(i, ...)
// or Leak(i) is blocked at a line of its own for each i mod N.
package places

// N is how many distinct lines Wait and Leak block at.
const N = 25

// Wait blocks on release at line i mod N of its switch.
//
//go:noinline
func Wait(i int, release <-chan struct{}) {
	switch i % N {
	case 0:
		<-release
	case 1:
		<-release
	case 2:
		<-release
	case 3:
		<-release
	case 4:
		<-release
	case 5:
		<-release
	case 6:
		<-release
	case 7:
		<-release
	case 8:
		<-release
	case 9:
		<-release
	case 10:
		<-release
	case 11:
		<-release
	case 12:
		<-release
	case 13:
		<-release
	case 14:
		<-release
	case 15:
		<-release
	case 16:
		<-release
	case 17:
		<-release
	case 18:
		<-release
	case 19:
		<-release
	case 20:
		<-release
	case 21:
		<-release
	case 22:
		<-release
	case 23:
		<-release
	default:
		<-release
	}
}

// Leak blocks forever, at line i mod N of its switch, on a channel only it
// holds: Go's goroutine leak profile proves it leaked.
//
//go:noinline
func Leak(i int) {
	ch := make(chan struct{})
	switch i % N {
	case 0:
		<-ch
	case 1:
		<-ch
	case 2:
		<-ch
	case 3:
		<-ch
	case 4:
		<-ch
	case 5:
		<-ch
	case 6:
		<-ch
	case 7:
		<-ch
	case 8:
		<-ch
	case 9:
		<-ch
	case 10:
		<-ch
	case 11:
		<-ch
	case 12:
		<-ch
	case 13:
		<-ch
	case 14:
		<-ch
	case 15:
		<-ch
	case 16:
		<-ch
	case 17:
		<-ch
	case 18:
		<-ch
	case 19:
		<-ch
	case 20:
		<-ch
	case 21:
		<-ch
	case 22:
		<-ch
	case 23:
		<-ch
	default:
		<-ch
	}
}
