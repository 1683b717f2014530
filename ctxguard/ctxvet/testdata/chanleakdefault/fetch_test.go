package chanleakdefault

func slowCall() int { return 1 }

// A result channel never received, in a test file: not reported by
// default.
func fetch() {
	out := make(chan int)
	go func() { out <- slowCall() }()
}
