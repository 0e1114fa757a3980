package policy

import "testing"

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:iot:us-east-1:123456789012:authorizer/*", "arn:aws:iot:us-east-1:123456789012:authorizer/MyAuth", true},
		{"arn:aws:iot:*:123456789012:authorizer/My?uth", "arn:aws:iot:eu-west-1:123456789012:authorizer/MyAuth", true},
		{"arn:aws:iot:us-east-1:123456789012:authorizer/Other", "arn:aws:iot:us-east-1:123456789012:authorizer/MyAuth", false},
		{"arn:aws:iot:us-east-1:123456789012:authorizer/MyAuth", "arn:aws:iot:us-east-1:123456789012:authorizer/MyAuth", true},
		{"ARN:*", "arn:x", false},
		{"", "", true},
	} {
		if got := Like(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Like(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
