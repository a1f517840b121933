// Package realengine runs the shipped scenarios and the demo fleet through
// the real detect engine. It holds tests only, kept apart from package eval
// so that eval's own tests never depend on the engine compiling; set
// AGENTWATCH_EVAL=1 to run them (they take tens of seconds).
package realengine
