package yamlpos

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestError: each mistake is reported at its own line and column, where the parser names the
// line its construct began on.
func TestError(t *testing.T) {
	for _, c := range []struct {
		name, doc, want string
	}{
		{"over-indented key", "a:\n  b:\n    - name: x\n      kind: y\n     kind: z\nc: 1\n", "f.yaml:5:6: "},
		{"colon in a plain value", "a: 1\nb:\n  c: 2\n  d: ACTIVE: x\n", "f.yaml:4:12: mapping values are not allowed in this context"},
		{"tab", "a:\n  b: 1\n\tc: 2\n", "f.yaml:3:1: found a tab character that violates indentation"},
		{"unclosed flow", "a: 1\nb: {c: 1\nd: 2\n", "f.yaml:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v any
			err := yaml.Unmarshal([]byte(c.doc), &v)
			if err == nil {
				t.Fatal("the document parses")
			}
			got := Error("f.yaml", []byte(c.doc), err).Error()
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("%q\nparser: %v\ngot  %s\nwant %s...", c.doc, err, got, c.want)
			}
		})
	}
}

// TestTypeErrorUnchanged: a decoding error keeps the parser's line.
func TestTypeErrorUnchanged(t *testing.T) {
	var v struct{ A int }
	err := yaml.Unmarshal([]byte("a: x\n"), &v)
	if got := Error("f.yaml", []byte("a: x\n"), err).Error(); !strings.HasPrefix(got, "f.yaml: ") || !strings.Contains(got, "line 1: cannot unmarshal") {
		t.Errorf("got %s", got)
	}
}
