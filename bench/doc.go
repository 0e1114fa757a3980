// Package bench holds iotemu's performance measurements; it has no code outside its tests.
//
// BenchmarkConnect measures MQTT connects per second over TLS through the emulator (custom
// authentication with an in-process authorizer, token signing enabled, a policy checked for
// iot:Connect) and, in the same run, through bare mochi-mqtt with the same kind of certificate
// and an allow-all hook. Both are reached by the same hand-written MQTT 3.1.1 client with the
// same TLS configuration (SNI, ALPN mqtt, no session cache: every connect is a full handshake,
// while both servers issue Go's default TLS 1.3 session tickets). BenchmarkConnectServerCPU
// measures each server's CPU time per connect with the clients in a child process.
// TestMemoryPerConnection measures the server memory held by each idle authenticated
// connection; it runs only when IOTEMU_BENCH_MEMORY=1.
//
// scripts/bench runs them all and prints the comparison.
package bench
