// Package password hashes and checks account passwords with bcrypt. It owns
// the choice of algorithm and cost; nothing else in Herald sees a password
// after the HTTP handler passes it here, and only hashes are stored.
package password
