package scenarios

import (
	"bytes"
	_ "embed"
)

// scenarioTemplate is the commented starting point `iotemu scenario new` prints.
//
//go:embed template.yaml
var scenarioTemplate []byte

// Template returns a commented scenario file to start from: every kind of setup, client and
// step, and a broken and a fixed variant that pass as they are.
func Template() []byte { return bytes.Clone(scenarioTemplate) }
