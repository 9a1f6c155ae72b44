package search

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

// fixture items: a recent tagged PNG, an old private JPEG, a video, a folder and
// an older version of the PNG.
func fixture() map[string]*Item {
	return map[string]*Item{
		"png": {
			Type: "file", ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Name: "red-dress-summer.png", Folder: "/shop/dresses",
			Tags: []string{"sale", "summer-collection"}, AITags: []string{"Dress"},
			CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now.Add(-time.Hour),
			Size: 2 << 20, Width: 800, Height: 600, Format: "png", Published: true, Transparency: true,
			CustomMetadata:   map[string]any{"brand": "Nike", "price": 120.5, "active": true, "colors": []any{"red", "blue"}, "launch": "2024-05-01T00:00:00.000Z"},
			EmbeddedMetadata: map[string]any{"Keywords": []any{"luxury", "dress"}},
		},
		"jpg": {
			Type: "file", ID: "bbbbbbbbbbbbbbbbbbbbbbbb", Name: "red-dress-winter.jpg", Folder: "/shop",
			CreatedAt: time.Date(2019, 12, 31, 23, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2020, 1, 1, 12, 12, 12, 0, time.UTC),
			Size: 512, Width: 100, Height: 1200, Format: "jpg", Private: true, Published: true,
			CustomMetadata: map[string]any{"brand": "Adidas", "price": 80.0},
		},
		"mp4": {
			Type: "file", ID: "cccccccccccccccccccccccc", Name: "Blue Dress Movie.mp4", Folder: "/",
			CreatedAt: now.AddDate(0, 0, -10), UpdatedAt: now.AddDate(0, 0, -10),
			Size: 10 << 20, Format: "mp4", Published: false,
		},
		"folder": {
			Type: "folder", ID: "dddddddddddddddddddddddd", Name: "dresses", Folder: "/shop",
			CreatedAt: now.AddDate(-1, 0, 0), UpdatedAt: now.AddDate(-1, 0, 0),
		},
		"old": {
			Type: "file-version", ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Name: "red-dress-summer.png", Folder: "/shop/dresses",
			CreatedAt: now.AddDate(0, 0, -3), UpdatedAt: now.AddDate(0, 0, -3), Size: 100, Width: 10, Height: 10, Format: "png", Published: true,
		},
	}
}

