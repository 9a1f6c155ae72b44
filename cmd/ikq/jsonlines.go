package main

import (
	"encoding/json"
	"io"
)

// writeJSONLines writes each value as one JSON line, as `--json` listings print them.
func writeJSONLines[T any](w io.Writer, values []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}
