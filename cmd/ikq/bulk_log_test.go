package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestMinLevelKeepsItsFloor: loggers derived with With or WithGroup, as the
// in-process worker makes them, still drop records below the floor.
func TestMinLevelKeepsItsFloor(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(&minLevel{slog.NewTextHandler(&buf, nil), slog.LevelWarn})
	derived := log.With("component", "worker").WithGroup("g")
	derived.Info("an upload finished")
	if buf.Len() != 0 {
		t.Fatalf("an info record passed the warn floor: %s", buf.String())
	}
	derived.Warn("an upload failed")
	if !strings.Contains(buf.String(), "an upload failed") || !strings.Contains(buf.String(), "component=worker") {
		t.Errorf("the warning was lost or lost its attributes: %q", buf.String())
	}
}
