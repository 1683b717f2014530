package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
	"golang.org/x/tools/go/packages"
)

const coreModule = "github.com/ctxguard/ctxguard"

// buildConfig is ctxguard's own part of a test, build or run command line.
type buildConfig struct {
	verb   string // test, build, run
	deps   bool   // rewrite dependencies too
	grace  time.Duration
	core   string // where the core module is: a directory or a version; "" to find out
	quiet  bool   // no summary
	goArgs []string
}

const buildHelp = `usage: ctxguard test|build|run [-deps] [-grace d] [-ctxguard dir|version] [-q] [go flags] [packages] [args]

Test, build and run are go test, go build and go run with fix's rewrite
applied at build time through go's -overlay: the files on disk are not
touched, and positions in reports, panics and stack traces are those of the
files as written. In a test, t.Context() (of a *testing.T, B, F or a
testing.TB) is replaced by ctxguardtest.Goroutines(t): a goroutine started
under it, or under a context derived from it, that still runs -grace after
the test's context ended fails that test only, naming the go statement and
the line where the goroutine is blocked, and, where Go's goroutine leak
profile proves it, that the goroutine can never return. Goroutines under
other contexts never fail a test.

	-deps      rewrite the module's dependencies too (not the standard library)
	-grace d   how long a test's goroutines may run after its context ended (default 1s)
	-ctxguard  the ctxguard module to build with when the module does not require it:
	           a directory (a replace) or a version (default: the one this command was built with)
	-q         no summary of the rewrite on standard error

The exit status is go's.`

// parseBuildArgs takes ctxguard's flags out of args; the rest is go's.
func parseBuildArgs(verb string, args []string) (*buildConfig, error) {
	c := &buildConfig{verb: verb, grace: time.Second, core: os.Getenv("CTXGUARD_CORE")}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-args" || a == "--args" {
			c.goArgs = append(c.goArgs, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			if verb == "run" {
				// The package or files, then the program's arguments:
				// none of them is ctxguard's.
				c.goArgs = append(c.goArgs, args[i:]...)
				break
			}
			name = ""
		}
		if goValueFlags[name] && !hasValue && i+1 < len(args) {
			c.goArgs = append(c.goArgs, a, args[i+1])
			i++
			continue
		}
		takeValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "deps":
			c.deps = !hasValue || value == "true"
		case "q":
			c.quiet = !hasValue || value == "true"
		case "grace":
			v, err := takeValue()
			if err != nil {
				return nil, err
			}
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("-grace needs a positive duration, got %q", v)
			}
			c.grace = d
		case "ctxguard":
			v, err := takeValue()
			if err != nil {
				return nil, err
			}
			c.core = v
		case "overlay", "modfile", "C", "toolexec":
			return nil, fmt.Errorf("go's -%s cannot be combined with ctxguard %s, which sets its own", name, verb)
		default:
			c.goArgs = append(c.goArgs, a)
		}
	}
	return c, nil
}

// goValueFlags are the go build and go test flags that take a value in
// the next argument when not written -flag=value.
var goValueFlags = map[string]bool{
	"o": true, "p": true, "asmflags": true, "buildmode": true, "compiler": true, "gccgoflags": true,
	"gcflags": true, "installsuffix": true, "ldflags": true, "mod": true, "pgo": true, "pkgdir": true,
	"tags": true, "covermode": true, "coverpkg": true, "exec": true, "vet": true, "bench": true,
	"benchtime": true, "blockprofile": true, "blockprofilerate": true, "count": true, "coverprofile": true,
	"cpu": true, "cpuprofile": true, "fuzz": true, "fuzzcachedir": true, "fuzzminimizetime": true,
	"fuzztime": true, "list": true, "memprofile": true, "memprofilerate": true, "mutexprofile": true,
	"mutexprofilefraction": true, "outputdir": true, "parallel": true, "run": true, "skip": true,
	"shuffle": true, "timeout": true, "trace": true, "benchmem": false,
}

// loadFlags are the go flags that change which files make up a package.
var loadFlags = map[string]bool{"tags": true, "race": true, "msan": true, "asan": true, "mod": true}

