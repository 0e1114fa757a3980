// Package bench holds iotemu's performance measurements; it has no code outside its tests.
//
// Three servers are compared: the emulator as `iotemu serve` runs it (custom authentication
// with an in-process authorizer, token signing enabled, policies checked, the text log on),
// bare mochi-mqtt with the same kind of certificate, the emulator's queue of pending writes and
// an allow-all hook, and Debian's mosquitto with TLS and TCP_NODELAY (where it is installed).
// One hand-written MQTT 3.1.1 client reaches all three with the same TLS configuration (SNI,
// ALPN mqtt, no session cache: every connect is a full handshake); the load generator is this
// test binary in a child process.
//
// BenchmarkConnect measures connects per second with the clients in this process;
// BenchmarkConnectServerCPU measures each server's CPU time per connect with the clients in a
// child process. TestMessagePath (IOTEMU_BENCH_MESSAGES=1) measures delivered messages per
// second, server CPU per delivery and publish-to-receive latency for QoS 0 and 1, ten
// publisher-subscriber pairs and one publisher to 50 subscribers, at the highest rate and at a
// fixed rate, rounds interleaved. TestMemoryPerConnection (IOTEMU_BENCH_MEMORY=1) measures the
// memory held by each idle authenticated connection: Go heap and stacks, and RSS;
// IOTEMU_BENCH_PROFILE=DIR also writes each server's heap profile and goroutine stacks there.
//
// scripts/bench runs them all and prints the comparison.
package bench
