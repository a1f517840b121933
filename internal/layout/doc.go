// Package layout keeps the package floors honest: its test reads the floor
// picture in ARCHITECTURE.md and fails when any import points up a floor or
// a package stands on no floor. It holds no code the binary uses.
package layout