// splitGoArgs returns the package patterns of go's arguments and the
// flags that matter to loading them.
func splitGoArgs(verb string, args []string) (patterns, flags []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-args" || a == "--args" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			if verb == "run" {
				// go run's package, or its .go files; the rest are the
				// program's arguments.
				if strings.HasSuffix(a, ".go") {
					for ; i < len(args) && strings.HasSuffix(args[i], ".go"); i++ {
						patterns = append(patterns, args[i])
					}
				} else {
					patterns = append(patterns, a)
				}
				break
			}
			patterns = append(patterns, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimLeft(a, "-"), "test."), "=")
		full := a
		if goValueFlags[name] && !hasValue && i+1 < len(args) {
			i++
			full = "-" + name + "=" + args[i]
		}
		if loadFlags[name] {
			flags = append(flags, full)
		}
	}
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	return patterns, flags
}

// runBuild is ctxguard test, build and run.
func runBuild(verb string, args []string, stdout, stderr io.Writer) int {
	c, err := parseBuildArgs(verb, args)
	if err != nil {
		fmt.Fprintf(stderr, "ctxguard %s: %v\n\n%s\n", verb, err, buildHelp)
		return 2
	}
	extra, summary, err := c.prepare()
	if err != nil {
		fmt.Fprintf(stderr, "ctxguard %s: %v\n", verb, err)
		return 1
	}
	if !c.quiet {
		io.WriteString(stderr, summary)
	}
	for _, a := range c.goArgs {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name == "cover" || name == "coverprofile" || name == "coverpkg" {
			// Measured with Go 1.26: go's cover step reads the files on
			// disk, not the overlay.
			fmt.Fprintf(stderr, "ctxguard %s: warning: with -%s, the packages measured for coverage are built from the files on disk, without the rewrite: their go statements are not tracked\n", verb, name)
			break
		}
		if a == "-args" || a == "--args" {
			break
		}
	}
	cmd := exec.Command("go", append(append([]string{verb}, extra...), c.goArgs...)...)
	for _, a := range c.goArgs {
		if a == "-x" || a == "-n" {
			fmt.Fprintf(stderr, "%s\n", strings.Join(cmd.Args, " ")) // as go -x shows its own commands
			break
		}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintf(stderr, "ctxguard %s: %v\n", verb, err)
		return 1
	}
	return 0
}

