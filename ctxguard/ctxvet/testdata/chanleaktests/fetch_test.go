package chanleaktests

func slowCall() int { return 1 }

// A result channel never received, in a test file: reported with -tests.
func fetch() {
	out := make(chan int)
	go func() { out <- slowCall() }() // want `goroutine`
}
