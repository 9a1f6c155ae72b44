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

func TestFormat(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0: "0 bytes", 100: "100 bytes", 1500: "1500 bytes", 512 << 10: "512 KiB",
		2 << 20: "2 MiB", 3 << 19: "1.5 MiB", 1<<20 + 1: "1.0 MiB", 64 << 20: "64 MiB",
	} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
