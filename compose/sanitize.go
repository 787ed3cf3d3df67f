package compose

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// policy is what an HTML body may hold: bluemonday's policy for user
// content (links, images, lists, tables, basic formatting; no script,
// style, form or event attribute), without rel="nofollow", which means
// nothing in a mail.
var policy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(false)
	return p
}()

// SanitizeHTML is src with what the policy forbids removed and its
// template actions kept. The actions are set aside behind placeholders the
// sanitizer keeps (letters and digits, a valid relative URL), so an action
// in text or in an allowed attribute such as href="{{.UnsubscribeURL}}"
// survives; one where no HTML may stand (in a tag name, in an attribute
// the policy drops) goes with it, which the check that follows reports
// when it unbalances an {{if}}.
func SanitizeHTML(src string) string {
	if strings.TrimSpace(src) == "" {
		return ""
	}
	prefix := "zqx"
	for strings.Contains(src, prefix) {
		prefix += "x"
	}
	var actions []string
	var b strings.Builder
	rest := src
	for {
		start := strings.Index(rest, "{{")
		if start < 0 {
			break
		}
		end := actionEnd(rest[start:])
		if end < 0 {
			break
		}
		b.WriteString(rest[:start])
		b.WriteString(prefix + strconv.Itoa(len(actions)) + "q")
		actions = append(actions, rest[start:start+end])
		rest = rest[start+end:]
	}
	b.WriteString(rest)
	clean := policy.Sanitize(b.String())
	if len(actions) == 0 {
		return clean
	}
	placeholder := regexp.MustCompile(regexp.QuoteMeta(prefix) + `(\d+)q`)
	return placeholder.ReplaceAllStringFunc(clean, func(p string) string {
		i, err := strconv.Atoi(p[len(prefix) : len(p)-1])
		if err != nil || i >= len(actions) {
			return p
		}
		return actions[i]
	})
}

// actionEnd is the length of the action s starts with ("{{" ... "}}"),
// skipping "}}" inside quoted strings, raw strings and comments; -1 when
// it does not end.
func actionEnd(s string) int {
	for i := 2; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			q := s[i]
			for i++; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				return -1
			}
			i += j + 1
		case '/':
			if strings.HasPrefix(s[i:], "/*") {
				j := strings.Index(s[i+2:], "*/")
				if j < 0 {
					return -1
				}
				i += j + 3
			}
		case '}':
			if strings.HasPrefix(s[i:], "}}") {
				return i + 2
			}
		}
	}
	return -1
}

// SafeHTML is rendered HTML sanitized once more with the same policy, for
// a page of our own origin to show it inline: what was sanitized when
// written comes out unchanged, and a body stored by any other path cannot
// bring a script into the page.
func SafeHTML(rendered string) string { return policy.Sanitize(rendered) }
