package emulator

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/ikq-dev/ikq/internal/emulator/checks"
)

// uploadParams are an upload's options, parsed and checked by the rules of the
// Upload API (https://imagekit.io/docs/api-reference/upload-file/upload-file).
type uploadParams struct {
	FileName          string // cleaned: disallowed characters replaced with _
	UseUniqueFileName bool
	Tags              []string
	TagsSet           bool
	Folder            string // "/" or "/a/b"
	IsPrivateFile     bool
	IsPublished       bool
	CustomCoordinates string
	ResponseFields    map[string]bool
	Extensions        []extension
	WebhookURL        string

	OverwriteFile           bool
	OverwriteAITags         bool
	OverwriteTags           bool
	OverwriteCustomMetadata bool

	CustomMetadata    map[string]any
	CustomMetadataSet bool
	Transformation    *transformation
	Checks            *checks.Expr
	Description       string
}

// responseFieldNames are the values responseFields accepts.
var responseFieldNames = map[string]bool{
	"tags": true, "customCoordinates": true, "isPrivateFile": true, "embeddedMetadata": true,
	"isPublished": true, "customMetadata": true, "metadata": true, "selectedFieldsSchema": true,
}

const (
	maxTagChars    = 500
	maxFolderDepth = 50
)

var coordinatesPattern = regexp.MustCompile(`^\d{1,9},\d{1,9},\d{1,9},\d{1,9}$`)

// parseParams reads the upload options from the form fields. It reports the first
// broken rule, as the Upload API does.
func parseParams(fields map[string]string) (*uploadParams, *apiError) {
	p := &uploadParams{}
	var err *apiError
	name, ok := fields["fileName"]
	if !ok || strings.TrimSpace(name) == "" {
		return nil, badRequest(msgMissingFileName)
	}
	p.FileName = cleanFileName(strings.TrimSpace(name))

	bools := []struct {
		name string
		dst  *bool
		def  bool
	}{
		{"useUniqueFileName", &p.UseUniqueFileName, true},
		{"isPrivateFile", &p.IsPrivateFile, false},
		{"isPublished", &p.IsPublished, true},
		{"overwriteFile", &p.OverwriteFile, true},
		{"overwriteAITags", &p.OverwriteAITags, true},
		{"overwriteTags", &p.OverwriteTags, true},
		{"overwriteCustomMetadata", &p.OverwriteCustomMetadata, true},
	}
	for _, b := range bools {
		if *b.dst, err = parseBool(fields, b.name, b.def); err != nil {
			return nil, err
		}
	}

	if v, ok := fields["tags"]; ok {
		p.TagsSet = true
		if p.Tags, err = parseTags(v); err != nil {
			return nil, err
		}
	}
	if p.Folder, err = parseFolder(fields["folder"]); err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(fields["customCoordinates"]); v != "" {
		if !coordinatesPattern.MatchString(v) {
			return nil, invalidParam("customCoordinates", "Use the format x,y,width,height with non-negative integers, for example 10,10,100,100.")
		}
		p.CustomCoordinates = v
	}
	if v := strings.TrimSpace(fields["responseFields"]); v != "" {
		p.ResponseFields = map[string]bool{}
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if !responseFieldNames[f] {
				return nil, invalidParam("responseFields", f+" is not a field the response can include.")
			}
			p.ResponseFields[f] = true
		}
	}
	if v := strings.TrimSpace(fields["extensions"]); v != "" {
		if p.Extensions, err = parseExtensions(v); err != nil {
			return nil, err
		}
	}
	if v := strings.TrimSpace(fields["webhookUrl"]); v != "" {
		u, perr := url.Parse(v)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, invalidParam("webhookUrl", "It must be an absolute http or https URL.")
		}
		p.WebhookURL = v
	}
	if v, ok := fields["customMetadata"]; ok && strings.TrimSpace(v) != "" {
		p.CustomMetadataSet = true
		if jerr := json.Unmarshal([]byte(v), &p.CustomMetadata); jerr != nil || p.CustomMetadata == nil {
			return nil, invalidParam("customMetadata", "It must be a JSON object of field names and values.")
		}
	}
	if v := strings.TrimSpace(fields["transformation"]); v != "" {
		if p.Transformation, err = parseTransformation(v); err != nil {
			return nil, err
		}
	}
	if v, ok := fields["checks"]; ok {
		expr, cerr := checks.Parse(v)
		if cerr != nil {
			return nil, badRequest(msgChecksSyntax)
		}
		p.Checks = expr
	}
	p.Description = fields["description"]
	return p, nil
}

func parseBool(fields map[string]string, name string, def bool) (bool, *apiError) {
	v, ok := fields[name]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidParam(name, "It accepts true or false.")
}

// cleanFileName keeps unicode letters, marks and numerals, '.' and '-'; every other
// character, space included, becomes '_'.
func cleanFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, name)
}

func parseTags(v string) ([]string, *apiError) {
	if strings.Contains(v, "%") {
		return nil, invalidParam("tags", "% is not allowed in tags.")
	}
	var tags []string
	total := 0
	for _, t := range strings.Split(v, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		total += len([]rune(t))
		tags = append(tags, t)
	}
	if total > maxTagChars {
		return nil, invalidParam("tags", "Combined length of all tags should be less than or equal to 500.")
	}
	return tags, nil
}

// parseFolder checks a folder path and returns it as "/" or "/a/b".
func parseFolder(v string) (string, *apiError) {
	var parts []string
	for _, seg := range strings.Split(strings.TrimSpace(v), "/") {
		if seg == "" {
			continue
		}
		for _, r := range seg {
			if !(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '_' || r == '-') {
				return "", invalidParam("folder", "A folder name can contain letters, digits, / _ and - only.")
			}
		}
		parts = append(parts, seg)
	}
	if len(parts) > maxFolderDepth {
		return "", invalidParam("folder", "Folders can be nested at most 50 levels deep.")
	}
	return "/" + strings.Join(parts, "/"), nil
}

// filePath joins a folder and a file name.
func filePath(folder, name string) string {
	if folder == "/" {
		return "/" + name
	}
	return folder + "/" + name
}

// uniqueName inserts ImageKit's unique suffix before the extension.
func uniqueName(name, suffix string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[:i] + "_" + suffix + name[i:]
	}
	return name + "_" + suffix
}