var order = []string{"png", "jpg", "mp4", "folder", "old"}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  string // the fixture items that match, in fixture order
	}{
		// name: = exact and case-sensitive, : prefix, IN, NOT =, !=, NOT IN, HAS.
		{`name = "red-dress-summer.png"`, "png old"},
		{`name = "RED-DRESS-SUMMER.PNG"`, ""},
		{`name : "red-dress"`, "png jpg old"},
		{`name IN ["red-dress-winter.jpg", "dresses"]`, "jpg folder"},
		{`name NOT = "red-dress-summer.png"`, "jpg mp4 folder"},
		{`name != "red-dress-summer.png"`, "jpg mp4 folder"},
		{`name NOT IN ["red-dress-summer.png", "dresses"]`, "jpg mp4"},
		{`name HAS "blue dre"`, "mp4"},
		{`name HAS "DRESS"`, "png jpg mp4 folder old"}, // the last word is a prefix
		// type
		{`type = "file"`, "png jpg mp4"},
		{`type = "folder"`, "folder"},
		{`type IN ["file", "file-version"]`, "png jpg mp4 old"},
		{`type NOT = "file"`, "folder old"},
		{`type NOT IN ["file", "folder"]`, "old"},
		// id
		{`id = "bbbbbbbbbbbbbbbbbbbbbbbb"`, "jpg"},
		// tags search tags and AITags
		{`tags IN ["sale", "banner"]`, "png"},
		{`tags IN ["Dress"]`, "png"},
		{`tags NOT IN ["sale"]`, "jpg mp4 folder old"},
		{`tags HAS "summer"`, "png"},
		{`tags EXISTS`, "png"},
		{`tags NOT EXISTS`, "jpg mp4 folder old"},
		// dates: ISO day, ISO time, relative units
		{`createdAt < 2020-01-01`, "jpg"},
		{`createdAt > "7d"`, "png old"},
		{`createdAt >= "1w"`, "png old"},
		{`createdAt > "1h"`, ""},
		{`createdAt > "3h"`, "png"},
		{`createdAt < "1m"`, "jpg folder"},
		{`createdAt <= "1y"`, "jpg folder"},
		{`updatedAt = "2020-01-01"`, "jpg"},
		{`updatedAt = "2020-01-01T12:12:12"`, "jpg"},
		{`updatedAt = "2020-01-01T12:12:13"`, ""},
		{`updatedAt IN ["2019-01-01", "2020-01-01"]`, "jpg"},
		{`updatedAt NOT = "2020-01-01"`, "png mp4 folder old"},
		{`updatedAt NOT IN ["2020-01-01"]`, "png mp4 folder old"},
		// numbers: only files with dimensions have width and height
		{`width > 500`, "png"},
		{`width <= 100`, "jpg old"},
		{`height >= 1200`, "jpg"},
		{`height < 1000`, "png old"},
		{`width = 800`, "png"},
		{`width IN [10, 100]`, "jpg old"},
		{`width NOT = 800`, "jpg mp4 folder old"},
		{`width NOT IN [800, 100]`, "mp4 folder old"},
		// size: bytes or units
		{`size < "1mb"`, "jpg old"},
		{`size <= 512`, "jpg old"},
		{`size > "1.5MB"`, "png mp4"},
		{`size = "2mb"`, "png"},
		{`size >= "10mb"`, "mp4"},
		// format, booleans
		{`format = "png"`, "png old"},
		{`format IN ["jpg", "mp4"]`, "jpg mp4"},
		{`private = true`, "jpg"},
		{`private = false`, "png mp4 old"},
		{`published = false`, "mp4"},
		{`transparency = true`, "png"},
		// path: = one folder, : the folder and its subfolders
		{`path = "/shop/"`, "jpg folder"},
		{`path = "shop"`, "jpg folder"},
		{`path : "/shop"`, "png jpg folder old"},
		{`path : "/"`, "png jpg mp4 folder old"},
		{`path = "/"`, "mp4"},
		{`path IN ["/", "/shop/dresses"]`, "png mp4 old"},
		{`path NOT = "/shop"`, "png mp4 old"},
		// custom and embedded metadata, typed by the literal
		{`"customMetadata.brand" = "Nike"`, "png"},
		{`"customMetadata.brand" : "Adi"`, "jpg"},
		{`"customMetadata.brand" IN ["Nike", "Puma"]`, "png"},
		{`"customMetadata.brand" NOT = "Nike"`, "jpg mp4 folder old"},
		{`"customMetadata.price" > 100`, "png"},
		{`"customMetadata.price" <= 80`, "jpg"},
		{`"customMetadata.price" = "80"`, ""},
		{`"customMetadata.active" = true`, "png"},
		{`"customMetadata.colors" IN ["blue"]`, "png"},
		{`"customMetadata.colors" NOT IN ["blue"]`, "jpg mp4 folder old"},
		{`"customMetadata.launch" > "2024-04-01"`, "png"},
		{`"customMetadata.launch" < "2024-04-01"`, ""},
		{`"customMetadata.brand" EXISTS`, "png jpg"},
		{`"customMetadata.brand" NOT EXISTS`, "mp4 folder old"},
		{`"customMetadata.brand" HAS "nik"`, "png"},
		{`"embeddedMetadata.Keywords" IN ["luxury"]`, "png"},
		// the emulator has no users
		{`createdBy = "a@example.com"`, ""},
		{`createdBy NOT = "a@example.com"`, "png jpg mp4 folder old"},
		// AND binds tighter than OR; parentheses group.
		{`name : "red" AND type = "file" OR type = "folder"`, "png jpg folder"},
		{`type = "folder" OR name : "red" AND type = "file"`, "png jpg folder"},
		{`name : "red" AND (type = "file" OR type = "folder")`, "png jpg"},
		{`(size < "1mb" AND width > 500) OR (tags IN ["summer-collection","banner"])`, "png"},
		{`((type = "file")) AND ((format = "jpg") OR (format = "mp4"))`, "jpg mp4"},
		// rclone's own queries
		{`type = "file" AND name = "red-dress-winter.jpg"`, "jpg"},
		{`type = "folder" AND name = "dresses"`, "folder"},
		{`type IN ["file", "file-version"]`, "png jpg mp4 old"},
		// whitespace is free
		{"name=\"red-dress-winter.jpg\"", "jpg"},
		{"  width>500\n", "png"},
	}
	items := fixture()
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			q, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, k := range order {
				if q.Match(items[k], now) {
					got = append(got, k)
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("matched %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

func TestSelectsVersions(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]bool{
		`type = "file"`:                                 false,
		`name = "x"`:                                    false,
		`type = "file-version"`:                         true,
		`type IN ["file", "file-version"]`:              true,
		`name = "x" AND (type IN ["file-version"])`:     true,
		`type NOT = "file-version"`:                     false,
		`type NOT IN ["file-version"] OR type = "file"`: false,
	} {
		p, err := Parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if p.SelectsVersions() != want {
			t.Errorf("%s: SelectsVersions() = %v, want %v", q, !want, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query, msg string
		pos        int
	}{
		{``, "the query is empty", 0},
		{`   `, "the query is empty", 0},
		{`name`, "expected an operator, found the end of the query", 4},
		{`name =`, "expected a value, found the end of the query", 6},
		{`name = "x" AND`, "expected a field name, found the end of the query", 14},
		{`name = "x" OR OR`, `expected a field name, found "OR"`, 14},
		{`name = "x" name = "y"`, `unexpected "name", expected AND, OR or the end`, 11},
		{`name = "x`, "unterminated string", 7},
		{`name = "x\`, "unfinished escape in a string", 9},
		{`(name = "x"`, `missing ")"`, 11},
		{`name = "x")`, `unexpected ")", expected AND, OR or the end`, 10},
		{`colour = "red"`, `unknown field "colour"`, 0},
		{`"customMetadata." = "x"`, `"customMetadata." names no metadata field`, 0},
		{`tags = "sale"`, "operator = is not supported for tags", 5},
		{`size : "1mb"`, "operator : is not supported for size", 5},
		{`private > true`, "operator > is not supported for private", 8},
		{`format NOT = "png"`, "operator NOT = is not supported for format", 7},
		{`type = "image"`, `type takes "file", "file-version" or "folder", found "image"`, 7},
		{`createdAt > "yesterday"`, `createdAt takes an ISO 8601 date or a relative time such as 7d, found "yesterday"`, 12},
		{`createdAt > "7x"`, `createdAt takes an ISO 8601 date or a relative time such as 7d, found "7x"`, 12},
		{`width > "wide"`, `width takes a number, found "wide"`, 8},
		{`size < "1tb"`, `size takes a number of bytes or a size such as "1mb", found "1tb"`, 7},
		{`private = yes`, `private takes true or false, found "yes"`, 10},
		{`tags IN "sale"`, `expected "[" to start a list, found "sale"`, 8},
		{`tags IN ["a" "b"]`, `expected "," or "]" in the list, found "b"`, 13},
		{`tags IN []`, `expected a value in the list, found "]"`, 9},
		{`tags IN ["a",]`, `expected a value in the list, found "]"`, 13},
		{`name NOT "x"`, `expected =, IN or EXISTS after NOT, found "x"`, 9},
		{`name ! "x"`, `"!" must be followed by "="`, 5},
		{`name = AND`, `expected a value, found "AND"`, 7},
		{"name = \"\xff\"", "the query is not valid UTF-8", 8},
		{strings.Repeat("(", maxDepth+1) + `name = "x"` + strings.Repeat(")", maxDepth+1), "parentheses are nested too deeply", maxDepth},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.query)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tt.query, err)
			}
			if se.Msg != tt.msg || se.Pos != tt.pos {
				t.Errorf("got %q at %d, want %q at %d", se.Msg, se.Pos, tt.msg, tt.pos)
			}
		})
	}
}

func TestCleanFolder(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "/", "/": "/", "a": "/a", "/a/b/": "/a/b", "//a//b": "/a/b"} {
		if got := CleanFolder(in); got != want {
			t.Errorf("CleanFolder(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`type = "file" AND name = "x"`, `(size < "1mb" AND width > 500) OR (tags IN ["a","b"])`,
		`createdAt > "7d"`, `"customMetadata.price" >= 10.5`, `tags NOT EXISTS`, `name HAS "a b"`,
		`path : "/a/"`, `name = "a\"b"`, `((`, `[`, `name NOT IN [1, true, "x"]`,
	} {
		f.Add(s)
	}
	items := fixture()
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(s) || se.Msg == "" {
				t.Fatalf("Parse(%q): %v is not a well-formed *SyntaxError", s, err)
			}
			return
		}
		for _, it := range items {
			q.Match(it, now) // must not panic
		}
	})
}
