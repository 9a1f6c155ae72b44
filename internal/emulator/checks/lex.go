package checks

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// tokKind identifies a lexical token.
type tokKind uint8

const (
	tEOF tokKind = iota
	tString
	tNumber
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tColon
	tLT
	tLE
	tGT
	tGE
	tAnd
	tOr
	tNot
	tIn
	tHas
)

var tokNames = [...]string{
	tEOF:    "end of input",
	tString: "string",
	tNumber: "number",
	tLParen: "'('",
	tRParen: "')'",
	tLBrack: "'['",
	tRBrack: "']'",
	tComma:  "','",
	tColon:  "':'",
	tLT:     "'<'",
	tLE:     "'<='",
	tGT:     "'>'",
	tGE:     "'>='",
	tAnd:    "AND",
	tOr:     "OR",
	tNot:    "NOT",
	tIn:     "IN",
	tHas:    "HAS",
}

func (k tokKind) String() string {
	if int(k) < len(tokNames) {
		return tokNames[k]
	}
	return "token(" + strconv.Itoa(int(k)) + ")"
}

// token is one lexical token. For tString, text is the unescaped contents;
// for tNumber it is the number as written with its unit (if any) lower-cased.
type token struct {
	kind tokKind
	pos  int
	text string
}

// describe renders a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tString:
		return "string " + quote(t.text)
	case tNumber:
		return "number " + t.text
	}
	return t.kind.String()
}

// errAt builds a syntax error wrapping ErrSyntax that names a byte offset.
func errAt(pos int, format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", ErrSyntax, pos, fmt.Sprintf(format, args...))
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWordByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '.'
}

// lex splits s into tokens; the last token is always tEOF.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '"' || c == '\'':
			text, end, err := lexString(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, pos: start, text: text})
			i = end
			continue
		case isDigit(c) || c == '-' && i+1 < len(s) && isDigit(s[i+1]):
			text, end, err := lexNumber(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tNumber, pos: start, text: text})
			i = end
			continue
		case isLetter(c):
			for i < len(s) && isWordByte(s[i]) {
				i++
			}
			word := s[start:i]
			var k tokKind
			switch {
			case strings.EqualFold(word, "AND"):
				k = tAnd
			case strings.EqualFold(word, "OR"):
				k = tOr
			case strings.EqualFold(word, "NOT"):
				k = tNot
			case strings.EqualFold(word, "IN"):
				k = tIn
			case strings.EqualFold(word, "HAS"):
				k = tHas
			default:
				return nil, errAt(start, "unknown word %q (field names and text values must be quoted)", word)
			}
			toks = append(toks, token{kind: k, pos: start})
			continue
		}
		var k tokKind
		switch c {
		case '(':
			k = tLParen
		case ')':
			k = tRParen
		case '[':
			k = tLBrack
		case ']':
			k = tRBrack
		case ',':
			k = tComma
		case ':':
			k = tColon
		case '<':
			k = tLT
			if i+1 < len(s) && s[i+1] == '=' {
				k = tLE
				i++
			}
		case '>':
			k = tGT
			if i+1 < len(s) && s[i+1] == '=' {
				k = tGE
				i++
			}
		case '=':
			return nil, errAt(i, "unexpected '=' (use ':' for equality)")
		case '!':
			return nil, errAt(i, "unexpected '!' (use NOT, or NOT IN)")
		default:
			return nil, errAt(i, "unexpected character %q", s[i:i+1])
		}
		i++
		toks = append(toks, token{kind: k, pos: start})
	}
	toks = append(toks, token{kind: tEOF, pos: len(s)})
	return toks, nil
}

// lexString reads a quoted string starting at s[i] (a quote character).
// Inside either kind of quotes, \' \" and \\ are escapes; any other
// backslash sequence is an error. All other bytes are taken literally.
func lexString(s string, i int) (text string, end int, err error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; ; {
		if j >= len(s) {
			return "", 0, errAt(i, "unterminated string")
		}
		c := s[j]
		switch c {
		case q:
			return b.String(), j + 1, nil
		case '\\':
			if j+1 >= len(s) {
				return "", 0, errAt(i, "unterminated string")
			}
			n := s[j+1]
			if n != '\\' && n != '"' && n != '\'' {
				return "", 0, errAt(j, "invalid escape %q (only \\\\, \\\" and \\' are allowed)", s[j:j+2])
			}
			b.WriteByte(n)
			j += 2
		default:
			b.WriteByte(c)
			j++
		}
	}
}

// lexNumber reads a bare number, optionally negative and optionally
// followed by a size unit: -?[0-9]+(\.[0-9]+)?(b|kb|mb|gb)?
func lexNumber(s string, i int) (text string, end int, err error) {
	start := i
	if s[i] == '-' {
		i++
	}
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return "", 0, errAt(start, "malformed number %q", s[start:i])
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	numEnd := i
	for i < len(s) && isLetter(s[i]) {
		i++
	}
	unit := strings.ToLower(s[numEnd:i])
	if i < len(s) && isWordByte(s[i]) {
		for i < len(s) && isWordByte(s[i]) {
			i++
		}
		return "", 0, errAt(start, "malformed number %q", s[start:i])
	}
	if unit != "" {
		if _, ok := unitFactor(unit); !ok {
			return "", 0, errAt(numEnd, "unknown unit %q (want b, kb, mb or gb)", s[numEnd:i])
		}
		if s[start] == '-' {
			return "", 0, errAt(start, "negative size %q", s[start:i])
		}
	}
	if f, err := strconv.ParseFloat(s[start:numEnd], 64); err != nil || math.IsInf(f, 0) {
		return "", 0, errAt(start, "number %q out of range", s[start:numEnd])
	}
	return s[start:numEnd] + unit, i, nil
}

// quote renders s as a double-quoted string that lex reads back as s.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
