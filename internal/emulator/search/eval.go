package search

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Item is what a query sees of a file, a file version or a folder.
type Item struct {
	Type      string // "file", "file-version" or "folder"
	ID        string // fileId or folderId
	Name      string
	Folder    string // the folder holding the item: "/" or "/a/b"
	Tags      []string
	AITags    []string
	CreatedAt time.Time
	UpdatedAt time.Time
	Size      int64
	Width     int // 0 when the file has no dimensions
	Height    int
	Format    string // "jpg", "png", … ("" when unknown)

	Private, Published, Transparency bool

	CustomMetadata   map[string]any
	EmbeddedMetadata map[string]any
}

func (it *Item) isFolder() bool { return it.Type == "folder" }

// cmp is one comparison: field op value(s), with the values already converted to
// the field's type.
type cmp struct {
	field string
	kind  fieldKind
	op    string
	strs  []string
	nums  []float64
	dates []dateValue
	bools []bool
	lits  []literal
}

// literal is a custom or embedded metadata value, typed by how it was written.
type literal struct {
	str    string
	num    float64
	b      bool
	isNum  bool
	isBool bool
}

// dateValue is an absolute instant with the span it names (a day for 2020-01-01, a
// second for 2020-01-01T12:12:12), or an age relative to now.
type dateValue struct {
	abs  time.Time
	span time.Duration
	n    int
	unit byte // h d w m y; 0 for absolute
}

func (d dateValue) at(now time.Time) (time.Time, time.Duration) {
	switch d.unit {
	case 'h':
		return now.Add(-time.Duration(d.n) * time.Hour), time.Second
	case 'd':
		return now.AddDate(0, 0, -d.n), time.Second
	case 'w':
		return now.AddDate(0, 0, -7*d.n), time.Second
	case 'm':
		return now.AddDate(0, -d.n, 0), time.Second
	case 'y':
		return now.AddDate(-d.n, 0, 0), time.Second
	}
	return d.abs, d.span
}

var (
	relativeDate = regexp.MustCompile(`^([0-9]{1,6})([hdwmy])$`)
	sizeValue    = regexp.MustCompile(`^(?i)([0-9]+(?:\.[0-9]+)?)\s*(b|kb|mb|gb)$`)
)

var dateLayouts = []struct {
	layout string
	span   time.Duration
}{
	{"2006-01-02", 24 * time.Hour},
	{"2006-01-02T15:04:05", time.Second},
	{"2006-01-02T15:04:05Z07:00", time.Second},
	{"2006-01-02T15:04:05.999999999Z07:00", time.Millisecond},
	{"2006-01-02T15:04:05.999999999", time.Millisecond},
}

func parseDate(s string) (dateValue, bool) {
	if m := relativeDate.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return dateValue{n: n, unit: m[2][0]}, true
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l.layout, s, time.UTC); err == nil {
			return dateValue{abs: t, span: l.span}, true
		}
	}
	return dateValue{}, false
}

func parseSize(s string) (float64, bool) {
	if n, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
		return n, true
	}
	m := sizeValue.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}[strings.ToLower(m[2])]
	return n * mult, true
}

// addValue converts a value token to the field's type.
func (c *cmp) addValue(t token) error {
	bad := func(what string) error {
		return &SyntaxError{Pos: t.pos, Msg: fmt.Sprintf("%s takes %s, found %q", c.field, what, t.text)}
	}
	switch c.kind {
	case kindString, kindTags:
		v := t.text
		switch c.field {
		case "type":
			if !assetTypes[v] {
				return bad(`"file", "file-version" or "folder"`)
			}
		case "format":
			v = strings.ToLower(v)
		case "path":
			v = CleanFolder(v)
		}
		c.strs = append(c.strs, v)
	case kindDate:
		d, ok := parseDate(t.text)
		if !ok {
			return bad("an ISO 8601 date or a relative time such as 7d")
		}
		c.dates = append(c.dates, d)
	case kindNumber:
		n, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return bad("a number")
		}
		c.nums = append(c.nums, n)
	case kindSize:
		n, ok := parseSize(t.text)
		if !ok {
			return bad(`a number of bytes or a size such as "1mb"`)
		}
		c.nums = append(c.nums, n)
	case kindBool:
		if t.text != "true" && t.text != "false" {
			return bad("true or false")
		}
		c.bools = append(c.bools, t.text == "true")
	case kindMeta:
		l := literal{str: t.text}
		if t.kind == tkWord {
			if t.text == "true" || t.text == "false" {
				l.isBool, l.b = true, t.text == "true"
			} else if n, err := strconv.ParseFloat(t.text, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
				l.isNum, l.num = true, n
			}
		}
		c.lits = append(c.lits, l)
	}
	return nil
}

// CleanFolder writes a folder path as "/" or "/a/b": one leading slash, none
// trailing, no empty segments.
func CleanFolder(p string) string {
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return "/" + strings.Join(parts, "/")
}

func negative(op string) bool { return op == opNe || op == opNotIn || op == opNotExists }

func (c *cmp) match(it *Item, now time.Time) bool {
	switch c.kind {
	case kindString:
		v, ok := c.stringOf(it)
		if !ok {
			return negative(c.op)
		}
		return c.matchString(v)
	case kindTags:
		return c.matchTags(append(append([]string(nil), it.Tags...), it.AITags...))
	case kindDate:
		t := it.CreatedAt
		if c.field == "updatedAt" {
			t = it.UpdatedAt
		}
		return c.matchDate(t, now)
	case kindNumber, kindSize:
		var v float64
		switch c.field {
		case "width":
			v = float64(it.Width)
		case "height":
			v = float64(it.Height)
		case "size":
			v = float64(it.Size)
		}
		// Dimensions belong to images and videos, size to files.
		if it.isFolder() || (c.kind == kindNumber && v == 0) {
			return negative(c.op)
		}
		return c.matchNumber(v)
	case kindBool:
		if it.isFolder() {
			return negative(c.op)
		}
		v := map[string]bool{"private": it.Private, "published": it.Published, "transparency": it.Transparency}[c.field]
		return v == c.bools[0]
	case kindMeta:
		return c.matchMeta(it, now)
	}
	return false
}

