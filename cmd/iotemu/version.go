package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// version prints the module version and the commit the binary was built from, as the Go
// toolchain recorded them.
func version(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("version: the binary carries no build information")
	}
	_, err := fmt.Fprintln(stdout, versionLine(info))
	return err
}

// versionLine is "iotemu VERSION (commit REV[, modified], TIME) GOVERSION". A binary built from
// a checkout has version (devel) and the commit; one installed with go install has the module
// version.
func versionLine(info *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	line := "iotemu " + info.Main.Version
	if rev := settings["vcs.revision"]; rev != "" {
		line += " (commit " + rev
		if settings["vcs.modified"] == "true" {
			line += ", modified"
		}
		if t := settings["vcs.time"]; t != "" {
			line += ", " + t
		}
		line += ")"
	}
	return line + " " + info.GoVersion
}
