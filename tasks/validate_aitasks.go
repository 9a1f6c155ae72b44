package tasks

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// The ai-tasks extension's rules, as ImageKit documents them (the extensions
// parameter of https://imagekit.io/docs/api-reference/upload-file/upload-file)
// and its SDKs type them: a non-empty array of at most 10 tasks, each a
// select_tags, select_metadata or yes_no task with an instruction.
const (
	maxAITasks         = 10
	maxVocabularyChars = 500 // a select_tags vocabulary, all values together
)

// aiTaskProps are the properties each kind of task takes.
var aiTaskProps = map[string][]string{
	"select_tags":     {"type", "instruction", "vocabulary", "min_selections", "max_selections"},
	"select_metadata": {"type", "instruction", "field", "vocabulary", "min_selections", "max_selections"},
	"yes_no":          {"type", "instruction", "on_yes", "on_no", "on_unknown"},
}

// aiActions are what a yes_no task may do on each answer.
var aiActions = []string{"add_tags", "remove_tags", "set_metadata", "unset_metadata"}

func (c *checker) aiTasks(p string, tasks []map[string]any) {
	if len(tasks) == 0 {
		c.add(p, p+" is required for ai-tasks: a non-empty array of tasks.")
		return
	}
	if len(tasks) > maxAITasks {
		c.add(p, fmt.Sprintf("%s may hold at most %d tasks; it has %d.", p, maxAITasks, len(tasks)))
	}
	for i, t := range tasks {
		c.aiTask(fmt.Sprintf("%s[%d]", p, i), t)
	}
}

func (c *checker) aiTask(p string, t map[string]any) {
	typ, _ := t["type"].(string)
	props, known := aiTaskProps[typ]
	if !known {
		c.add(p+".type", p+".type must be select_tags, select_metadata or yes_no.")
		return
	}
	for _, k := range sortedKeys(t) {
		if !slices.Contains(props, k) {
			c.add(p+"."+k, fmt.Sprintf("%s.%s: a %s task takes only %s.", p, k, typ, strings.Join(props, ", ")))
		}
	}
	if s, ok := t["instruction"].(string); !ok || strings.TrimSpace(s) == "" {
		c.add(p+".instruction", p+".instruction is required: what the AI is asked, as text.")
	}
	switch typ {
	case "select_tags":
		c.tagVocabulary(p+".vocabulary", t["vocabulary"])
		c.selections(p, t)
	case "select_metadata":
		if s, ok := t["field"].(string); !ok || strings.TrimSpace(s) == "" {
			c.add(p+".field", p+".field is required: the name of a custom metadata field.")
		}
		if v, ok := t["vocabulary"]; ok {
			list, ok := asList(v)
			if !ok {
				c.add(p+".vocabulary", p+".vocabulary must be an array.")
			}
			for j, x := range list {
				switch x.(type) {
				case string, float64, int, bool:
				default:
					c.add(fmt.Sprintf("%s.vocabulary[%d]", p, j), fmt.Sprintf("%s.vocabulary[%d] must be a string, a number or a boolean.", p, j))
				}
			}
		}
		c.selections(p, t)
	case "yes_no":
		for _, k := range []string{"on_yes", "on_no", "on_unknown"} {
			if v, ok := t[k]; ok {
				c.aiActions(p+"."+k, v)
			}
		}
	}
}

func (c *checker) tagVocabulary(p string, v any) {
	if v == nil {
		return
	}
	list, ok := asList(v)
	if !ok {
		c.add(p, p+" must be an array of strings.")
		return
	}
	n := 0
	for j, x := range list {
		s, ok := x.(string)
		switch {
		case !ok:
			c.add(fmt.Sprintf("%s[%d]", p, j), fmt.Sprintf("%s[%d] must be a string.", p, j))
		case strings.Contains(s, "%"):
			c.add(fmt.Sprintf("%s[%d]", p, j), fmt.Sprintf("%s[%d] cannot include %%.", p, j))
		}
		n += utf8.RuneCountInString(s)
	}
	if n > maxVocabularyChars {
		c.add(p, fmt.Sprintf("%s may have at most %d characters in all; it has %d.", p, maxVocabularyChars, n))
	}
}

// selections: min_selections and max_selections are non-negative integers, the
// minimum not above the maximum.
func (c *checker) selections(p string, t map[string]any) {
	get := func(k string) (int64, bool) {
		v, ok := t[k]
		if !ok {
			return 0, false
		}
		n, ok := asInt(v)
		if !ok || n < 0 {
			c.add(p+"."+k, fmt.Sprintf("%s.%s must be a non-negative integer.", p, k))
			return 0, false
		}
		return n, true
	}
	lo, hasLo := get("min_selections")
	hi, hasHi := get("max_selections")
	if hasLo && hasHi && lo > hi {
		c.add(p+".min_selections", fmt.Sprintf("%s.min_selections (%d) cannot be greater than max_selections (%d).", p, lo, hi))
	}
}

// aiActions checks a yes_no task's on_yes, on_no or on_unknown object.
func (c *checker) aiActions(p string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		c.add(p, p+" must be an object of actions: "+strings.Join(aiActions, ", ")+".")
		return
	}
	for _, k := range sortedKeys(m) {
		ap := p + "." + k
		if !slices.Contains(aiActions, k) {
			c.add(ap, fmt.Sprintf("%s is not an action; use %s.", ap, strings.Join(aiActions, ", ")))
			continue
		}
		list, ok := asList(m[k])
		if !ok {
			c.add(ap, ap+" must be an array.")
			continue
		}
		for j, item := range list {
			ip := fmt.Sprintf("%s[%d]", ap, j)
			switch k {
			case "add_tags", "remove_tags":
				if _, ok := item.(string); !ok {
					c.add(ip, ip+" must be a tag, a string.")
				}
			default:
				obj, ok := item.(map[string]any)
				if !ok {
					c.add(ip, ip+" must be an object with a field.")
					continue
				}
				if f, ok := obj["field"].(string); !ok || strings.TrimSpace(f) == "" {
					c.add(ip+".field", ip+".field is required: the name of a custom metadata field.")
				}
				if _, ok := obj["value"]; k == "set_metadata" && !ok {
					c.add(ip+".value", ip+".value is required: what set_metadata sets.")
				}
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// asList accepts any slice: JSON gives []any, Go callers may pass []string.
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// asInt accepts a JSON number that is an integer, or a Go integer.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}
