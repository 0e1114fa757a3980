package customauth

import "sync"

// memo remembers the results of a deterministic computation (a signature check, the
// validation of an answer) for at most max keys, so that the many devices of a fleet that
// connect with the same credentials or get the same answer pay for it once. A full memo
// starts over. It is safe for concurrent use; the zero value with max set is ready.
type memo[K comparable, V any] struct {
	max int
	mu  sync.Mutex
	m   map[K]V
}

// get returns the value remembered for k.
func (c *memo[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

// put remembers v for k. The key must own its memory: a string cut from a larger one (a
// packet's username) would keep the whole of it alive.
func (c *memo[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[K]V)
	}
	c.m[k] = v
}
