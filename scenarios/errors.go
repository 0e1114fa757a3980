package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem found in a scenario file before it runs, at a line and column.
type Error struct {
	File         string
	Line, Column int
	Message      string
}

// Error formats the problem as file:line:column: message.
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
}

// Errors is every problem found in a file, in the order they appear in it.
type Errors []*Error

// Error lists the problems, one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// pos is a position in a scenario file.
type pos struct{ line, column int }

func posOf(n *yaml.Node) pos { return pos{n.Line, n.Column} }

// problems collects the Errors of one file.
type problems struct {
	file string
	list Errors
}

func (p *problems) add(at pos, format string, args ...any) {
	p.list = append(p.list, &Error{File: p.file, Line: at.line, Column: at.column, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems sorted by position without duplicates, or nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	p.list = slices.CompactFunc(p.list, func(a, b *Error) bool { return *a == *b })
	return p.list
}
