package checks

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by every error returned from Parse. The wrapping error
// names the byte offset of the problem, e.g.
// `invalid checks syntax: at offset 12: unknown field "file.colour"`.
var ErrSyntax = errors.New("invalid checks syntax")

const (
	maxInputLen = 4096 // longest accepted expression, in bytes
	maxDepth    = 64   // deepest accepted nesting of '(' and NOT
)

// Input is what a checks expression can see.
type Input struct {
	Size           int64             // file size in bytes
	Mime           string            // detected MIME type, "" = unknown
	Width, Height  int               // 0 = unknown
	Duration       float64           // seconds, 0 = unknown
	Request        map[string]string // raw form fields as sent (fileName, folder, tags "a,b", useUniqueFileName, …)
	CustomMetadata map[string]any    // decoded customMetadata JSON, may be nil
}

// Expr is a parsed checks expression. The zero value and nil evaluate to
// false.
type Expr struct {
	root *node
}

// Parse parses a checks expression. Every error wraps ErrSyntax.
func Parse(s string) (*Expr, error) {
	return parse(s, maxInputLen)
}

// parse is Parse with a configurable length limit (0 = unlimited).
func parse(s string, limit int) (*Expr, error) {
	if limit > 0 && len(s) > limit {
		return nil, errAt(limit, "expression is %d bytes long, the limit is %d", len(s), limit)
	}
	if strings.TrimSpace(s) == "" {
		return nil, errAt(0, "empty expression")
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errAt(t.pos, "unexpected %s after complete expression", t.describe())
	}
	return &Expr{root: root}, nil
}

// Eval reports whether the expression holds for in. It never panics.
func (e *Expr) Eval(in Input) bool {
	if e == nil || e.root == nil {
		return false
	}
	return e.root.eval(&in)
}

// String returns the canonical form of the expression: keywords upper-case,
// strings double-quoted, single spaces around operators, redundant
// parentheses removed and nested AND/OR chains flattened. Parsing the
// canonical form yields an equivalent expression with the same canonical
// form.
func (e *Expr) String() string {
	if e == nil || e.root == nil {
		return ""
	}
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

// ---------------------------------------------------------------------------
// Fields

type fieldKind uint8

const (
	fSize fieldKind = iota
	fMime
	fWidth
	fHeight
	fDuration
	fRequest // any request.<name> read verbatim from the form (fileName included)
	fFolder
	fTags
	fBool
	fMeta
)

type field struct {
	name string    // as written, e.g. "request.customMetadata.brand"
	kind fieldKind // how to read it
	key  string    // form field name (fRequest, fFolder, fTags, fBool) or metadata key (fMeta)
	def  string    // default for fBool when the form field is absent or empty
}

var fileFields = map[string]fieldKind{
	"file.size":     fSize,
	"file.mime":     fMime,
	"file.width":    fWidth,
	"file.height":   fHeight,
	"file.duration": fDuration,
}

var boolDefaults = map[string]string{
	"useUniqueFileName": "true",
	"isPrivateFile":     "false",
	"isPublished":       "true",
}

// lookupField resolves a field name, or returns a reason it is invalid.
func lookupField(name string) (field, string) {
	f := field{name: name}
	if strings.HasPrefix(name, "file.") {
		k, ok := fileFields[name]
		if !ok {
			return f, "unknown field " + quote(name) + " (file fields are size, mime, width, height, duration)"
		}
		f.kind = k
		return f, ""
	}
	rest, ok := strings.CutPrefix(name, "request.")
	if !ok {
		return f, "unknown field " + quote(name) + " (fields start with \"file.\" or \"request.\")"
	}
	if rest == "" {
		return f, "empty request field name in " + quote(name)
	}
	f.key = rest
	if meta, ok := strings.CutPrefix(rest, "customMetadata."); ok {
		if meta == "" {
			return f, "empty custom metadata name in " + quote(name)
		}
		f.kind, f.key = fMeta, meta
		return f, ""
	}
	switch rest {
	case "folder":
		f.kind = fFolder
	case "tags":
		f.kind = fTags
	default:
		if def, ok := boolDefaults[rest]; ok {
			f.kind, f.def = fBool, def
		} else {
			f.kind = fRequest
		}
	}
	return f, ""
}

// norm applies the field's normalisation to a string, used on both the
// field's value and the literals it is compared with.
func (f *field) norm(s string) string {
	switch f.kind {
	case fFolder:
		return strings.Trim(s, "/")
	case fBool:
		return strings.ToLower(s)
	}
	return s
}

// scalar is one value with its optional numeric interpretation.
type scalar struct {
	str   string
	num   float64
	isNum bool
}

// value is what a field reads as: missing, a scalar, or a non-empty list.
type value struct {
	ok     bool
	isList bool
	sc     scalar
	list   []scalar
}

func strScalar(s string) scalar {
	n, ok := parseNumber(strings.TrimSpace(s))
	return scalar{str: s, num: n, isNum: ok}
}

func numScalar(f float64) scalar {
	ok := !math.IsNaN(f) && !math.IsInf(f, 0)
	return scalar{str: strconv.FormatFloat(f, 'f', -1, 64), num: f, isNum: ok}
}

func present(sc scalar) value { return value{ok: true, sc: sc} }

// read returns the field's value for in.
func (f *field) read(in *Input) value {
	switch f.kind {
	case fSize:
		if in.Size < 0 {
			return value{}
		}
		return present(scalar{str: strconv.FormatInt(in.Size, 10), num: float64(in.Size), isNum: true})
	case fMime:
		if in.Mime == "" {
			return value{}
		}
		return present(strScalar(in.Mime))
	case fWidth:
		if in.Width <= 0 {
			return value{}
		}
		return present(numScalar(float64(in.Width)))
	case fHeight:
		if in.Height <= 0 {
			return value{}
		}
		return present(numScalar(float64(in.Height)))
	case fDuration:
		if !(in.Duration > 0) || math.IsInf(in.Duration, 0) {
			return value{}
		}
		return present(numScalar(in.Duration))
	case fRequest:
		s, ok := in.Request[f.key]
		if !ok {
			return value{}
		}
		return present(strScalar(s))
	case fFolder:
		s := in.Request[f.key]
		if s == "" {
			s = "/" // ImageKit's default folder
		}
		return present(strScalar(f.norm(s)))
	case fBool:
		s := in.Request[f.key]
		if s == "" {
			s = f.def
		}
		return present(strScalar(f.norm(s)))
	case fTags:
		var list []scalar
		for t := range strings.SplitSeq(in.Request[f.key], ",") {
			if t = strings.TrimSpace(t); t != "" {
				list = append(list, strScalar(t))
			}
		}
		if len(list) == 0 {
			return value{}
		}
		return value{ok: true, isList: true, list: list}
	case fMeta:
		v, ok := in.CustomMetadata[f.key]
		if !ok {
			return value{}
		}
		return metaValue(v)
	}
	return value{}
}

// metaValue converts a decoded JSON value. Objects, null and empty arrays
// read as missing; arrays keep their scalar elements.
func metaValue(v any) value {
	var list []scalar
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if sc, ok := metaScalar(e); ok {
				list = append(list, sc)
			}
		}
	case []string:
		for _, e := range x {
			list = append(list, strScalar(e))
		}
	default:
		if sc, ok := metaScalar(v); ok {
			return present(sc)
		}
		return value{}
	}
	if len(list) == 0 {
		return value{}
	}
	return value{ok: true, isList: true, list: list}
}