// prepare rewrites the packages into an overlay and returns the flags to
// give go for it, and a summary of the rewrite.
func (c *buildConfig) prepare() (goFlags []string, summary string, err error) {
	patterns, loadFlags := splitGoArgs(c.verb, c.goArgs)
	gomod, err := goEnv("GOMOD")
	if err != nil {
		return nil, "", err
	}
	if gomod == "" || gomod == os.DevNull {
		return nil, "", errors.New("not in a module: run it in a module's directory (go mod init)")
	}
	cacheDir, err := overlayDir()
	if err != nil {
		return nil, "", err
	}
	modFlag, err := c.moduleFile(gomod, cacheDir)
	if err != nil {
		return nil, "", err
	}
	if modFlag != nil {
		goFlags = append(goFlags, modFlag...)
		loadFlags = append(loadFlags, modFlag...)
	}

	// Every package of the build whose files are to be rewritten: the
	// patterns' (with their tests) and, outside them, the main module's
	// packages they import, or with -deps every non-standard one.
	graph, err := listDeps(loadFlags, patterns, c.verb == "test")
	if err != nil {
		return nil, "", err
	}
	// A run over the same files, flags and command reuses the last
	// rewrite, without type-checking anything.
	key := c.runKey(gomod, loadFlags, patterns, graph)
	runFile := filepath.Join(cacheDir, "run-"+key+".json")
	var last struct {
		Overlay, Summary string
		Flags            []string // go's flags for the run, -overlay and -modfile included
		Copies           []string // copies of modules of the cache it builds from
	}
	if data, err := os.ReadFile(runFile); err == nil && json.Unmarshal(data, &last) == nil && usable(last.Flags, last.Copies) {
		return last.Flags, last.Summary, nil
	}
	keep := func(p *packages.Package) bool {
		if p.Module == nil {
			return namedFiles(p)
		}
		return p.Module.Main || (c.deps && p.Module.Path != coreModule)
	}
	opts := rewriteOptions{build: true, testContexts: c.verb == "test", grace: c.grace}
	res, err := rewritePackages(loadFlags, patterns, c.verb == "test", keep, opts)
	if err != nil {
		return nil, "", err
	}
	var others []string
	matched := make(map[string]bool)
	for _, p := range res.pkgPaths {
		matched[p] = true
	}
	for _, p := range graph {
		if !matched[p.ImportPath] && p.Module != nil && (p.Module.Main || (c.deps && p.Module.Path != coreModule)) {
			others = append(others, p.ImportPath)
		}
	}
	if len(others) > 0 {
		more, err := rewritePackages(loadFlags, others, false, keep, opts)
		if err != nil {
			return nil, "", err
		}
		res.files = append(res.files, more.files...)
		res.statements = append(res.statements, more.statements...)
	}

	// go refuses to overlay files of the module cache: a dependency
	// rewritten there is built from a copy, named by a replace in an
	// alternate go.mod, and overlaid in the copy.
	modcache, err := goEnv("GOMODCACHE")
	if err != nil {
		return nil, "", err
	}
	copies := make(map[string]string) // module dir in the cache → its copy
	overlay := struct{ Replace map[string]string }{Replace: make(map[string]string)}
	for _, fr := range res.files {
		out, err := fr.result(true)
		if err != nil {
			return nil, "", err
		}
		name := fr.name
		if m := fr.module; modcache != "" && inDir(name, modcache) && m != nil && m.Dir != "" && m.Version != "" {
			cp, ok := copies[m.Dir]
			if !ok {
				if cp, err = copyModule(m.Dir, filepath.Join(cacheDir, "deps")); err != nil {
					return nil, "", err
				}
				copies[m.Dir] = cp
			}
			rel, err := filepath.Rel(m.Dir, name)
			if err != nil {
				return nil, "", err
			}
			name = filepath.Join(cp, rel)
		}
		sum := sha256.Sum256(out)
		path := filepath.Join(cacheDir, hex.EncodeToString(sum[:16])+".go")
		if _, err := os.Stat(path); err != nil {
			if err := os.WriteFile(path, out, 0o644); err != nil {
				return nil, "", err
			}
		}
		overlay.Replace[name] = path
	}
	if len(copies) > 0 {
		if goFlags, err = replaceModules(gomod, goFlags, cacheDir, res.files, copies); err != nil {
			return nil, "", err
		}
	}
	data, err := json.Marshal(overlay)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(data)
	overlayFile := filepath.Join(cacheDir, "overlay-"+hex.EncodeToString(sum[:16])+".json")
	if err := os.WriteFile(overlayFile, data, 0o644); err != nil {
		return nil, "", err
	}
	goFlags = append(goFlags, "-overlay="+overlayFile)

	var b strings.Builder
	converted := 0
	for _, st := range res.statements {
		if st.Converted {
			converted++
		}
	}
	fmt.Fprintf(&b, "ctxguard %s: %d go statements: %d tracked, %d left (ctxguard fix -diff lists them)\n", c.verb, len(res.statements), converted, len(res.statements)-converted)
	last.Overlay, last.Summary, last.Flags = overlayFile, b.String(), goFlags
	for _, cp := range copies {
		last.Copies = append(last.Copies, cp)
	}
	if data, err := json.Marshal(last); err == nil {
		os.WriteFile(runFile, data, 0o644) // only a cache: a failure costs the next run a rewrite
	}
	return goFlags, b.String(), nil
}

// usable reports whether the files that go flags name, and the module
// copies, still exist.
func usable(flags, copies []string) bool {
	for _, cp := range copies {
		if _, err := os.Stat(filepath.Join(cp, "go.mod")); err != nil {
			return false
		}
	}
	for _, f := range flags {
		for _, prefix := range []string{"-overlay=", "-modfile="} {
			if v, ok := strings.CutPrefix(f, prefix); ok {
				if _, err := os.Stat(v); err != nil {
					return false
				}
			}
		}
	}
	return len(flags) > 0
}

