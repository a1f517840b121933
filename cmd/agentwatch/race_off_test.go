//go:build !race

package main

// raceEnabled: the race detector slows the child process several times;
// the crash test feeds it less.
const raceEnabled = false
