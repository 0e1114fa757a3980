// Package scenarios replays AWS IoT Core custom authentication troubleshooting cases offline.
//
// A scenario file (YAML, described by the JSON Schema in schema.json) sets up an emulated
// account (authorizers, their Lambda functions, token signing keys), names the devices, and
// lists steps: connect, publish, subscribe, advance the clock, change the setup, and expect
// what the device sees, how often the function ran, the AWS log events and the decision
// trace. A file may hold variants, typically a broken one and the fixed one.
//
// Each scenario runs against its own in-process emulator on a virtual clock, with real MQTT
// 3.1.1 and 5, WebSocket and HTTPS clients over real sockets. The embedded library
// (Library) covers every case of AWS's troubleshooting guide and the cases users report.
//
// From a Go test:
//
//	func TestMyCases(t *testing.T) { scenarios.Run(t, "library/no-sni.yaml") }
//
// From the command line: iotemu scenario run [FILES|DIRS] (see README.md beside this file).
package scenarios
