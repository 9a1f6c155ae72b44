package search

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SyntaxError is a query ImageKit would refuse: what is wrong and the byte offset
// where it was found.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at position %d: %s", e.Pos, e.Msg) }

// maxDepth bounds nesting so that a hostile query cannot exhaust the stack.
const maxDepth = 64

// Query is a parsed searchQuery.
type Query struct {
	root     node
	versions bool
}

// SelectsVersions reports whether the query names type "file-version" with = or
// IN: ImageKit lists file versions only when asked for them.
func (q *Query) SelectsVersions() bool { return q.versions }

// Match reports whether it satisfies the query; now anchors relative dates.
func (q *Query) Match(it *Item, now time.Time) bool { return q.root.match(it, now) }

type node interface {
	match(it *Item, now time.Time) bool
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }

func (n andNode) match(it *Item, now time.Time) bool { return n.l.match(it, now) && n.r.match(it, now) }
func (n orNode) match(it *Item, now time.Time) bool  { return n.l.match(it, now) || n.r.match(it, now) }

// Operators, with "!=" and "NOT =" folded into opNe.
const (
	opEq        = "="
	opPrefix    = ":"
	opLt        = "<"
	opLe        = "<="
	opGt        = ">"
	opGe        = ">="
	opNe        = "NOT ="
	opIn        = "IN"
	opNotIn     = "NOT IN"
	opHas       = "HAS"
	opExists    = "EXISTS"
	opNotExists = "NOT EXISTS"
)

type fieldKind int

const (
	kindString fieldKind = iota
	kindTags
	kindDate
	kindNumber
	kindSize
	kindBool
	kindMeta
)

type fieldSpec struct {
	kind fieldKind
	ops  []string
}

var (
	stringOps  = []string{opEq, opPrefix, opIn, opNe, opNotIn, opHas}
	orderedOps = []string{opEq, opLt, opLe, opGt, opGe, opIn, opNe, opNotIn}
	exactOps   = []string{opEq, opIn, opNe, opNotIn}
)

// fields are the searchable fields and their operators, from ImageKit's
// supported-parameters table.
var fields = map[string]fieldSpec{
	"name":         {kindString, stringOps},
	"type":         {kindString, exactOps},
	"id":           {kindString, exactOps},
	"createdBy":    {kindString, exactOps},
	"format":       {kindString, []string{opEq, opIn}},
	"path":         {kindString, []string{opEq, opPrefix, opIn, opNe, opNotIn}},
	"tags":         {kindTags, []string{opIn, opNotIn, opHas, opExists, opNotExists}},
	"createdAt":    {kindDate, orderedOps},
	"updatedAt":    {kindDate, orderedOps},
	"width":        {kindNumber, orderedOps},
	"height":       {kindNumber, orderedOps},
	"size":         {kindSize, orderedOps},
	"private":      {kindBool, []string{opEq}},
	"published":    {kindBool, []string{opEq}},
	"transparency": {kindBool, []string{opEq}},
}

var metaOps = []string{opEq, opPrefix, opLt, opLe, opGt, opGe, opIn, opNe, opNotIn, opHas, opExists, opNotExists}

var assetTypes = map[string]bool{"file": true, "file-version": true, "folder": true}

// Parse parses a searchQuery. Errors are *SyntaxError.
func Parse(q string) (*Query, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tkEOF {
		return nil, &SyntaxError{Pos: 0, Msg: "the query is empty"}
	}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("unexpected %q, expected AND, OR or the end", t.text)}
	}
	return &Query{root: root, versions: p.versions}, nil
}

