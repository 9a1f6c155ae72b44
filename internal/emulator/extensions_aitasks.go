package emulator

import (
	"fmt"
	"slices"
	"strings"
)

// The ai-tasks extension's rules, from ImageKit's extension documentation and the
// SDKs' types (imagekit-go/v2 shared.ExtensionAITasksParam): a non-empty tasks
// array of select_tags, select_metadata and yes_no tasks, each with an instruction.

const (
	maxVocabularyChars = 500 // the combined length of a select_tags vocabulary
	maxAITasks         = 10
)

var aiTaskProps = map[string][]string{
	"select_tags":     {"type", "instruction", "vocabulary", "min_selections", "max_selections"},
	"select_metadata": {"type", "instruction", "field", "vocabulary", "min_selections", "max_selections"},
	"yes_no":          {"type", "instruction", "on_yes", "on_no", "on_unknown"},
}

var aiActionProps = []string{"add_tags", "remove_tags", "set_metadata", "unset_metadata"}

// checkAITasks reports what is wrong with an ai-tasks extension object, or "".
func checkAITasks(r map[string]any) string {
	for k := range r {
		if k != "name" && k != "tasks" {
			return "unknown property " + k
		}
	}
	tasks, ok := r["tasks"].([]any)
	if !ok || len(tasks) == 0 {
		return "tasks is required, a non-empty array of tasks"
	}
	if len(tasks) > maxAITasks {
		return fmt.Sprintf("tasks can hold at most %d tasks", maxAITasks)
	}
	for i, raw := range tasks {
		t, ok := raw.(map[string]any)
		if !ok {
			return fmt.Sprintf("tasks[%d] must be an object", i)
		}
		if d := checkAITask(t); d != "" {
			return fmt.Sprintf("tasks[%d]: %s", i, d)
		}
	}
	return ""
}

func checkAITask(t map[string]any) string {
	typ, _ := t["type"].(string)
	props, known := aiTaskProps[typ]
	if !known {
		return "type must be select_tags, select_metadata or yes_no"
	}
	for k := range t {
		if !slices.Contains(props, k) {
			return "unknown property " + k
		}
	}
	if s, ok := t["instruction"].(string); !ok || strings.TrimSpace(s) == "" {
		return "instruction is required"
	}
	switch typ {
	case "select_tags":
		if d := checkTagVocabulary(t["vocabulary"]); d != "" {
			return d
		}
		return checkSelections(t)
	case "select_metadata":
		if s, ok := t["field"].(string); !ok || s == "" {
			return "field is required, the name of a custom metadata field"
		}
		if v, ok := t["vocabulary"]; ok {
			list, ok := v.([]any)
			if !ok {
				return "vocabulary must be an array"
			}
			for _, x := range list {
				switch x.(type) {
				case string, float64, bool:
				default:
					return "vocabulary items must be strings, numbers or booleans"
				}
			}
		}
		return checkSelections(t)
	default: // yes_no
		for _, k := range []string{"on_yes", "on_no", "on_unknown"} {
			if v, ok := t[k]; ok {
				if d := checkAIActions(v); d != "" {
					return k + ": " + d
				}
			}
		}
	}
	return ""
}

func checkTagVocabulary(v any) string {
	if v == nil {
		return ""
	}
	list, ok := v.([]any)
	if !ok {
		return "vocabulary must be an array of strings"
	}
	n := 0
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return "vocabulary must be an array of strings"
		}
		if strings.Contains(s, "%") {
			return "vocabulary values cannot include %"
		}
		n += len([]rune(s))
	}
	if n > maxVocabularyChars {
		return fmt.Sprintf("vocabulary can have at most %d characters in all", maxVocabularyChars)
	}
	return ""
}

// checkSelections: min_selections and max_selections are non-negative integers,
// the minimum not above the maximum.
func checkSelections(t map[string]any) string {
	get := func(k string) (float64, string) {
		v, ok := t[k]
		if !ok {
			return -1, ""
		}
		f, ok := v.(float64)
		if !ok || f < 0 || f != float64(int64(f)) {
			return 0, k + " must be a non-negative integer"
		}
		return f, ""
	}
	lo, d := get("min_selections")
	if d != "" {
		return d
	}
	hi, d := get("max_selections")
	if d != "" {
		return d
	}
	if lo >= 0 && hi >= 0 && lo > hi {
		return "min_selections cannot be greater than max_selections"
	}
	return ""
}

// checkAIActions checks a yes_no task's on_yes, on_no or on_unknown object.
func checkAIActions(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "must be an object"
	}
	for k, x := range m {
		if !slices.Contains(aiActionProps, k) {
			return "unknown property " + k
		}
		list, ok := x.([]any)
		if !ok {
			return k + " must be an array"
		}
		for _, item := range list {
			switch k {
			case "add_tags", "remove_tags":
				if _, ok := item.(string); !ok {
					return k + " must be an array of strings"
				}
			default:
				obj, ok := item.(map[string]any)
				if !ok {
					return k + " must be an array of objects"
				}
				if f, ok := obj["field"].(string); !ok || f == "" {
					return k + " items need a field"
				}
				if _, ok := obj["value"]; k == "set_metadata" && !ok {
					return k + " items need a value"
				}
			}
		}
	}
	return ""
}
