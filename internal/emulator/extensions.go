package emulator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// extension is one entry of the upload's extensions option.
type extension struct {
	Name string
	// remove-bg
	Options map[string]any
	// google-auto-tagging, aws-auto-tagging
	MinConfidence float64
	MaxTags       int
}

const (
	extRemoveBG       = "remove-bg"
	extGoogleTagging  = "google-auto-tagging"
	extAWSTagging     = "aws-auto-tagging"
	extAutoDescribe   = "ai-auto-description"
	extAITasks        = "ai-tasks"
	extSaved          = "saved-extension"
	maxExtensions     = 10
	maxAutoTags       = 30
	maxExtensionValue = 100
)

var removeBGOptions = map[string]string{
	"add_shadow": "bool", "semitransparency": "bool", "bg_color": "string", "bg_colour": "string", "bg_image_url": "string",
}

// parseExtensions reads the stringified JSON array of extensions and checks each
// one's options: remove-bg's booleans and exclusive background, the auto-tagging
// extensions' required minConfidence (0-100) and maxTags (0-30).
func parseExtensions(v string) ([]extension, *apiError) {
	var raw []map[string]any
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return nil, invalidParam("extensions", "It must be a JSON array of extension objects.")
	}
	if len(raw) > maxExtensions {
		return nil, invalidParam("extensions", fmt.Sprintf("At most %d extensions can be requested.", maxExtensions))
	}
	var out []extension
	seen := map[string]bool{}
	for i, r := range raw {
		name, _ := r["name"].(string)
		bad := func(detail string) *apiError {
			return invalidParam("extensions", fmt.Sprintf("extensions[%d] (%s): %s", i, name, detail))
		}
		if seen[name] {
			return nil, bad("each extension can be requested once")
		}
		seen[name] = true
		e := extension{Name: name}
		switch name {
		case extRemoveBG:
			for k := range r {
				if k != "name" && k != "options" {
					return nil, bad("unknown property " + k)
				}
			}
			if o, ok := r["options"]; ok {
				opts, ok := o.(map[string]any)
				if !ok {
					return nil, bad("options must be an object")
				}
				for k, v := range opts {
					kind, known := removeBGOptions[k]
					if !known {
						return nil, bad("unknown option " + k)
					}
					if _, isBool := v.(bool); kind == "bool" && !isBool {
						return nil, bad(k + " must be true or false")
					}
					if _, isStr := v.(string); kind == "string" && !isStr {
						return nil, bad(k + " must be a string")
					}
				}
				_, color := opts["bg_color"]
				_, colour := opts["bg_colour"]
				if _, image := opts["bg_image_url"]; image && (color || colour) {
					return nil, bad("bg_color and bg_image_url cannot be used together")
				}
				e.Options = opts
			}
		case extGoogleTagging, extAWSTagging:
			for k := range r {
				if k != "name" && k != "minConfidence" && k != "maxTags" {
					return nil, bad("unknown property " + k)
				}
			}
			conf, ok := r["minConfidence"].(float64)
			if !ok || conf < 0 || conf > maxExtensionValue {
				return nil, bad("minConfidence is required, a number from 0 to 100")
			}
			tags, ok := r["maxTags"].(float64)
			if !ok || tags < 0 || tags > maxAutoTags || tags != float64(int(tags)) {
				return nil, bad("maxTags is required, an integer from 0 to 30")
			}
			e.MinConfidence, e.MaxTags = conf, int(tags)
		case extAutoDescribe:
			for k := range r {
				if k != "name" {
					return nil, bad("unknown property " + k)
				}
			}
		case extAITasks:
			if detail := checkAITasks(r); detail != "" {
				return nil, bad(detail)
			}
		case extSaved:
			for k := range r {
				if k != "name" && k != "id" {
					return nil, bad("unknown property " + k)
				}
			}
			if id, ok := r["id"].(string); !ok || strings.TrimSpace(id) == "" {
				return nil, bad("id is required, the saved extension's id")
			}
		default:
			return nil, bad("unknown extension; use remove-bg, google-auto-tagging, aws-auto-tagging, ai-auto-description, ai-tasks or saved-extension")
		}
		out = append(out, e)
	}
	return out, nil
}

func (e extension) isAutoTagging() bool { return e.Name == extGoogleTagging || e.Name == extAWSTagging }

// tagVocabulary is what the emulator's auto-tagging "sees". Tags are chosen from it
// deterministically by the file's content hash, so a test can predict them.
var tagVocabulary = []string{
	"Shirt", "Clothing", "Sleeve", "Product", "Fashion", "Outerwear", "Pattern", "Textile",
	"Collar", "Font", "Logo", "Rectangle", "Sky", "Tree", "Building", "Person", "Animal",
	"Vehicle", "Food", "Water", "Plant", "Furniture", "Art", "Design", "Event", "Line",
	"Circle", "Colorfulness", "Electric blue", "Magenta",
}

// autoTags returns the AITags an auto-tagging extension gives a file: up to maxTags
// tags with confidence at least minConfidence, the same for the same content.
func autoTags(e extension, contentKey string) []aiTag {
	h := fnv.New64a()
	h.Write([]byte(e.Name + "\x00" + contentKey))
	seed := h.Sum64()
	var tags []aiTag
	for i := 0; i < len(tagVocabulary) && len(tags) < e.MaxTags; i++ {
		name := tagVocabulary[(seed+uint64(i)*7)%uint64(len(tagVocabulary))]
		if slices.ContainsFunc(tags, func(t aiTag) bool { return t.Name == name }) {
			continue
		}
		// Confidence falls from 99.9 by a deterministic step per tag.
		// It is compared with minConfidence as reported, cut to 2 decimals.
		conf := 99.9 - float64(i)*1.7 - float64((seed>>uint(i%32))%10)/10
		conf = float64(int(conf*100)) / 100
		if conf < e.MinConfidence {
			break
		}
		tags = append(tags, aiTag{Name: name, Confidence: conf, Source: e.Name})
	}
	return tags
}

// describe is the ai-auto-description result for a file.
func describe(a *asset) string {
	kind := strings.SplitN(a.Mime, "/", 2)[0]
	if a.Width > 0 {
		return fmt.Sprintf("A %dx%d %s named %s.", a.Width, a.Height, kind, a.Name)
	}
	return fmt.Sprintf("A %s file named %s.", kind, a.Name)
}
