package compose

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/heraldmail/herald/domain"
)

// The names of the three templates of a message are the names of their
// fields in the API and forms, so an error names the place as users know it.
const (
	partSubject = "subject"
	partText    = "body"
	partHTML    = "body_html"
)

// Prepare is what a message's fields become when written: the HTML body
// sanitized (SanitizeHTML) and every template checked (Check). The error
// is a *domain.ValidationError naming the fields that do not compile.
func Prepare(f domain.MessageFields) (domain.MessageFields, error) {
	f.BodyHTML = SanitizeHTML(f.BodyHTML)
	return f, Check(f)
}

// Check reports the templates of f that would fail for some client: a
// syntax error, an unknown field or function, or an HTML body whose
// escaping cannot be decided. The error is a *domain.ValidationError with
// one entry per failing field, its message starting with the line (and
// column when the parser knows it).
func Check(f domain.MessageFields) error {
	var v domain.ValidationError
	add := func(field string, err error) {
		if err != nil {
			v.Fields = append(v.Fields, domain.FieldError{Field: field, Message: describe(err)})
		}
	}
	_, err := parseText(partSubject, f.Subject)
	add(partSubject, err)
	_, err = parseText(partText, f.Body)
	add(partText, err)
	_, err = parseHTML(f.BodyHTML)
	add(partHTML, err)
	if len(v.Fields) > 0 {
		return &v
	}
	return nil
}

// parseText parses and checks a subject or text body.
func parseText(name, src string) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcs).Parse(src)
	if err != nil {
		return nil, err
	}
	return t, checkParsed(t.Tree, len(t.Templates()), t.Execute)
}

// parseHTML parses and checks an HTML body; executing it once also makes
// html/template decide its escaping, which is where context errors show.
func parseHTML(src string) (*htmltemplate.Template, error) {
	t, err := htmltemplate.New(partHTML).Funcs(funcs).Parse(src)
	if err != nil {
		return nil, err
	}
	return t, checkParsed(t.Tree, len(t.Templates()), t.Execute)
}

// checkParsed vets a parsed template and executes it on every sample
// client, so that what would fail at send time fails now.
func checkParsed(tree *parse.Tree, templates int, execute func(io.Writer, any) error) error {
	if err := vet(tree, templates); err != nil {
		return err
	}
	for _, s := range samples {
		if err := execute(io.Discard, s); err != nil {
			return err
		}
	}
	return nil
}

// vet walks a parsed template for what the language of messages leaves
// out; templates counts the templates the source defined.
func vet(tree *parse.Tree, templates int) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	if templates > 1 {
		return errors.New("define and block are not supported")
	}
	var found error
	inWith := 0 // inside {{with}}, dot is the field that was tested
	fail := func(n parse.Node, msg string) {
		if found == nil {
			loc, _ := tree.ErrorContext(n)
			found = fmt.Errorf("template: %s: %s", loc, msg)
		}
	}
	var node func(parse.Node)
	var pipe func(*parse.PipeNode)
	arg := func(a parse.Node) {
		switch a := a.(type) {
		case *parse.FieldNode:
			if inWith > 0 {
				fail(a, "inside {{with}} the field is {{.}}: use {{$.FullName}} for another")
				return
			}
			checkIdent(a, a.Ident, fail)
		case *parse.VariableNode:
			if len(a.Ident) > 1 {
				checkIdent(a, a.Ident[1:], fail)
			}
		case *parse.IdentifierNode:
			if !allowedFuncs[a.Ident] {
				fail(a, fmt.Sprintf("function %q is not supported", a.Ident))
			}
		case *parse.PipeNode:
			pipe(a)
		case *parse.DotNode:
			if inWith == 0 {
				fail(a, "{{.}} is not a field: use one such as {{.FullName}}")
			}
		case *parse.ChainNode:
			fail(a, "a field has no fields of its own")
		}
	}
	pipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				arg(a)
			}
		}
	}
	node = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				node(c)
			}
		case *parse.ActionNode:
			pipe(n.Pipe)
		case *parse.IfNode:
			pipe(n.Pipe)
			node(n.List)
			node(n.ElseList)
		case *parse.WithNode:
			pipe(n.Pipe)
			inWith++
			node(n.List)
			inWith--
			node(n.ElseList)
		case *parse.RangeNode:
			fail(n, "range is not supported")
		case *parse.TemplateNode:
			fail(n, "template is not supported")
		}
	}
	node(tree.Root)
	return found
}

func checkIdent(n parse.Node, ident []string, fail func(parse.Node, string)) {
	switch {
	case !fieldNames[ident[0]]:
		fail(n, fmt.Sprintf("unknown field .%s (the fields are .FullName, .Email, .Comment and .UnsubscribeURL)", ident[0]))
	case len(ident) > 1:
		fail(n, fmt.Sprintf("a field has no fields of its own: .%s", strings.Join(ident, ".")))
	}
}

// location matches the place the template packages put first in their
// errors: "template: body:3:14: ..." or "html/template:body_html:2: ...".
var location = regexp.MustCompile(`^(?:html/)?template: ?[a-z_]+:(\d+):(?:(\d+):)? ?`)

// unplaced matches the start of an error the template packages give no
// line for ("html/template:body_html: ends in a non-text context: ...").
var unplaced = regexp.MustCompile(`^(?:html/)?template: ?[a-z_]+: ?`)

// describe turns a template error into "line 3, column 14: ...", the
// template's name being the field the error is filed under; one without
// a place starts with "template: ". Either way the message starts with
// "line " or "template: ", which is how a page tells it from the domain's.
func describe(err error) string {
	msg := err.Error()
	m := location.FindStringSubmatchIndex(msg)
	if m == nil {
		return "template: " + unplaced.ReplaceAllString(msg, "")
	}
	line, rest := msg[m[2]:m[3]], msg[m[1]:]
	if m[4] >= 0 {
		return fmt.Sprintf("line %s, column %s: %s", line, msg[m[4]:m[5]], rest)
	}
	return fmt.Sprintf("line %s: %s", line, rest)
}
