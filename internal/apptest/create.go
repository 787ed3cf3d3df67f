package apptest

import "github.com/google/uuid"

// Create posts body to path as the holder of token (a signed-up Account's,
// say), fails the test unless the answer is 201, and returns the new
// resource's id.
func (e *Env) Create(token, path string, body any) uuid.UUID {
	e.T.Helper()
	res := e.Do("POST", path, body, Bearer(token)...)
	if res.Status != 201 {
		e.T.Fatalf("POST %s: %d %s", path, res.Status, res.Body)
	}
	var out struct {
		ID uuid.UUID `json:"id"`
	}
	res.Decode(e.T, &out)
	if out.ID == uuid.Nil {
		e.T.Fatalf("POST %s answered no id: %s", path, res.Body)
	}
	return out.ID
}
