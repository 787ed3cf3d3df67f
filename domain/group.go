package domain

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/google/uuid"
)

// GroupStreamType is the stream type of group aggregates.
const GroupStreamType = "group"

// groupNamespace makes group ids deterministic: the id of a group is derived
// from its name, so `herald create-groups` run twice (or by two processes at
// once) addresses the same stream and the second run changes nothing.
var groupNamespace = uuid.MustParse("5b0c2a0e-6f1d-4a7e-9a53-0d1c6f3e9b21")

// GroupID is the stream id of the group called name.
func GroupID(name string) uuid.UUID {
	return uuid.NewSHA1(groupNamespace, []byte(name))
}

// GroupCreated starts a group's stream.
type GroupCreated struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

// GroupPermissionsChanged replaces a group's permissions.
type GroupPermissionsChanged struct {
	Permissions []string `json:"permissions"`
}

func (GroupCreated) EventType() string            { return "group.created" }
func (GroupPermissionsChanged) EventType() string { return "group.permissions_changed" }

func init() {
	RegisterEvents(GroupCreated{}, GroupPermissionsChanged{})
}

var groupNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Group is a named set of permissions that users are members of.
type Group struct {
	Root
	id          uuid.UUID
	name        string
	permissions []string
}

// NewGroup creates the group called name holding perms.
func NewGroup(name string, perms []string) (*Group, error) {
	if !groupNameRE.MatchString(name) {
		return nil, Invalid("name", "must be 1-63 lower-case letters, digits, '_' or '-', starting with a letter")
	}
	if err := checkPermissions(perms); err != nil {
		return nil, err
	}
	g := &Group{}
	g.record(g.apply, GroupCreated{Name: name, Permissions: normalizeSet(perms)})
	g.id = GroupID(name)
	return g, nil
}

// LoadGroup rebuilds a group from its history (nil history: no group).
func LoadGroup(history []Event) *Group {
	g := &Group{}
	g.replay(g.apply, history)
	return g
}

// Exists reports whether the group's stream has been created.
func (g *Group) Exists() bool { return g.name != "" }

// ID is the group's stream id.
func (g *Group) ID() uuid.UUID { return g.id }

// Name is the group's name.
func (g *Group) Name() string { return g.name }

// Permissions are the group's permissions, sorted.
func (g *Group) Permissions() []string { return slices.Clone(g.permissions) }

// SetPermissions replaces the group's permissions; the same set records nothing.
func (g *Group) SetPermissions(perms []string) error {
	if !g.Exists() {
		return NotFound("group")
	}
	if err := checkPermissions(perms); err != nil {
		return err
	}
	perms = normalizeSet(perms)
	if slices.Equal(perms, g.permissions) {
		return nil
	}
	g.record(g.apply, GroupPermissionsChanged{Permissions: perms})
	return nil
}

func (g *Group) apply(e Event) {
	switch e := e.(type) {
	case GroupCreated:
		g.name = e.Name
		g.id = GroupID(e.Name)
		g.permissions = normalizeSet(e.Permissions)
	case GroupPermissionsChanged:
		g.permissions = normalizeSet(e.Permissions)
	}
}

func checkPermissions(perms []string) error {
	for _, p := range perms {
		if !IsPermission(p) {
			return Invalid("permissions", fmt.Sprintf("unknown permission %q", p))
		}
	}
	return nil
}
