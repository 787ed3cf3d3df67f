// Package archtest holds the tests of the code's shape: which Herald
// packages each package imports, as CONTRIBUTING.md lists them, and the
// rules that keep the domain pure and the HTTP door thin. It has no code of
// its own.
package archtest
