package saga

import "testing"

func TestHTMLWithFooterGoesInsideTheLastBodyElement(t *testing.T) {
	t.Parallel()
	const url = "https://herald.test/unsubscribe/t?a=1&b=2"
	const footer = `<hr><p>To stop receiving these emails, <a href="https://herald.test/unsubscribe/t?a=1&amp;b=2">unsubscribe</a>.</p>`
	for _, c := range []struct{ body, want string }{
		{"<html><body><p>Hi</p></body></html>", "<html><body><p>Hi</p>" + footer + "</body></html>"},
		{"<HTML><BODY><p>Hi</p></BODY></HTML>", "<HTML><BODY><p>Hi</p>" + footer + "</BODY></HTML>"},
		{"<body>a</Body> <p>x</p></bOdY>", "<body>a</Body> <p>x</p>" + footer + "</bOdY>"},
		{"<p>no body element</p>", "<p>no body element</p>" + footer},
		{"<p>ends with a tag opening</p></bod", "<p>ends with a tag opening</p></bod" + footer},
		{"", footer},
	} {
		if got := HTMLWithFooter(c.body, url); got != c.want {
			t.Errorf("HTMLWithFooter(%q)\n got %q\nwant %q", c.body, got, c.want)
		}
	}
}