// runKey identifies a rewrite by everything it depends on: this command,
// its flags, the environment that selects files, the module's go.mod and
// go.sum, and the name, size and modification time of every file of every
// package of the build outside the standard library.
func (c *buildConfig) runKey(gomod string, loadFlags, patterns []string, graph []listedPackage) string {
	h := sha256.New()
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "exe %s %d %d\n", exe, st.Size(), st.ModTime().UnixNano())
		}
	}
	fmt.Fprintf(h, "%s deps=%v grace=%v flags=%q patterns=%q\n", c.verb, c.deps, c.grace, loadFlags, patterns)
	for _, v := range []string{"GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOEXPERIMENT", "GOTOOLCHAIN", "GOWORK"} {
		fmt.Fprintf(h, "%s=%s\n", v, os.Getenv(v))
	}
	for _, f := range []string{gomod, strings.TrimSuffix(gomod, ".mod") + ".sum"} {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	for _, p := range graph {
		fmt.Fprintf(h, "package %s %s\n", p.ImportPath, p.Dir)
		for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.TestGoFiles, p.XTestGoFiles, p.IgnoredGoFiles} {
			for _, name := range list {
				st, err := os.Stat(filepath.Join(p.Dir, name))
				if err != nil {
					fmt.Fprintf(h, "%s missing\n", name)
					continue
				}
				fmt.Fprintf(h, "%s %d %d\n", name, st.Size(), st.ModTime().UnixNano())
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// overlayDir returns the directory of rewritten files, named by their
// contents so that go's build and test caches keep working across runs.
func overlayDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "ctxguard", "overlay")
	return dir, os.MkdirAll(dir, 0o755)
}

// listedPackage is what go list says of a package of the build.
type listedPackage struct {
	ImportPath, Dir                                              string
	GoFiles, CgoFiles, TestGoFiles, XTestGoFiles, IgnoredGoFiles []string
	Standard                                                     bool
	ForTest                                                      string
	Module                                                       *struct {
		Path string
		Main bool
	}
}

// listDeps lists the packages patterns build, with their tests' if tests.
func listDeps(flags, patterns []string, tests bool) ([]listedPackage, error) {
	args := []string{"list", "-e", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,TestGoFiles,XTestGoFiles,IgnoredGoFiles,Standard,ForTest,Module"}
	if tests {
		args = append(args, "-test")
	}
	args = append(append(args, flags...), patterns...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v%s", err, stderrOf(err))
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		if p.Standard || p.ForTest != "" || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		return ":\n" + strings.TrimSpace(string(exit.Stderr))
	}
	return ""
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %v%s", name, err, stderrOf(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// moduleFile returns the go flags that make the core module available to
// the rewritten code: none if the module requires it; else an alternate
// module file (-modfile) that does, next to a copy of go.sum.
func (c *buildConfig) moduleFile(gomod, cacheDir string) ([]string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, err
	}
	mf, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return nil, err
	}
	if mf.Module != nil && mf.Module.Mod.Path == coreModule {
		return nil, nil
	}
	for _, r := range mf.Require {
		if r.Mod.Path == coreModule {
			return nil, nil
		}
	}
	if work, _ := goEnv("GOWORK"); work != "" && work != "off" {
		return nil, fmt.Errorf("the module does not require %s and a go.work is in use (%s): add it with go get %s, or run with GOWORK=off", coreModule, work, coreModule+"/spawn")
	}
	core := c.core
	if core == "" {
		core = builtWithCore()
	}
	if core == "" {
		return nil, fmt.Errorf("the module does not require %s: run go get %s, or give -ctxguard with a directory holding that module or a version", coreModule, coreModule+"/spawn")
	}
	// The core module's go line is the least the module may have; go get
	// would raise it as well. Below go 1.22 that would change what loop
	// variables mean, which is not for a test run to decide.
	coreGo := "1.25.0"
	if data, err := os.ReadFile(filepath.Join(core, "go.mod")); err == nil {
		if cm, err := modfile.ParseLax("go.mod", data, nil); err == nil && cm.Go != nil {
			coreGo = cm.Go.Version
		}
	}
	if mf.Go == nil || version.Compare("go"+mf.Go.Version, "go1.22") < 0 {
		return nil, fmt.Errorf("the module does not require %s, which needs go %s, and its go line is below 1.22: raising it would change the meaning of its loop variables; run go get %s if that is intended", coreModule, coreGo, coreModule+"/spawn")
	}
	if version.Compare("go"+mf.Go.Version, "go"+coreGo) < 0 {
		if err := mf.AddGoStmt(coreGo); err != nil {
			return nil, err
		}
		if mf.Toolchain != nil && version.Compare(mf.Toolchain.Name, "go"+coreGo) < 0 {
			mf.DropToolchainStmt()
		}
	}
	var flags []string
	if info, err := os.Stat(core); err == nil && info.IsDir() {
		abs, err := filepath.Abs(core)
		if err != nil {
			return nil, err
		}
		mf.AddNewRequire(coreModule, "v0.0.0-00010101000000-000000000000", false)
		if err := mf.AddReplace(coreModule, "", abs, ""); err != nil {
			return nil, err
		}
	} else {
		mf.AddNewRequire(coreModule, core, false)
		flags = append(flags, "-mod=mod")
	}
	alt, err := writeModFile(mf, gomod, gomod, cacheDir)
	if err != nil {
		return nil, err
	}
	return append(flags, "-modfile="+alt), nil
}

// writeModFile writes mf, made from the module file gomod, as an alternate
// module file under cacheDir, named by its contents, with a copy of the
// go.sum beside from (a module file: the user's, or an alternate one);
// it returns the alternate file's path.
func writeModFile(mf *modfile.File, gomod, from, cacheDir string) (string, error) {
	out, err := mf.Format()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(out, []byte(gomod)...))
	dir := filepath.Join(cacheDir, "mod-"+hex.EncodeToString(sum[:12]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	alt := filepath.Join(dir, "go.mod")
	if err := os.WriteFile(alt, out, 0o644); err != nil {
		return "", err
	}
	goSum, err := os.ReadFile(strings.TrimSuffix(from, ".mod") + ".sum")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), goSum, 0o644); err != nil {
		return "", err
	}
	return alt, nil
}

