package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// semanticsProgram prints what its goroutines saw. Each go statement's
// function value and arguments are evaluated at the statement and
// changed right after, so that evaluating any of them later shows in the
// output.
const semanticsProgram = `package main

import (
	"context"
	"fmt"
	"sync"
)

type counter struct{ n int }

func (c counter) value(ctx context.Context, out chan<- string)  { out <- fmt.Sprint("value receiver ", c.n) }
func (c *counter) ptr(ctx context.Context, out chan<- string)   { out <- fmt.Sprint("pointer receiver ", c.n) }
func show[T any](ctx context.Context, out chan<- string, x T)  { out <- fmt.Sprint("generic ", x) }
func two() (string, int)                                        { return "tuple", 2 }
func pair(out chan<- string, s string, n int)                   { out <- fmt.Sprint(s, " ", n) }
func all(out chan<- string, xs ...int)                          { out <- fmt.Sprint("variadic ", xs) }

var global chan<- string

func tupled(s string, n int) { global <- fmt.Sprint(s, " ", n) }

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan string)
	var lines []string
	get := func() { lines = append(lines, <-out) }

	n := 1
	go func(v int) { out <- fmt.Sprint("literal argument ", v) }(n)
	get()
	n = 2
	go pair(out, "argument", n)
	n = 3
	get()

	c := counter{n: 1}
	p := &c
	go p.value(ctx, out) // binds a copy of *p now
	c.n = 2
	get()
	go p.ptr(ctx, out)
	get()

	f := func(ctx context.Context) { out <- "first func" }
	go f(ctx)
	f = func(ctx context.Context) { out <- "second func" }
	get()

	x := 10
	go show(ctx, out, x)
	x = 11
	get()
	go show[string](ctx, out, "s")
	get()
	global = out
	go tupled(two())
	get()
	xs := []int{1, 2}
	go all(out, xs...)
	get()
	go all(out, n, n+1)
	n = 100
	get()

	// Closures share the variables they capture, and may assign them.
	var wg sync.WaitGroup
	total := 0
	var mu sync.Mutex
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			total += i
			mu.Unlock()
		}()
	}
	wg.Wait()
	lines = append(lines, fmt.Sprint("loop total ", total))

	// The goroutine refers to the context variable itself.
	ctx2, cancel2 := context.WithCancel(ctx)
	ctx2 = context.WithValue(ctx2, "k", "v")
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx2 = context.WithValue(ctx2, "k", "changed by the goroutine")
	}()
	<-done
	lines = append(lines, fmt.Sprint("context variable ", ctx2.Value("k")))
	cancel2()

	ch := make(chan int, 1)
	ch <- 1
	go close(ch)
	for range ch {
	}
	lines = append(lines, "closed")
	for _, l := range lines {
		fmt.Println(l)
	}
}
`

// TestFixKeepsMeaning runs a program before and after fix: every line it
// prints must be the same.
func TestFixKeepsMeaning(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	dir := writeModule(t, map[string][]byte{"main.go": []byte(semanticsProgram)})
	before := goCmd(t, dir, "run", "-race", ".")
	code, _, summary := runIn(t, dir, "fix", "./...")
	if code != 0 {
		t.Fatalf("fix exited %d:\n%s", code, summary)
	}
	if !strings.Contains(summary, "13 go statements: 13 converted, 0 left") {
		t.Errorf("summary:\n%s", summary)
	}
	src, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if bytes.Contains(src, []byte("\tgo ")) {
		t.Errorf("a go statement is left:\n%s", src)
	}
	after := goCmd(t, dir, "run", "-race", ".")
	if after != before {
		t.Errorf("output after fix:\n%s\nbefore:\n%s\nprogram after fix:\n%s", after, before, src)
	}
	want := `literal argument 1
argument 2
value receiver 1
pointer receiver 2
first func
generic 10
generic s
tuple 2
variadic [1 2]
variadic [3 4]
loop total 6
context variable changed by the goroutine
closed
`
	if before != want {
		t.Errorf("program output:\n%s\nwant:\n%s", before, want)
	}
}

// TestFixBadModule: a module with a file that does not parse, or that does
// not type-check, is reported and left unchanged.
func TestFixBadModule(t *testing.T) {
	t.Setenv("GOWORK", "off")
	for name, src := range map[string]string{
		"parse": "package p\n\nimport \"context\"\n\nfunc F(ctx context.Context) {\n\tgo func() {\n}\n",
		"types": "package p\n\nimport \"context\"\n\nfunc F(ctx context.Context) {\n\tgo undefined()\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			good := "package p\n\nimport \"context\"\n\nfunc G(ctx context.Context) {\n\tgo G(ctx)\n}\n"
			dir := writeModule(t, map[string][]byte{"p/bad.go": []byte(src), "p/good.go": []byte(good)})
			code, _, stderr := runIn(t, dir, "fix", "./...")
			if code != 1 || !strings.Contains(stderr, "do not build; nothing was changed") || !strings.Contains(stderr, "bad.go") {
				t.Errorf("exit %d, stderr:\n%s", code, stderr)
			}
			for f, want := range map[string]string{"p/bad.go": src, "p/good.go": good} {
				if got, _ := os.ReadFile(filepath.Join(dir, f)); string(got) != want {
					t.Errorf("%s changed:\n%s", f, got)
				}
			}
		})
	}
}

// TestFixDiff prints the change and writes nothing.
func TestFixDiff(t *testing.T) {
	t.Setenv("GOWORK", "off")
	src := "package p\n\nimport \"context\"\n\nfunc G(ctx context.Context) {\n\tgo G(ctx)\n}\n"
	dir := writeModule(t, map[string][]byte{"p/p.go": []byte(src)})
	code, stdout, stderr := runIn(t, dir, "fix", "-diff", "./...")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	want := `--- p/p.go
+++ p/p.go
@@ -1,7 +1,11 @@
 package p
 
-import "context"
+import (
+	"context"
 
+	"github.com/ctxguard/ctxguard/spawn"
+)
+
 func G(ctx context.Context) {
-	go G(ctx)
+	spawn.Go(ctx, func(ctx context.Context) { G(ctx) })
 }
`
	if stdout != want {
		t.Errorf("diff:\n%s\nwant:\n%s", stdout, want)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "p/p.go")); string(got) != src {
		t.Errorf("-diff wrote the file:\n%s", got)
	}
	if !strings.Contains(stderr, "1 go statements: 1 converted, 0 left") {
		t.Errorf("summary:\n%s", stderr)
	}
}
