package scenarios_test

import (
	"testing"

	"github.com/iotemu/iotemu/scenarios"
)

// TestMyCases is the package documentation's example: a scenario file run from a Go test.
func TestMyCases(t *testing.T) { scenarios.Run(t, "library/no-sni.yaml") }
