package tasks_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/tasks"
)

// The lists of Upload options kept outside tasks are checked here against
// tasks.Options, so that an option added there and forgotten elsewhere fails by name.
// (The enqueue flags, the manifest columns and the job decoder are derived from it; the
// worker's mapping to the Upload API is checked in package worker.)

// TestOptionsImageKitParams: the Upload API client has a field for every Upload API
// option but file (sent as the file part), and no other.
func TestOptionsImageKitParams(t *testing.T) {
	t.Parallel()
	params := map[string]bool{}
	typ := reflect.TypeFor[imagekit.Params]()
	for i := range typ.NumField() {
		params[strings.ToLower(typ.Field(i).Name)] = true
	}
	api := map[string]bool{}
	for _, o := range tasks.Options() {
		if !o.UploadAPI || o.Name == "file" {
			continue
		}
		api[strings.ToLower(o.Name)] = true
		if !params[strings.ToLower(o.Name)] {
			t.Errorf("Upload API option %s has no field in imagekit.Params (internal/imagekit/upload.go)", o.Name)
		}
	}
	for name := range params {
		if !api[name] {
			t.Errorf("imagekit.Params has a field %q that is no Upload API option of tasks.Options", name)
		}
	}
}

// TestOptionsOpenAPI: the OpenAPI document's Upload schema has a property per option,
// and no other.
func TestOptionsOpenAPI(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "internal", "apiserver", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["Upload"].Properties
	if len(props) == 0 {
		t.Fatal("openapi.json has no components.schemas.Upload.properties")
	}
	names := map[string]bool{}
	for _, o := range tasks.Options() {
		names[o.Name] = true
		if _, ok := props[o.Name]; !ok {
			t.Errorf("option %s is not a property of the Upload schema in internal/apiserver/openapi.json", o.Name)
		}
	}
	for p := range props {
		if !names[p] {
			t.Errorf("the Upload schema of openapi.json has a property %q that is no option of tasks.Options", p)
		}
	}
}

// TestOptionsEmulator: the emulator reads every Upload API option: its name is a
// string in the code that reads an upload's form (parseParams, and form.go for the file
// part). The emulator cannot import tasks, so its source is read instead.
func TestOptionsEmulator(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "internal", "emulator")
	fset := token.NewFileSet()
	read := map[string]bool{}
	collect := func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					read[s] = true
				}
			}
			return true
		})
	}
	found := false
	for _, name := range []string{"params.go", "form.go"} {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if name == "form.go" || fn.Name.Name == "parseParams" {
				found = found || fn.Name.Name == "parseParams"
				collect(fn)
			}
		}
	}
	if !found {
		t.Fatal("internal/emulator/params.go has no func parseParams: update this test to where the emulator reads upload options")
	}
	for _, o := range tasks.Options() {
		if o.UploadAPI && !read[o.Name] {
			t.Errorf("the emulator does not read Upload API option %s (internal/emulator/params.go parseParams)", o.Name)
		}
	}
}
