package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokenKind int

const (
	tkEOF tokenKind = iota
	tkLParen
	tkRParen
	tkLBrack
	tkRBrack
	tkComma
	tkOp     // = : < <= > >= !=
	tkString // "double quoted", escapes \" and \\ undone
	tkWord   // anything else unquoted: keywords, numbers, booleans, 2d, 2020-01-01
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the query, for error messages
}

// lex splits a query into tokens.
func lex(q string) ([]token, error) {
	for i, r := range q {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(q[i:]); size == 1 {
				return nil, &SyntaxError{Pos: i, Msg: "the query is not valid UTF-8"}
			}
		}
	}
	var out []token
	i := 0
	for i < len(q) {
		r, size := utf8.DecodeRuneInString(q[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case r == '(' || r == ')' || r == '[' || r == ']' || r == ',':
			kind := map[rune]tokenKind{'(': tkLParen, ')': tkRParen, '[': tkLBrack, ']': tkRBrack, ',': tkComma}[r]
			out = append(out, token{kind: kind, text: string(r), pos: i})
			i++
		case r == '=' || r == ':':
			out = append(out, token{kind: tkOp, text: string(r), pos: i})
			i++
		case r == '<' || r == '>' || r == '!':
			op := string(r)
			if i+1 < len(q) && q[i+1] == '=' {
				op += "="
			}
			if op == "!" {
				return nil, &SyntaxError{Pos: i, Msg: `"!" must be followed by "="`}
			}
			out = append(out, token{kind: tkOp, text: op, pos: i})
			i += len(op)
		case r == '"':
			s, n, err := lexString(q, i)
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: tkString, text: s, pos: i})
			i += n
		default:
			start := i
			for i < len(q) {
				r, size := utf8.DecodeRuneInString(q[i:])
				if unicode.IsSpace(r) || strings.ContainsRune(`()[],=:<>!"`, r) {
					break
				}
				i += size
			}
			out = append(out, token{kind: tkWord, text: q[start:i], pos: start})
		}
	}
	return append(out, token{kind: tkEOF, pos: len(q)}), nil
}

// lexString reads the double-quoted string at q[start]; it returns the string and
// the bytes consumed.
func lexString(q string, start int) (string, int, error) {
	var b strings.Builder
	for i := start + 1; i < len(q); i++ {
		switch c := q[i]; c {
		case '\\':
			if i+1 >= len(q) {
				return "", 0, &SyntaxError{Pos: i, Msg: "unfinished escape in a string"}
			}
			i++
			b.WriteByte(q[i])
		case '"':
			return b.String(), i + 1 - start, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, &SyntaxError{Pos: start, Msg: "unterminated string"}
}
