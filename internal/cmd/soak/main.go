// Command soak puts a running emulator under the loads that once broke it and prints what it
// measured. It is not a test: the figures depend on the machine. scripts/soak runs it.
//
// Each phase starts its own emulator in a child process (this program, re-run with -serve) on
// loopback ports, so that the emulator's descriptor limit can be lowered without limiting the
// load generator:
//
//   - stall: a subscriber that stops reading beside 10 publishers at QoS 1 to its topic; the
//     longest wait of a publisher for its PUBACK.
//   - flood: 1,100 idle HTTP keep-alive sockets against an emulator limited to 1,024
//     descriptors; whether a fresh device connects and /health answers meanwhile.
//   - qos1: 2,000 clients publishing at QoS 1 to their own topics for 60 s; messages sent,
//     acknowledged, received and lost.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	serve := flag.Bool("serve", false, "run the emulator (the child process of each phase)")
	nofile := flag.Uint64("nofile", 0, "with -serve: lower the descriptor limit to this many")
	phases := flag.String("phases", "stall,flood,qos1", "phases to run, comma-separated")
	stallFor := flag.Duration("stall-duration", 20*time.Second, "how long the publishers publish beside the stuck subscriber")
	floodFor := flag.Duration("flood-duration", 30*time.Second, "how long the flood is held while fresh devices and /health are tried")
	floodConns := flag.Int("flood-conns", 1100, "idle HTTP sockets in the flood")
	floodReopen := flag.Duration("flood-reopen", 0, "reopen each flood socket this long after it closes (0: open each once)")
	floodLimit := flag.Uint64("flood-nofile", 1024, "the emulator's descriptor limit during the flood")
	clients := flag.Int("clients", 2000, "QoS 1 clients")
	qosFor := flag.Duration("qos1-duration", 60*time.Second, "how long the QoS 1 clients publish")
	rate := flag.Duration("qos1-interval", time.Second, "how often each QoS 1 client publishes")
	flag.Parse()

	if *serve {
		if err := runServer(*nofile); err != nil {
			fmt.Fprintln(os.Stderr, "soak server:", err)
			os.Exit(1)
		}
		return
	}
	failed := false
	for _, p := range strings.FieldsFunc(*phases, func(r rune) bool { return r == ',' }) {
		var err error
		switch p {
		case "stall":
			err = stall(*stallFor)
		case "flood":
			err = flood(*floodFor, *floodConns, *floodLimit, *floodReopen)
		case "qos1":
			err = qos1(*clients, *qosFor, *rate)
		default:
			err = fmt.Errorf("unknown phase %q", p)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "soak: %s: %v\n", p, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
