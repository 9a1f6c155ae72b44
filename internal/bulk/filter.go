package bulk

import (
	"fmt"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// CheckGlobs reports the first pattern of -include or -exclude that is not a valid
// glob, naming it.
func CheckGlobs(patterns []string) error {
	for _, p := range patterns {
		if !doublestar.ValidatePattern(p) {
			return usagef("%q is not a valid glob: use *, ?, [a-z], {a,b} and ** for any folders", p)
		}
	}
	return nil
}

// excludes reports whether the plan's -include and -exclude leave the item out. A
// pattern without / matches the file name in any folder; one with / matches the path
// under the folder or bucket prefix (for a manifest item: its folder and file name).
func (p *Plan) excludes(it *item) bool {
	if len(p.Include) == 0 && len(p.Exclude) == 0 || it.err != nil {
		return false
	}
	if len(p.Include) > 0 && !matchAny(p.Include, it.rel) {
		return true
	}
	return matchAny(p.Exclude, it.rel)
}

func matchAny(patterns []string, rel string) bool {
	for _, pat := range patterns {
		target := rel
		if !strings.Contains(pat, "/") {
			target = path.Base(rel)
		}
		if ok, _ := doublestar.Match(pat, target); ok {
			return true
		}
	}
	return false
}

// excludedNote is the summary's word on excluded items.
func excludedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d excluded by -include/-exclude", n)
}