func (c *cmp) stringOf(it *Item) (string, bool) {
	switch c.field {
	case "name":
		return it.Name, true
	case "type":
		return it.Type, true
	case "id":
		return it.ID, it.ID != ""
	case "format":
		return it.Format, it.Format != "" && !it.isFolder()
	case "path":
		return CleanFolder(it.Folder), true
	}
	return "", false // createdBy: the emulator has no users
}

func (c *cmp) matchString(v string) bool {
	in := contains(c.strs, v)
	switch c.op {
	case opEq:
		return v == c.strs[0]
	case opNe:
		return v != c.strs[0]
	case opIn:
		return in
	case opNotIn:
		return !in
	case opHas:
		return hasTokens(v, c.strs[0])
	case opPrefix:
		if c.field == "path" {
			p := c.strs[0]
			return p == "/" || v == p || strings.HasPrefix(v, p+"/")
		}
		return strings.HasPrefix(v, c.strs[0])
	}
	return false
}

func (c *cmp) matchTags(tags []string) bool {
	switch c.op {
	case opExists:
		return len(tags) > 0
	case opNotExists:
		return len(tags) == 0
	case opHas:
		for _, t := range tags {
			if hasTokens(t, c.strs[0]) {
				return true
			}
		}
		return false
	}
	found := false
	for _, t := range tags {
		found = found || contains(c.strs, t)
	}
	if c.op == opNotIn {
		return !found
	}
	return found
}

func (c *cmp) matchDate(t time.Time, now time.Time) bool {
	eq := func(d dateValue) bool {
		lo, span := d.at(now)
		return !t.Before(lo) && t.Before(lo.Add(span))
	}
	anyEq := false
	for _, d := range c.dates {
		anyEq = anyEq || eq(d)
	}
	lo, _ := c.dates[0].at(now)
	switch c.op {
	case opEq, opIn:
		return anyEq
	case opNe, opNotIn:
		return !anyEq
	case opLt:
		return t.Before(lo)
	case opLe:
		return !t.After(lo)
	case opGt:
		return t.After(lo)
	case opGe:
		return !t.Before(lo)
	}
	return false
}

func (c *cmp) matchNumber(v float64) bool {
	in := false
	for _, n := range c.nums {
		in = in || v == n
	}
	return ordered(c.op, compareFloat(v, c.nums[0]), in)
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ordered applies an operator given how the value compares with the first operand
// (-1, 0, 1) and whether it equals any operand.
func ordered(op string, c int, in bool) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opIn:
		return in
	case opNotIn:
		return !in
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	}
	return false
}

func (c *cmp) matchMeta(it *Item, now time.Time) bool {
	source, key, _ := strings.Cut(c.field, ".")
	m := it.CustomMetadata
	if source == "embeddedMetadata" {
		m = it.EmbeddedMetadata
	}
	v, ok := m[key]
	switch c.op {
	case opExists:
		return ok
	case opNotExists:
		return !ok
	}
	if !ok || v == nil {
		return negative(c.op)
	}
	elems := []any{v}
	if list, isList := v.([]any); isList {
		elems = list
	}
	anyElem := func(f func(e any, l literal) bool) bool {
		for _, e := range elems {
			for _, l := range c.lits {
				if f(e, l) {
					return true
				}
			}
		}
		return false
	}
	switch c.op {
	case opEq, opIn:
		return anyElem(metaEqual)
	case opNe, opNotIn:
		return !anyElem(metaEqual)
	case opPrefix:
		return anyElem(func(e any, l literal) bool { s, ok := e.(string); return ok && strings.HasPrefix(s, l.str) })
	case opHas:
		return anyElem(func(e any, l literal) bool { s, ok := e.(string); return ok && hasTokens(s, l.str) })
	}
	return anyElem(func(e any, l literal) bool {
		r, ok := metaCompare(e, l, now)
		return ok && ordered(c.op, r, false)
	})
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func metaEqual(e any, l literal) bool {
	if n, ok := toFloat(e); ok {
		return l.isNum && n == l.num
	}
	switch v := e.(type) {
	case bool:
		return l.isBool && v == l.b
	case string:
		return v == l.str
	}
	return false
}

// metaCompare orders a stored value against a literal: numbers as numbers, dates
// (stored as ISO strings) as instants.
func metaCompare(e any, l literal, now time.Time) (int, bool) {
	if n, ok := toFloat(e); ok {
		if !l.isNum {
			return 0, false
		}
		return compareFloat(n, l.num), true
	}
	s, ok := e.(string)
	if !ok {
		return 0, false
	}
	d, ok := parseDate(l.str)
	if !ok {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		sd, ok := parseDate(s)
		if !ok || sd.unit != 0 {
			return 0, false
		}
		t = sd.abs
	}
	at, _ := d.at(now)
	return t.Compare(at), true
}

// hasTokens is HAS: every word of q appears among the words of text, case folded,
// the last as a prefix.
func hasTokens(text, q string) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	want, have := split(q), split(text)
	if len(want) == 0 {
		return false
	}
	for i, w := range want {
		found := false
		for _, h := range have {
			if h == w || (i == len(want)-1 && strings.HasPrefix(h, w)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
