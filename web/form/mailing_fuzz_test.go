package form_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/heraldmail/herald/domain"
	"github.com/heraldmail/herald/web/form"
)

// FuzzNewMailing decodes arbitrary form bodies: it never panics, and the
// choice of clients it reads is one a mailing can hold: no client both
// picked and unpicked, every kept search a search the client list takes
// (as Search leaves it), none twice, at most twenty.
func FuzzNewMailing(f *testing.F) {
	for _, seed := range []string{
		"message_id=x&start_at=2030-01-05T09:30&periodicity=weekly&timezone=Europe%2FBerlin",
		"client_id=0190a0b0-0000-7000-8000-000000000001&shown=0190a0b0-0000-7000-8000-000000000001&shown=0190a0b0-0000-7000-8000-000000000002",
		"listed_q=ann&all_matching=1&all_q=ann&all_q=+ann+&except=0190a0b0-0000-7000-8000-000000000002&keep=1",
		"q=%00&listed_q=%E2%80%AE&all_q=bob&version=-1&more=not-a-uuid",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		m := form.NewMailing(v)
		r := m.Recipients
		for _, id := range r.IDs {
			if slices.Contains(r.Except, id) {
				t.Fatalf("%s both picked and unpicked", id)
			}
		}
		if len(r.Matching) > 20 {
			t.Fatalf("%d searches kept", len(r.Matching))
		}
		for i, q := range r.Matching {
			if form.Search(q) != q || slices.Contains(r.Matching[i+1:], q) {
				t.Fatalf("searches %q", r.Matching)
			}
			if domain.CheckText(q) != "" {
				t.Fatalf("search %q is no text a search may hold", q)
			}
		}
		if s := m.Search; form.Search(s) != s {
			t.Fatalf("the search %q is not as Search leaves it", s)
		}
	})
}
