package insights

import (
	"errors"
	"testing"
)

// FuzzParse checks that no query makes the parser or a run over the fixture panic, and that
// every refusal is a SyntaxError pointing inside the query.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`display clientId, eventType, status, @timestamp | sort @timestamp desc | filter status = "Failure"`,
		`stats count(*) as n, avg(@duration) by bin(5m), @log | sort n desc | limit 5`,
		`parse @message "user=* ip=*" as user, ip | dedup user`,
		`parse @message /(?<rid>[0-9a-f-]+)/ | filter rid like /^8/ and not isempty(rid)`,
		`filter x in ["a", 'b', 3] or -y % 2 = 1 | fields concat(a, "b") as c`,
		"fields `a.b` # comment\n| filter a =~ /x\\/y/",
	} {
		f.Add(s)
	}
	events := fixture()
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): %v is not a SyntaxError", src, err)
			}
			if se.Offset < 0 || se.Offset > len(src) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("Parse(%q): position out of the query: %+v", src, se)
			}
			return
		}
		q.Run(events)
	})
}
