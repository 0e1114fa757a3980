package broker

import (
	"fmt"
	"strings"
)

// AWS IoT Core message broker limits.
const (
	MaxPacketSize       = 128 * 1024 // AWS: 128 KB maximum message size
	MaxClientIDLen      = 128        // AWS: client ID at most 128 bytes
	MaxTopicLen         = 256        // AWS: topic at most 256 bytes
	MaxTopicSlashes     = 7          // AWS: at most 7 forward slashes in a topic or filter
	MinKeepAlive        = 30         // AWS: keep-alive below 30 s is raised to 30
	MaxKeepAlive        = 1200       // AWS: keep-alive 0 or above 1200 s is set to 1200
	MaxQoS              = 1          // AWS: QoS 0 and 1 only
	TopicAliasMax       = 8          // AWS: Topic Alias Maximum 8
	MaxSubscribeFilters = 8          // AWS: at most 8 topic filters in one SUBSCRIBE
	MaxSubscriptions    = 50         // AWS: at most 50 subscriptions per connection
)

// ClampKeepAlive applies AWS's keep-alive range.
func ClampKeepAlive(s uint16) uint16 {
	switch {
	case s == 0 || s > MaxKeepAlive:
		return MaxKeepAlive // AWS: 0 or > 1200 → 1200
	case s < MinKeepAlive:
		return MinKeepAlive // AWS: < 30 → 30
	}
	return s
}

// CheckTopic applies AWS's rules to a topic or filter: size, depth, and the reserved '$'
// namespace. A shared subscription's $share/GROUP/ prefix is not part of the filter.
func CheckTopic(t string) error {
	if rest, ok := cutShare(t); ok {
		t = rest
	}
	// AWS: topics beginning with '$' are reserved; of those, clients use only $aws/... topics.
	if strings.HasPrefix(t, "$") && !hasPrefixFold(t, "$aws/") {
		return fmt.Errorf("topic %q is in the reserved '$' namespace; AWS IoT allows only $aws/... topics there", truncate(t))
	}
	return checkSize(t)
}

// cutShare strips $share/GROUP/ from a shared subscription filter.
func cutShare(f string) (string, bool) {
	if !hasPrefixFold(f, "$share/") {
		return f, false
	}
	rest := f[len("$share/"):]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return f, false
	}
	return rest[i+1:], true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// checkSize applies the length and depth limits.
func checkSize(t string) error {
	if len(t) > MaxTopicLen {
		return fmt.Errorf("topic is %d bytes; AWS IoT allows at most %d", len(t), MaxTopicLen)
	}
	rest := t
	// AWS: the first 3 slashes of a Basic Ingest topic ($aws/rules/RULE/) do not count.
	if len(t) > len("$aws/rules/") && hasPrefixFold(t, "$aws/rules/") {
		after := t[len("$aws/rules/"):]
		if i := strings.Index(after, "/"); i >= 0 {
			rest = after[i+1:]
		}
	}
	if n := strings.Count(rest, "/"); n > MaxTopicSlashes {
		return fmt.Errorf("topic has %d '/' separators; AWS IoT allows at most %d", n, MaxTopicSlashes)
	}
	return nil
}
