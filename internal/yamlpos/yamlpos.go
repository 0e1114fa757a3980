// Package yamlpos says where a YAML syntax error is. go.yaml.in/yaml/v3 reports the line
// where the construct around the problem began, not the problem's own line (a mistake on line
// 36 can be reported at line 27), and never a column.
package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxLines bounds the search, which parses one prefix per line: longer documents keep the
// parser's own line.
const maxLines = 5000

// parserLine is the "line N: " the parser puts before its message.
var parserLine = regexp.MustCompile(`^(yaml: )?(line [0-9]+: )?`)

// Error rewrites the error the parser returned for data as "name:LINE:COLUMN: message", where
// LINE and COLUMN are where the document stops being valid YAML: the first line at which a
// prefix of the document fails as the whole does, and in it the first column at which the line
// cut there fails so too (else its first non-blank column). Decoding errors (*yaml.TypeError: unknown keys, wrong types) already name
// their lines and are returned with only the name added, as is an error that no prefix
// reproduces.
func Error(name string, data []byte, err error) error {
	msg := parserLine.ReplaceAllString(err.Error(), "")
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	line, col, ok := Locate(data, msg)
	if !ok {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return fmt.Errorf("%s:%d:%d: %s", name, line, col, msg)
}

// Locate finds the 1-based line and column at which data stops parsing with the parser message
// msg (without its "line N: " prefix); ok is false when no prefix fails with it.
func Locate(data []byte, msg string) (line, col int, ok bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxLines {
		return 0, 0, false
	}
	for n := 1; n <= len(lines); n++ {
		head := bytes.Join(lines[:n], nil)
		if m, failed := parse(head); !failed || m != msg {
			continue
		}
		prev := bytes.Join(lines[:n-1], nil)
		last := lines[n-1]
		for c := 1; c <= len(bytes.TrimRight(last, "\r\n")); c++ {
			if m, failed := parse(append(bytes.Clone(prev), last[:c]...)); failed && m == msg {
				return n, c, true
			}
		}
		return n, len(last) - len(bytes.TrimLeft(last, " \t")) + 1, true
	}
	return 0, 0, false
}

// parse reports whether data fails to parse, and the parser's message without its line.
func parse(data []byte) (string, bool) {
	var n yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		err := dec.Decode(&n)
		if err == nil {
			continue
		}
		if err.Error() == "EOF" {
			return "", false
		}
		return parserLine.ReplaceAllString(err.Error(), ""), true
	}
}
