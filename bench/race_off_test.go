//go:build !race

package bench

// raceDetector is set when the tests run with -race.
const raceDetector = false
