package http_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldmail/herald/internal/apptest"
)

// resourceEndpoints are the create and update endpoints the fuzzer feeds;
// $CLIENT, $MESSAGE and $MAILING in a path or body stand for real resources
// of the caller, so valid bodies reach the store too.
var resourceEndpoints = []struct{ method, path string }{
	{"POST", "/api/v1/clients"},
	{"PUT", "/api/v1/clients/$CLIENT"},
	{"PATCH", "/api/v1/clients/$CLIENT"},
	{"POST", "/api/v1/messages"},
	{"PUT", "/api/v1/messages/$MESSAGE"},
	{"PATCH", "/api/v1/messages/$MESSAGE"},
	{"POST", "/api/v1/mailings"},
	{"PUT", "/api/v1/mailings/$MAILING"},
	{"PATCH", "/api/v1/mailings/$MAILING"},
	{"GET", "/api/v1/clients?q="},
}

// FuzzResourcePayloads sends arbitrary bodies to every create and update
// endpoint of the running application (real PostgreSQL and Redis) and
// demands an answer that is never a 500 (a panic is recovered into a 500,
// so it fails too) and, for every error, a problem document. The seed
// corpus lives in testdata/fuzz/FuzzResourcePayloads; `go test` runs it,
// `go test -fuzz FuzzResourcePayloads ./http/` explores.
func FuzzResourcePayloads(f *testing.F) {
	seeds := []string{
		`{"email":"a@example.org","full_name":"A","comment":"c"}`,
		`{"email":"A@EXAMPLE.org","full_name":"` + strings.Repeat("x", 300) + `"}`,
		`{"email":"a\u0000@example.org","full_name":"\u0000"}`,
		`{"subject":"Hi","body":"Hello"}`,
		`{"subject":"a\r\nBcc: x@y.z","body":" "}`,
		`{"message_id":"$MESSAGE","client_ids":["$CLIENT"],"start_at":"2030-01-01T09:00:00Z","end_at":"2030-02-01T09:00:00Z","periodicity":"daily","timezone":"Europe/Paris"}`,
		`{"message_id":"$MESSAGE","client_ids":["$CLIENT","$CLIENT"],"start_at":"2030-01-01T09:00:00+14:00","end_at":"2029-01-01T09:00:00Z","periodicity":"yearly","timezone":"Local"}`,
		`{"message_id":"nope","client_ids":[1,2],"start_at":12,"end_at":null}`,
		`{"client_ids":null,"is_active":"yes"}`,
		`{"timezone":"../../etc/passwd"}`,
		`{"start_at":"9999-12-31T23:59:59.999999999Z","end_at":"10000-01-01T00:00:00Z"}`,
		`[]`, `null`, `""`, `{`, `{"email":1}{}`, `{"unknown":true}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i%len(resourceEndpoints)), s)
		f.Add(uint8((i+3)%len(resourceEndpoints)), s)
	}
	env := apptest.Start(f, apptest.WithRoles("projector"))
	u := newUser(f, env)
	client, _ := create(f, env, u, "/api/v1/clients", map[string]any{"email": "fuzz@example.org", "full_name": "Fuzz"})
	message, _ := create(f, env, u, "/api/v1/messages", map[string]any{"subject": "S", "body": "B"})
	mailing, _ := create(f, env, u, "/api/v1/mailings", mailingBody(message, client))
	// A request that hangs is a failure of its input, not a stalled fuzzer.
	hc := *env.HTTP
	hc.Timeout = 10 * time.Second
	fill := strings.NewReplacer("$CLIENT", client.String(), "$MESSAGE", message.String(), "$MAILING", mailing.String())

	f.Fuzz(func(t *testing.T, which uint8, body string) {
		env := &apptest.Env{T: t, App: env.App, URL: env.URL, Sink: env.Sink, Pool: env.Pool, HTTP: &hc} // fail this input, not the target
		ep := resourceEndpoints[int(which)%len(resourceEndpoints)]
		path := fill.Replace(ep.path)
		var res *apptest.Response
		if ep.method == "GET" {
			res = env.Do("GET", path+urlQueryEscape(body), nil, u.auth()...)
		} else {
			res = env.Do(ep.method, path, fill.Replace(body), u.auth()...)
		}
		if res.Status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", ep.method, path, body, res.Status, res.Body)
		}
		if res.Status >= 400 {
			var p struct {
				Code string `json:"code"`
			}
			if json.Unmarshal(res.Body, &p) != nil || p.Code == "" || res.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %s with %q: %d without a problem document: %s", ep.method, path, body, res.Status, res.Body)
			}
		}
	})
}

func urlQueryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}
