package scenarios

import "embed"

// library holds the shipped scenarios: every case of AWS's custom authentication
// troubleshooting guide and the cases users report, each broken and fixed.
//
//go:embed library
var library embed.FS

// Library loads the embedded library.
func Library() ([]*Scenario, error) { return LoadFS(library, "library") }