func metaScalar(v any) (scalar, bool) {
	switch x := v.(type) {
	case string:
		return strScalar(x), true
	case bool:
		return scalar{str: strconv.FormatBool(x)}, true
	case float64:
		return numScalar(x), true
	case float32:
		return numScalar(float64(x)), true
	case int:
		return numScalar(float64(x)), true
	case int64:
		return numScalar(float64(x)), true
	case int32:
		return numScalar(float64(x)), true
	case uint:
		return numScalar(float64(x)), true
	case uint64:
		return numScalar(float64(x)), true
	case uint32:
		return numScalar(float64(x)), true
	case json.Number:
		sc := scalar{str: string(x)}
		if f, err := x.Float64(); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			sc.num, sc.isNum = f, true
		}
		return sc, true
	}
	return scalar{}, false
}

// ---------------------------------------------------------------------------
// Numbers and sizes

// parseNumber accepts -?[0-9]+(\.[0-9]+)? with a finite value.
func parseNumber(s string) (float64, bool) {
	if !isDecimal(s, true) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func isDecimal(s string, signed bool) bool {
	if signed && strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(intPart) {
		return false
	}
	return !hasDot || allDigits(frac)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func unitFactor(unit string) (float64, bool) {
	switch unit {
	case "b":
		return 1, true
	case "kb":
		return 1 << 10, true
	case "mb":
		return 1 << 20, true
	case "gb":
		return 1 << 30, true
	}
	return 0, false
}

// parseSize accepts an unsigned decimal followed by an optional space and a
// unit b, kb, mb or gb (case-insensitive), and returns the byte count.
func parseSize(s string) (float64, bool) {
	s = strings.ToLower(s)
	var unit string
	for _, u := range []string{"kb", "mb", "gb", "b"} {
		if strings.HasSuffix(s, u) {
			unit = u
			break
		}
	}
	if unit == "" {
		return 0, false
	}
	num := strings.TrimSpace(s[:len(s)-len(unit)])
	if !isDecimal(num, false) {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	factor, _ := unitFactor(unit)
	f *= factor
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// ---------------------------------------------------------------------------
// AST

type nodeKind uint8

const (
	nCmp nodeKind = iota
	nNot
	nAnd
	nOr
)

type node struct {
	kind nodeKind
	kids []*node // nNot: one; nAnd/nOr: two or more, none of the same kind
	cmp  *comparison
}

type op uint8

const (
	opEq op = iota
	opLT
	opLE
	opGT
	opGE
	opIn
	opNotIn
	opHas
)

var opNames = [...]string{
	opEq:    ":",
	opLT:    "<",
	opLE:    "<=",
	opGT:    ">",
	opGE:    ">=",
	opIn:    "IN",
	opNotIn: "NOT IN",
	opHas:   "HAS",
}

// literal is a value as written.
type literal struct {
	text string // unescaped string contents, or number text
	bare bool   // written as a bare number
}

type comparison struct {
	field field
	op    op
	lits  []literal // one, or the list elements for IN / NOT IN
	vals  []scalar  // lits as seen by field: normalised, numeric if possible
}

func (n *node) eval(in *Input) bool {
	switch n.kind {
	case nCmp:
		return n.cmp.eval(in)
	case nNot:
		return !n.kids[0].eval(in)
	case nAnd:
		for _, k := range n.kids {
			if !k.eval(in) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if k.eval(in) {
				return true
			}
		}
		return false
	}
	return false
}

// equal compares numerically when both sides are numeric, else as strings.
func equal(a, b scalar) bool {
	if a.isNum && b.isNum {
		return a.num == b.num
	}
	return a.str == b.str
}

func (c *comparison) eval(in *Input) bool {
	v := c.field.read(in)
	if !v.ok {
		return false
	}
	switch c.op {
	case opEq, opHas:
		want := c.vals[0]
		if v.isList {
			for _, e := range v.list {
				if equal(e, want) {
					return true
				}
			}
			return false
		}
		if c.op == opEq {
			return equal(v.sc, want)
		}
		return strings.Contains(v.sc.str, want.str)
	case opLT, opLE, opGT, opGE:
		want := c.vals[0]
		if v.isList || !v.sc.isNum || !want.isNum {
			return false
		}
		a, b := v.sc.num, want.num
		switch c.op {
		case opLT:
			return a < b
		case opLE:
			return a <= b
		case opGT:
			return a > b
		default:
			return a >= b
		}
	case opIn, opNotIn:
		return c.in(v) == (c.op == opIn)
	}
	return false
}

// in reports whether v (or, for a list, every element of v) is in c.vals.
func (c *comparison) in(v value) bool {
	contains := func(x scalar) bool {
		for _, w := range c.vals {
			if equal(x, w) {
				return true
			}
		}
		return false
	}
	if !v.isList {
		return contains(v.sc)
	}
	for _, e := range v.list {
		if !contains(e) {
			return false
		}
	}
	return true
}

// operand interprets a literal as seen by field f.
func (f *field) operand(l literal) scalar {
	s := f.norm(l.text)
	sc := strScalar(s)
	if f.kind == fSize && !sc.isNum {
		if n, ok := parseSize(strings.TrimSpace(l.text)); ok {
			sc.num, sc.isNum = n, true
		}
	}
	return sc
}

func (n *node) write(b *strings.Builder) {
	switch n.kind {
	case nCmp:
		n.cmp.write(b)
	case nNot:
		b.WriteString("NOT ")
		n.kids[0].writeChild(b, n.kids[0].kind == nAnd || n.kids[0].kind == nOr)
	case nAnd, nOr:
		sep := " AND "
		if n.kind == nOr {
			sep = " OR "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.writeChild(b, n.kind == nAnd && k.kind == nOr)
		}
	}
}

func (n *node) writeChild(b *strings.Builder, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	n.write(b)
	if paren {
		b.WriteByte(')')
	}
}

func (l literal) write(b *strings.Builder) {
	if l.bare {
		b.WriteString(l.text)
	} else {
		b.WriteString(quote(l.text))
	}
}

func (c *comparison) write(b *strings.Builder) {
	b.WriteString(quote(c.field.name))
	b.WriteByte(' ')
	b.WriteString(opNames[c.op])
	b.WriteByte(' ')
	if c.op != opIn && c.op != opNotIn {
		c.lits[0].write(b)
		return
	}
	b.WriteByte('[')
	for i, l := range c.lits {
		if i > 0 {
			b.WriteString(", ")
		}
		l.write(b)
	}
	b.WriteByte(']')
}

// ---------------------------------------------------------------------------
// Parser

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// enter counts one level of '(' or NOT nesting.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(pos, "expression nested too deeply (limit %d levels of parentheses and NOT)", maxDepth)
	}
	return nil
}

// parseOr: and { OR and }
func (p *parser) parseOr() (*node, error) {
	return p.parseChain(tOr, nOr, p.parseAnd)
}

// parseAnd: unary { AND unary }
func (p *parser) parseAnd() (*node, error) {
	return p.parseChain(tAnd, nAnd, p.parseUnary)
}

func (p *parser) parseChain(sep tokKind, kind nodeKind, sub func() (*node, error)) (*node, error) {
	first, err := sub()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != sep {
		return first, nil
	}
	n := &node{kind: kind}
	add := func(k *node) {
		if k.kind == kind { // parenthesised chain of the same operator
			n.kids = append(n.kids, k.kids...)
		} else {
			n.kids = append(n.kids, k)
		}
	}
	add(first)
	for p.peek().kind == sep {
		p.next()
		k, err := sub()
		if err != nil {
			return nil, err
		}
		add(k)
	}
	return n, nil
}

// parseUnary: NOT unary | primary
func (p *parser) parseUnary() (*node, error) {
	if t := p.peek(); t.kind == tNot {
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		k, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &node{kind: nNot, kids: []*node{k}}, nil
	}
	return p.parsePrimary()
}

// parsePrimary: "(" or ")" | comparison
func (p *parser) parsePrimary() (*node, error) {
	t := p.peek()
	switch t.kind {
	case tLParen:
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, errAt(c.pos, "expected ')' to close '(' at offset %d, found %s", t.pos, c.describe())
		}
		p.depth--
		return n, nil
	case tString:
		return p.parseComparison()
	}
	return nil, errAt(t.pos, "expected a quoted field name, NOT or '(', found %s", t.describe())
}

// parseComparison: field op value
func (p *parser) parseComparison() (*node, error) {
	ft := p.next()
	f, msg := lookupField(ft.text)
	if msg != "" {
		return nil, errAt(ft.pos, "%s", msg)
	}
	c := &comparison{field: f}
	ot := p.next()
	switch ot.kind {
	case tColon:
		c.op = opEq
	case tLT:
		c.op = opLT
	case tLE:
		c.op = opLE
	case tGT:
		c.op = opGT
	case tGE:
		c.op = opGE
	case tIn:
		c.op = opIn
	case tHas:
		c.op = opHas
	case tNot:
		if t := p.next(); t.kind != tIn {
			return nil, errAt(t.pos, "expected IN after NOT, found %s", t.describe())
		}
		c.op = opNotIn
	default:
		return nil, errAt(ot.pos, "expected an operator (:, <, <=, >, >=, IN, NOT IN, HAS) after field %s, found %s", quote(f.name), ot.describe())
	}

	if c.op == opIn || c.op == opNotIn {
		if err := p.parseList(c); err != nil {
			return nil, err
		}
	} else {
		vt := p.peek()
		l, err := p.parseScalar("a value")
		if err != nil {
			return nil, err
		}
		c.lits = []literal{l}
		c.vals = []scalar{f.operand(l)}
		if c.op != opEq && c.op != opHas && !c.vals[0].isNum {
			if _, isSize := parseSize(strings.TrimSpace(l.text)); isSize {
				return nil, errAt(vt.pos, "size %s can only be compared with \"file.size\"", quote(l.text))
			}
			return nil, errAt(vt.pos, "%s needs a numeric value, found %s", opNames[c.op], vt.describe())
		}
	}
	return &node{kind: nCmp, cmp: c}, nil
}

// parseList: "[" [ scalar { "," scalar } ] "]"
func (p *parser) parseList(c *comparison) error {
	t := p.next()
	if t.kind != tLBrack {
		return errAt(t.pos, "%s needs a list like [\"a\", \"b\"], found %s", opNames[c.op], t.describe())
	}
	c.lits, c.vals = []literal{}, []scalar{}
	if p.peek().kind == tRBrack {
		p.next()
		return nil
	}
	for {
		l, err := p.parseScalar("a list element")
		if err != nil {
			return err
		}
		c.lits = append(c.lits, l)
		c.vals = append(c.vals, c.field.operand(l))
		switch t := p.next(); t.kind {
		case tComma:
		case tRBrack:
			return nil
		default:
			return errAt(t.pos, "expected ',' or ']' in list, found %s", t.describe())
		}
	}
}

func (p *parser) parseScalar(what string) (literal, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return literal{text: t.text}, nil
	case tNumber:
		return literal{text: t.text, bare: true}, nil
	case tLBrack:
		return literal{}, errAt(t.pos, "a list is only allowed after IN or NOT IN")
	}
	return literal{}, errAt(t.pos, "expected %s (quoted string or number), found %s", what, t.describe())
}
