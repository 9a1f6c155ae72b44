package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// metadataField is a custom metadata field, created with the custom metadata fields
// API before any upload may set it.
type metadataField struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Label       string         `json:"label"`
	Description string         `json:"description,omitempty"` // a hint shown with the field; at most 500 characters
	Schema      metadataSchema `json:"schema"`
	DeletedAt   *time.Time     `json:"deletedAt,omitempty"`
}

func (f *metadataField) deleted() bool { return f.DeletedAt != nil }

type metadataSchema struct {
	Type            string   `json:"type"`
	SelectOptions   []any    `json:"selectOptions,omitempty"`
	DefaultValue    any      `json:"defaultValue,omitempty"`
	IsValueRequired bool     `json:"isValueRequired,omitempty"`
	MinValue        any      `json:"minValue,omitempty"`
	MaxValue        any      `json:"maxValue,omitempty"`
	MinLength       *float64 `json:"minLength,omitempty"`
	MaxLength       *float64 `json:"maxLength,omitempty"`
}

// maxFieldDescription is the longest description a field may have (ImageKit's API reference).
const maxFieldDescription = 500

var metadataTypes = []string{"Text", "Textarea", "Number", "Date", "Boolean", "SingleSelect", "MultiSelect"}

// checkSchema reports what is wrong with a field definition, or "".
func (s metadataSchema) check() string {
	if !slices.Contains(metadataTypes, s.Type) {
		return "schema.type must be one of " + strings.Join(metadataTypes, ", ") + "."
	}
	if (s.Type == "SingleSelect" || s.Type == "MultiSelect") && len(s.SelectOptions) == 0 {
		return "schema.selectOptions is required for " + s.Type + "."
	}
	if s.IsValueRequired && s.DefaultValue == nil {
		return "schema.defaultValue is required when schema.isValueRequired is true."
	}
	if s.DefaultValue != nil {
		if msg := s.validate(s.DefaultValue); msg != "" {
			return "schema.defaultValue: " + msg
		}
	}
	return ""
}

// validate reports why v does not fit the schema, or "".
func (s metadataSchema) validate(v any) string {
	switch s.Type {
	case "Text", "Textarea":
		str, ok := v.(string)
		if !ok {
			return "must be a string"
		}
		n := float64(len([]rune(str)))
		if s.MinLength != nil && n < *s.MinLength {
			return fmt.Sprintf("must be at least %v characters", *s.MinLength)
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			return fmt.Sprintf("must be at most %v characters", *s.MaxLength)
		}
	case "Number":
		n, ok := v.(float64)
		if !ok {
			return "must be a number"
		}
		if lo, ok := s.MinValue.(float64); ok && n < lo {
			return fmt.Sprintf("must be at least %v", lo)
		}
		if hi, ok := s.MaxValue.(float64); ok && n > hi {
			return fmt.Sprintf("must be at most %v", hi)
		}
	case "Date":
		str, ok := v.(string)
		t, err := parseMetadataDate(str)
		if !ok || err != nil {
			return "must be a date in ISO 8601 format"
		}
		if lo, ok := s.MinValue.(string); ok {
			if l, err := parseMetadataDate(lo); err == nil && t.Before(l) {
				return "must not be before " + lo
			}
		}
		if hi, ok := s.MaxValue.(string); ok {
			if h, err := parseMetadataDate(hi); err == nil && t.After(h) {
				return "must not be after " + hi
			}
		}
	case "Boolean":
		if _, ok := v.(bool); !ok {
			return "must be true or false"
		}
	case "SingleSelect":
		if !isOption(s.SelectOptions, v) {
			return "must be one of the field's selectOptions"
		}
	case "MultiSelect":
		list, ok := v.([]any)
		if !ok {
			return "must be an array of the field's selectOptions"
		}
		for _, x := range list {
			if !isOption(s.SelectOptions, x) {
				return fmt.Sprintf("%v is not one of the field's selectOptions", x)
			}
		}
	}
	return ""
}

// isOption reports whether v is one of opts. Only scalars can be options: comparing
// a map or slice with == would panic.
func isOption(opts []any, v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return slices.Contains(opts, v)
	}
	return false
}

func parseMetadataDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

// checkCustomMetadata validates an upload's customMetadata against the defined fields.
func (s *Server) checkCustomMetadata(values map[string]any) *apiError {
	problems := map[string]string{}
	for name, v := range values {
		f := s.store.fieldNamed(name)
		if f == nil {
			problems[name] = "This custom metadata field does not exist. Create it with the custom metadata fields API first."
			continue
		}
		if msg := f.Schema.validate(v); msg != "" {
			problems[name] = "Value " + msg + "."
		}
	}
	if len(problems) == 0 {
		return nil
	}
	e := badRequest(msgInvalidCustomMeta)
	e.Errors = problems
	return e
}

// metadataDefaults are the default values of the defined fields, which a new file
// gets for every field its upload leaves out.
func (s *Server) metadataDefaults() map[string]any {
	d := map[string]any{}
	for _, f := range s.store.fieldList(false) {
		if f.Schema.DefaultValue != nil {
			d[f.Name] = f.Schema.DefaultValue
		}
	}
	return d
}

