package scenarios

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// resolve returns the node a document or alias node stands for.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode && n.Alias != nil:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// pairs returns a mapping's entries in order, with YAML merge keys (<<: *anchor, or a list of
// anchors) expanded where they stand: an explicit key wins over a merged one, and an earlier
// merged mapping over a later one, as YAML's merge key type says.
func pairs(m *yaml.Node) []pair {
	m = resolve(m)
	explicit := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !isMerge(m.Content[i]) {
			explicit[m.Content[i].Value] = true
		}
	}
	seen := map[string]bool{}
	var out []pair
	add := func(p pair, fromMerge bool) {
		if seen[p.key.Value] || (fromMerge && explicit[p.key.Value]) {
			return
		}
		seen[p.key.Value] = true
		out = append(out, p)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !isMerge(k) {
			add(pair{k, v}, false)
			continue
		}
		sources := []*yaml.Node{v}
		if rv := resolve(v); rv.Kind == yaml.SequenceNode {
			sources = rv.Content
		}
		for _, src := range sources {
			if src = resolve(src); src.Kind == yaml.MappingNode {
				for _, p := range pairs(src) {
					add(p, true)
				}
			}
		}
	}
	return out
}

func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

// jsonType names the JSON type a YAML node decodes to.
func jsonType(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	}
	switch n.ShortTag() {
	case "!!int":
		return "integer"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	case "!!null":
		return "null"
	}
	return "string" // !!str, !!timestamp, !!binary
}

// scalarValue is a scalar node's value as JSON would carry it: nil, bool, float64 or string.
func scalarValue(n *yaml.Node) any {
	n = resolve(n)
	switch jsonType(n) {
	case "null":
		return nil
	case "boolean":
		var b bool
		_ = n.Decode(&b)
		return b
	case "integer":
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			var f float64
			_ = n.Decode(&f)
			return f
		}
		return float64(i)
	case "number":
		var f float64
		_ = n.Decode(&f)
		return f
	}
	return n.Value
}
