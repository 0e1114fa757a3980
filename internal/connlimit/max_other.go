//go:build !unix

package connlimit

// DefaultMax is the pending bound of a listener where the descriptor limit cannot be read.
func DefaultMax() int { return 128 }
