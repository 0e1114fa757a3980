//go:build !race

package emulator_test

// raceEnabled is true when the tests run under the race detector, which makes heavy tests
// several times slower.
const raceEnabled = false
