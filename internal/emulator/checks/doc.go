// Package checks implements the "checks" parameter of the emulated ImageKit
// Upload API: a small boolean expression evaluated against the uploaded file
// and the request's form fields before the file is stored.
//
// The upload handler answers 400 "Your request contains invalid syntax for
// the checks parameter." when [Parse] fails, and 400 "Your request failed
// 'checks' validation." when [Expr.Eval] returns false.
//
// ImageKit does not publish a grammar. This package implements a documented
// superset of the known examples:
//
//	"file.size" < "1mb"
//	'file.size' < '1mb'
//	"request.folder" : "marketing/"
//
// # Grammar
//
//	expr       = and { "OR" and }
//	and        = unary { "AND" unary }
//	unary      = "NOT" unary | "(" expr ")" | comparison
//	comparison = field op value
//	field      = string
//	op         = ":" | "<" | "<=" | ">" | ">=" | "HAS" | "IN" | "NOT" "IN"
//	value      = scalar                        (after :, <, <=, >, >=, HAS)
//	           | "[" [ scalar { "," scalar } ] "]"   (after IN, NOT IN)
//	scalar     = string | number
//	string     = "'" chars "'" | '"' chars '"'
//	number     = [ "-" ] digits [ "." digits ] [ unit ]
//	unit       = "b" | "kb" | "mb" | "gb"
//
// Keywords (AND, OR, NOT, IN, HAS) and units are case-insensitive.
// Precedence is NOT, then AND, then OR; use parentheses to group. Spaces,
// tabs and newlines separate tokens. Inside either kind of quotes \' \" and
// \\ are escapes and every other byte is literal; any other backslash
// sequence is a syntax error. A negative number cannot carry a unit.
//
// # Fields
//
// A field is always a quoted string:
//
//	file.size                  size in bytes
//	file.mime                  MIME type (missing if unknown)
//	file.width, file.height    pixels (missing if 0)
//	file.duration              seconds (missing if 0)
//	request.fileName           form field fileName
//	request.folder             form field folder, default "/"
//	request.tags               form field tags, a comma-separated list
//	request.useUniqueFileName  form field, default "true"
//	request.isPrivateFile      form field, default "false"
//	request.isPublished        form field, default "true"
//	request.customMetadata.K   key K of the customMetadata JSON object
//	request.X                  any other form field X, verbatim
//
// Any other file.* name, or a name starting with neither "file." nor
// "request.", is a syntax error. Field names are case-sensitive.
//
// # Values
//
// A value, quoted or bare, is numeric if it reads as -?digits[.digits]
// (surrounding spaces ignored); "500" and 500 are the same value. When the
// field is file.size, a value with a unit is a byte count, 1024-based:
// "1.5mb" is 1572864 and "2 KB" is 2048. With other fields a unit is just
// text, so "file.width" < "1mb" is a syntax error.
//
// Folders are compared with leading and trailing "/" trimmed on both sides,
// so "marketing/" equals the folder "/marketing" and "/" equals the root.
// The three boolean request fields compare case-insensitively.
// Tags are trimmed and empty tags dropped. customMetadata strings, numbers
// and booleans are scalars; arrays are lists of their scalar elements.
//
// # Operators
//
//	:          equal: numerically if both sides are numeric, else as exact
//	           strings; for a list field, the list contains the value
//	< <= > >=  numeric order; the value must be numeric (a syntax error
//	           otherwise); false if the field's value is not numeric
//	HAS        a list field contains the value; any other field contains
//	           it as a substring (of the decimal form, for a number)
//	IN         the value (every element, for a list field) is in the list
//	NOT IN     the negation of IN
//
// A comparison on a missing field is false, whatever the operator
// (NOT IN included). Missing means: no such form field, no such metadata
// key (or a null, object or empty array), no tags, or a zero/empty file
// property other than size.
//
// # Errors and limits
//
// Every error from Parse wraps [ErrSyntax] and names the byte offset of
// the problem. Empty or blank input, trailing tokens, input longer than 4096
// bytes and more than 64 nested levels of parentheses and NOT are errors.
//
// # Usage
//
//	expr, err := checks.Parse(`"file.size" < "1mb" AND "request.folder" : "marketing/"`)
//	if err != nil {
//		return errors.New("Your request contains invalid syntax for the checks parameter.")
//	}
//	in := checks.Input{
//		Size:    int64(len(data)),
//		Request: map[string]string{"folder": "/marketing"},
//	}
//	if !expr.Eval(in) {
//		return errors.New("Your request failed 'checks' validation.")
//	}
package checks
