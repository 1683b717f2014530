package ctxvet

import (
	"bytes"
	"go/ast"
	"go/token"
	"slices"
	"strings"
)

// ignorePrefix starts a directive that silences checks on one line:
//
//	go work() //ctxvet:ignore goctx the worker outlives the request on purpose
//
// or, alone on the line above the one it silences:
//
//	//ctxvet:ignore lostcancel the caller cancels through s.stop
//	s.ctx, cancel = context.WithCancel(ctx)
//
// The reason is required: a directive without one silences nothing and is
// reported.
const ignorePrefix = "//ctxvet:ignore"

// ignoreDirective is one //ctxvet:ignore comment.
type ignoreDirective struct {
	pos    token.Pos
	checks []string // check names it silences
	reason string
	line   int // the line it silences
}

// parseIgnoreDirectives finds the directives of file. src is the file's
// text, used to tell a trailing comment from one alone on its line; when it
// is nil every directive is taken as trailing.
func parseIgnoreDirectives(fset *token.FileSet, file *ast.File, src []byte) []ignoreDirective {
	var directives []ignoreDirective
	for _, group := range file.Comments {
		for _, c := range group.List {
			rest, ok := strings.CutPrefix(c.Text, ignorePrefix)
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				continue
			}
			rest, _, _ = strings.Cut(rest, "//") // a comment may follow the directive
			fields := strings.Fields(rest)
			d := ignoreDirective{pos: c.Pos()}
			if len(fields) > 0 {
				d.checks = strings.Split(fields[0], ",")
				d.reason = strings.Join(fields[1:], " ")
			}
			p := fset.Position(c.Pos())
			d.line = p.Line
			if aloneOnLine(src, p.Offset) {
				d.line = fset.Position(c.End()).Line + 1
			}
			directives = append(directives, d)
		}
	}
	return directives
}

// aloneOnLine reports whether only blanks precede offset on its line.
func aloneOnLine(src []byte, offset int) bool {
	if src == nil || offset > len(src) {
		return false
	}
	start := bytes.LastIndexByte(src[:offset], '\n') + 1
	return len(bytes.TrimSpace(src[start:offset])) == 0
}

// silences reports whether d silences check.
func (d ignoreDirective) silences(check string) bool {
	return d.reason != "" && slices.Contains(d.checks, check)
}