type parser struct {
	toks     []token
	i        int
	versions bool
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(text string) bool {
	t := p.peek()
	return t.kind == tkWord && t.text == text
}

func (p *parser) or(depth int) (node, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("OR") {
		p.next()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int) (node, error) {
	l, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("AND") {
		p.next()
		r, err := p.primary(depth)
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) primary(depth int) (node, error) {
	t := p.peek()
	if t.kind != tkLParen {
		return p.comparison()
	}
	if depth >= maxDepth {
		return nil, &SyntaxError{Pos: t.pos, Msg: "parentheses are nested too deeply"}
	}
	p.next()
	n, err := p.or(depth + 1)
	if err != nil {
		return nil, err
	}
	if c := p.next(); c.kind != tkRParen {
		return nil, &SyntaxError{Pos: c.pos, Msg: `missing ")"`}
	}
	return n, nil
}

func (p *parser) comparison() (node, error) {
	ft := p.next()
	if ft.kind != tkWord && ft.kind != tkString || isKeyword(ft) {
		return nil, &SyntaxError{Pos: ft.pos, Msg: fmt.Sprintf("expected a field name, found %s", describe(ft))}
	}
	name := ft.text
	spec, ok := fields[name]
	if strings.HasPrefix(name, "customMetadata.") || strings.HasPrefix(name, "embeddedMetadata.") {
		if _, key, _ := strings.Cut(name, "."); key == "" {
			return nil, &SyntaxError{Pos: ft.pos, Msg: fmt.Sprintf("%q names no metadata field", name)}
		}
		spec, ok = fieldSpec{kindMeta, metaOps}, true
	}
	if !ok {
		return nil, &SyntaxError{Pos: ft.pos, Msg: fmt.Sprintf("unknown field %q", name)}
	}
	opPos := p.peek().pos
	op, err := p.operator()
	if err != nil {
		return nil, err
	}
	if !contains(spec.ops, op) {
		return nil, &SyntaxError{Pos: opPos, Msg: fmt.Sprintf("operator %s is not supported for %s", op, name)}
	}
	c := &cmp{field: name, kind: spec.kind, op: op}
	if op == opExists || op == opNotExists {
		return c, nil
	}
	vals, err := p.values(op == opIn || op == opNotIn)
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		if err := c.addValue(v); err != nil {
			return nil, err
		}
	}
	if name == "type" && (op == opEq || op == opIn) && contains(c.strs, "file-version") {
		p.versions = true
	}
	return c, nil
}

// operator reads an operator, joining the two-word ones.
func (p *parser) operator() (string, error) {
	t := p.next()
	switch {
	case t.kind == tkOp && t.text == "!=":
		return opNe, nil
	case t.kind == tkOp:
		return t.text, nil
	case t.kind == tkWord && (t.text == opIn || t.text == opHas || t.text == opExists):
		return t.text, nil
	case t.kind == tkWord && t.text == "NOT":
		n := p.next()
		switch {
		case n.kind == tkOp && n.text == "=":
			return opNe, nil
		case n.kind == tkWord && n.text == "IN":
			return opNotIn, nil
		case n.kind == tkWord && n.text == "EXISTS":
			return opNotExists, nil
		}
		return "", &SyntaxError{Pos: n.pos, Msg: fmt.Sprintf("expected =, IN or EXISTS after NOT, found %s", describe(n))}
	}
	return "", &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected an operator, found %s", describe(t))}
}

// values reads one value, or a bracketed list when list is set.
func (p *parser) values(list bool) ([]token, error) {
	if !list {
		t := p.next()
		if t.kind != tkString && t.kind != tkWord || isKeyword(t) {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected a value, found %s", describe(t))}
		}
		return []token{t}, nil
	}
	if t := p.next(); t.kind != tkLBrack {
		return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf(`expected "[" to start a list, found %s`, describe(t))}
	}
	var out []token
	for {
		t := p.next()
		if t.kind != tkString && t.kind != tkWord || isKeyword(t) {
			return nil, &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("expected a value in the list, found %s", describe(t))}
		}
		out = append(out, t)
		switch s := p.next(); s.kind {
		case tkComma:
		case tkRBrack:
			return out, nil
		default:
			return nil, &SyntaxError{Pos: s.pos, Msg: fmt.Sprintf(`expected "," or "]" in the list, found %s`, describe(s))}
		}
	}
}

func isKeyword(t token) bool {
	if t.kind != tkWord {
		return false
	}
	switch t.text {
	case "AND", "OR", "NOT", "IN", "HAS", "EXISTS":
		return true
	}
	return false
}

func describe(t token) string {
	if t.kind == tkEOF {
		return "the end of the query"
	}
	return strconv.Quote(t.text)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
