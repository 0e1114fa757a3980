package scenarios

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"
)

// TestLibrary runs the whole embedded library: every scenario passes.
func TestLibrary(t *testing.T) {
	t.Parallel()
	scs, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	results := (&Runner{}).Run(context.Background(), scs, func(r *Result) {
		var b strings.Builder
		_ = WriteReport(&b, r)
		if !r.Passed() {
			t.Error(b.String())
		}
	})
	t.Log(Summary(results, time.Since(start)))
}

// TestLibraryTeaches checks the library's own rules: at least 25 cases, each file describes
// the symptom as seen on AWS with the log line, its cause and fix, and has a broken and a
// fixed variant.
func TestLibraryTeaches(t *testing.T) {
	t.Parallel()
	scs, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	variants := map[string][]string{}
	for _, sc := range scs {
		variants[sc.File] = append(variants[sc.File], path.Base(sc.Name))
		for _, part := range []string{"On AWS:", "Cause:", "Fix:"} {
			if !strings.Contains(sc.Description, part) {
				t.Errorf("%s: the description has no %q", sc.File, part)
			}
		}
		if sc.VariantDescription == "" {
			t.Errorf("%s: variant %s has no description", sc.File, sc.Name)
		}
	}
	if len(variants) < 25 {
		t.Errorf("the library has %d cases, want at least 25", len(variants))
	}
	for file, vs := range variants {
		if len(vs) < 2 || vs[0] != "broken" || vs[1] != "fixed" {
			t.Errorf("%s: variants %v, want broken and fixed first", file, vs)
		}
	}
}
