// Package suggest finds the word a misspelling meant.
package suggest

import "strings"

// Closest returns the option closest to word, ignoring case, when it is fewer than maxDist
// edits away; "" when none is.
func Closest(word string, options []string, maxDist int) string {
	best, bestDist := "", maxDist
	for _, o := range options {
		if d := Distance(strings.ToLower(word), strings.ToLower(o)); d < bestDist {
			best, bestDist = o, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
