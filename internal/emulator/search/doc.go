// Package search parses and evaluates ImageKit's searchQuery language, the
// Lucene-like filter of the List and Search Assets API (GET /v1/files).
//
//	q, err := search.Parse(`type = "file" AND (size < "1mb" OR tags IN ["sale"])`)
//	if err != nil { ... } // a *SyntaxError naming what is wrong and where
//	if q.Match(&search.Item{Type: "file", Size: 10}, time.Now()) { ... }
//
// # Grammar
//
//	query      = or
//	or         = and { "OR" and }
//	and        = primary { "AND" primary }
//	primary    = "(" query ")" | comparison
//	comparison = field op value | field ["NOT"] "EXISTS"
//	op         = "=" | ":" | "<" | "<=" | ">" | ">=" | "!=" | "NOT =" | "IN" | "NOT IN" | "HAS"
//	value      = string | number | true | false | word | "[" value { "," value } "]"
//
// Keywords are upper case, as ImageKit writes them. A field is a bare name (name,
// tags, type, id, createdAt, updatedAt, width, height, size, format, private,
// published, transparency, path, createdBy) or a double-quoted
// "customMetadata.<field>" / "embeddedMetadata.<field>". Each field takes the
// operators ImageKit's supported-parameters table lists for it; others are syntax
// errors. Dates are ISO 8601 (2020-01-01, 2020-01-01T12:12:12) or relative to now
// (1h, 2d, 3w, 4m for months, 1y); sizes are bytes or 10kb, 1mb, 1gb (powers of 1024).
package search
