package tasks_test

import (
	"testing"

	"github.com/ikq-dev/ikq/tasks"
)

// BenchmarkDecode decodes a job as the REST API and the worker do, strictly.
func BenchmarkDecode(b *testing.B) {
	for _, tt := range []struct{ name, job string }{
		{"small", `{"file":"https://example.com/f/17.png","fileName":"f17.png"}`},
		{"options", `{"file":"https://example.com/f/17.png","fileName":"f17.png","folder":"/products","tags":["a","b"],` +
			`"useUniqueFileName":false,"isPrivateFile":true,"customMetadata":{"sku":"A-1"},"idempotencyKey":"order-17","maxAttempts":3}`},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tasks.Decode([]byte(tt.job)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
