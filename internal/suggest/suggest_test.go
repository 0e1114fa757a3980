package suggest

import "testing"

func TestClosest(t *testing.T) {
	options := []string{"iot:Publish", "iot:Subscribe", "token"}
	for word, want := range map[string]string{"iot:Publsh": "iot:Publish", "tokn": "token", "TOKEN": "token", "iot:Conect": "", "": ""} {
		if got := Closest(word, options, 3); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
	if d := Distance("gerät", "gerat"); d != 1 {
		t.Errorf("Distance counts bytes: %d", d)
	}
}