// handleCreateField serves POST /v1/customMetadataFields.
func (s *Server) handleCreateField(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name        string         `json:"name"`
		Label       string         `json:"label"`
		Description string         `json:"description"`
		Schema      metadataSchema `json:"schema"`
	}
	if e := decodeJSONBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case strings.TrimSpace(body.Name) == "":
		writeError(w, invalidParam("name", "A field needs a name."))
		return
	case strings.TrimSpace(body.Label) == "":
		writeError(w, invalidParam("label", "A field needs a label."))
		return
	case s.fieldNameTaken(body.Name):
		writeError(w, badRequest(msgFieldNameTaken))
		return
	case s.fieldLabelTaken(body.Label, ""):
		writeError(w, badRequest(msgFieldLabelTaken))
		return
	case len([]rune(body.Description)) > maxFieldDescription:
		writeError(w, invalidParam("description", "It can be up to 500 characters."))
		return
	}
	if msg := body.Schema.check(); msg != "" {
		writeError(w, invalidParam("schema", msg))
		return
	}
	f := &metadataField{ID: newID(s.cfg.Now()), Name: body.Name, Label: body.Label, Description: body.Description, Schema: body.Schema}
	if err := s.store.putField(f); err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
		return
	}
	writeJSON(w, http.StatusCreated, f)
}

// handleListFields serves GET /v1/customMetadataFields[?includeDeleted=true].
func (s *Server) handleListFields(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.store.fieldList(r.URL.Query().Get("includeDeleted") == "true"))
}

// handleUpdateField serves PATCH /v1/customMetadataFields/{id}.
func (s *Server) handleUpdateField(w http.ResponseWriter, r *http.Request) {
	f := s.anyField(r.PathValue("id"))
	if f == nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: msgNoSuchField, Help: helpText})
		return
	}
	if f.deleted() {
		writeError(w, badRequest(msgFieldDeleted))
		return
	}
	var body struct {
		Label       *string         `json:"label"`
		Description *string         `json:"description"`
		Schema      *metadataSchema `json:"schema"`
	}
	if e := decodeJSONBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case body.Label == nil && body.Schema == nil && body.Description == nil:
		e := badRequest(msgInvalidField)
		e.Errors = map[string]string{"label": "is required if schema is not provided", "schema": "is required if label is not provided"}
		writeError(w, e)
		return
	case body.Label != nil && strings.TrimSpace(*body.Label) == "":
		writeError(w, invalidParam("label", "A field needs a label."))
		return
	case body.Label != nil && s.fieldLabelTaken(*body.Label, f.ID):
		writeError(w, badRequest(msgFieldLabelTaken))
		return
	case body.Description != nil && len([]rune(*body.Description)) > maxFieldDescription:
		writeError(w, invalidParam("description", "It can be up to 500 characters."))
		return
	}
	if body.Label != nil {
		f.Label = *body.Label
	}
	if body.Description != nil {
		f.Description = *body.Description
	}
	if body.Schema != nil {
		// The type cannot change: ImageKit ignores one sent with the schema.
		body.Schema.Type = f.Schema.Type
		if msg := body.Schema.check(); msg != "" {
			writeError(w, invalidParam("schema", msg))
			return
		}
		f.Schema = *body.Schema
	}
	if err := s.store.putField(f); err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// handleDeleteField serves DELETE /v1/customMetadataFields/{id}.
func (s *Server) handleDeleteField(w http.ResponseWriter, r *http.Request) {
	f := s.liveField(r.PathValue("id"))
	if f == nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: msgNoSuchField, Help: helpText})
		return
	}
	now := s.cfg.Now().UTC().Truncate(time.Millisecond)
	f.DeletedAt = &now
	if err := s.store.putField(f); err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Message: msgServerError, Help: helpText})
		return
	}
	// An empty JSON object, which the SDKs decode (imagekit-go's
	// CustomMetadataFieldDeleteResponse); an empty 204 makes them fail.
	writeJSON(w, http.StatusOK, struct{}{})
}

// anyField is the field with this id, deleted or not.
func (s *Server) anyField(id string) *metadataField {
	for _, f := range s.store.fieldList(true) {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// fieldNameTaken: a name is unique across all fields, deleted ones included, so a
// deleted field's name cannot be reused (ImageKit's create API documentation).
func (s *Server) fieldNameTaken(name string) bool {
	for _, f := range s.store.fieldList(true) {
		if f.Name == name {
			return true
		}
	}
	return false
}

// fieldLabelTaken: a label is unique across the fields not deleted, but the one
// with id except.
func (s *Server) fieldLabelTaken(label, except string) bool {
	for _, f := range s.store.fieldList(false) {
		if f.Label == label && f.ID != except {
			return true
		}
	}
	return false
}

func (s *Server) liveField(id string) *metadataField {
	for _, f := range s.store.fieldList(false) {
		if f.ID == id {
			return f
		}
	}
	return nil
}

func decodeJSONBody(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("Your request body is not valid JSON for this API: " + err.Error())
	}
	return nil
}