// builtWithCore returns where the core module this command was built with
// is: its replacement directory, or its version; "" if unknown (a
// development build, whose version says nothing).
func builtWithCore() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range info.Deps {
		if d.Path != coreModule {
			continue
		}
		if d.Replace != nil {
			if filepath.IsAbs(d.Replace.Path) {
				if st, err := os.Stat(d.Replace.Path); err == nil && st.IsDir() {
					return d.Replace.Path
				}
				return ""
			}
			d = d.Replace
		}
		if semver.IsValid(d.Version) && !strings.HasPrefix(d.Version, "v0.0.0-00010101000000-") {
			return d.Version
		}
	}
	return ""
}

// copyModule copies the module directory dir into a directory of its own
// under parent, once, and returns the copy.
func copyModule(dir, parent string) (string, error) {
	sum := sha256.Sum256([]byte(dir))
	dst := filepath.Join(parent, filepath.Base(dir)+"-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dst, "go.mod")); err == nil {
		return dst, nil
	}
	tmp := dst + ".tmp"
	os.RemoveAll(tmp)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		to := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
	if _, statErr := os.Stat(filepath.Join(tmp, "go.mod")); err == nil && statErr != nil {
		// A module without a go.mod of its own (pre-modules code): go
		// needs one in a replacement directory.
		err = errors.New("module " + dir + " has no go.mod: -deps cannot rewrite it")
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil && !errors.Is(err, os.ErrExist) {
		if _, statErr := os.Stat(dst); statErr != nil {
			return "", err
		}
	}
	return dst, nil
}

// replaceModules returns goFlags with -modfile naming an alternate go.mod
// (the one goFlags named, or the module's) that replaces each rewritten
// module of the cache by its copy.
func replaceModules(gomod string, goFlags []string, cacheDir string, files []*fileRewrite, copies map[string]string) ([]string, error) {
	from := gomod
	var rest []string
	for _, f := range goFlags {
		if v, ok := strings.CutPrefix(f, "-modfile="); ok {
			from = v
			continue
		}
		rest = append(rest, f)
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return nil, err
	}
	mf, err := modfile.Parse(from, data, nil)
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool)
	for _, fr := range files {
		m := fr.module
		if m == nil || done[m.Dir] || copies[m.Dir] == "" {
			continue
		}
		done[m.Dir] = true
		if err := mf.AddReplace(m.Path, m.Version, copies[m.Dir], ""); err != nil {
			return nil, err
		}
	}
	alt, err := writeModFile(mf, gomod, from, cacheDir)
	if err != nil {
		return nil, err
	}
	return append(rest, "-modfile="+alt), nil
}
