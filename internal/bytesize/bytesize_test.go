package bytesize

import "testing"

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want Size
	}{
		{"4096", 4096},
		{"25MB", 25 << 20},
		{"25mb", 25 << 20},
		{"300 MiB", 300 << 20},
		{"1.5GB", 3 << 29},
		{"64k", 64 << 10},
		{"10b", 10},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "1e400", "twelve", "NaN"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", bad)
		}
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	for in, want := range map[Size]string{25 << 20: "25MB", 1 << 30: "1GB", 1536: "1536B", 2048: "2KB", 0: "0B"} {
		if got := in.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(in), got, want)
		}
		if back, err := Parse(want); err != nil || back != in {
			t.Errorf("Parse(%q) = %d, %v; want %d", want, back, err, int64(in))
		}
	}
}
