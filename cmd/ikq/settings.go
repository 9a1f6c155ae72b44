package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/internal/bytesize"
)

// settingDef is one configuration variable: a flag, the environment variable read when
// the flag is not given, the default when neither is, and the parser that fills the
// setting's field. Every variable ikq reads is defined through define, so each has a
// flag, a bad value is an error naming both, and the README's table is checked against
// the definitions (settings_test.go).
type settingDef struct {
	Flag, Env string
	Default   string // as the variable would hold it; "" for none
	Doc       string // one line for -h
	// Secret values never show in errors. (-h shows only Default, never a value.)
	Secret bool
	// EmptyIsValue makes a set but empty variable this setting's value (say, "off");
	// otherwise an empty variable counts as unset.
	EmptyIsValue bool
	Parse        func(string) error
}

// setting is a defined variable bound to a flag set: the flag's value.
type setting struct {
	settingDef
	parsers []func(string) error // one per field it fills: ikq dev shares some between roles
	given   bool                 // set on the command line
	source  string               // where the value came from: "flag", "env" or "default"
	done    bool
}

// String is empty so that -h shows no default of its own: Doc names it.
func (s *setting) String() string { return "" }

func (s *setting) Set(v string) error {
	s.given, s.source, s.done = true, "flag", true
	if err := s.apply(v); err != nil {
		return fmt.Errorf("%w (%s)", err, s.Env)
	}
	return nil
}

func (s *setting) apply(v string) error {
	for _, p := range s.parsers {
		if err := p(v); err != nil {
			return err
		}
	}
	return nil
}

// resolve fills the setting from the environment or the default when the flag was not
// given. It is idempotent.
func (s *setting) resolve() error {
	if s.done {
		return nil
	}
	s.done = true
	v, ok := os.LookupEnv(s.Env)
	if ok && (v != "" || s.EmptyIsValue) {
		s.source = "env"
		if err := s.apply(v); err != nil {
			if s.Secret {
				return usageError{fmt.Sprintf("%s: %v (or set -%s)", s.Env, err, s.Flag)}
			}
			return usageError{fmt.Sprintf("%s=%q: %v (or set -%s)", s.Env, v, err, s.Flag)}
		}
		return nil
	}
	s.source = "default"
	if err := s.apply(s.Default); err != nil {
		return fmt.Errorf("default of %s (-%s) %q: %w", s.Env, s.Flag, s.Default, err)
	}
	return nil
}

// boolSetting is a setting that, like a bool flag, may be given without a value.
type boolSetting struct{ *setting }

func (boolSetting) IsBoolFlag() bool { return true }

// define adds d to fs. Defining the same variable again (ikq dev's API and worker share
// some) binds one more field to the same flag; the definitions must agree.
func define(fs *flag.FlagSet, d settingDef, isBool ...bool) *setting {
	if f := fs.Lookup(d.Flag); f != nil {
		s := settingOf(f)
		if s == nil || s.Env != d.Env || s.Default != d.Default || s.Secret != d.Secret {
			panic(fmt.Sprintf("ikq: -%s is defined twice, differently", d.Flag))
		}
		s.parsers = append(s.parsers, d.Parse)
		return s
	}
	s := &setting{settingDef: d, parsers: []func(string) error{d.Parse}}
	doc := d.Doc + " (" + d.Env
	if d.Default != "" {
		doc += "; default " + d.Default
	}
	doc += ")"
	var v flag.Value = s
	if len(isBool) > 0 && isBool[0] {
		v = boolSetting{s}
	}
	fs.Var(v, d.Flag, doc)
	return s
}

// settingOf is the setting behind a flag, or nil for a plain flag.
func settingOf(f *flag.Flag) *setting {
	switch v := f.Value.(type) {
	case *setting:
		return v
	case boolSetting:
		return v.setting
	}
	return nil
}

// resolveSettings fills every setting of fs whose flag was not given, from the
// environment or its default. The first bad value is the error.
func resolveSettings(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if s := settingOf(f); s != nil && err == nil {
			err = s.resolve()
		}
	})
	return err
}

// configured reports whether the setting of the named flag came from the command line
// or the environment rather than its default.
func configured(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	s := settingOf(f)
	return s != nil && s.source != "" && s.source != "default"
}

// Parsers of setting values. Each fills dst only when the value is good.

func textValue(dst *string) func(string) error {
	return func(v string) error { *dst = v; return nil }
}

func intValue(dst *int, min int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("want a whole number")
		}
		if n < min {
			return fmt.Errorf("want at least %d", min)
		}
		*dst = n
		return nil
	}
}

func durationValue(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("want a duration like 30s or 2m")
		}
		if d < 0 {
			return errors.New("want a duration that is not negative")
		}
		*dst = d
		return nil
	}
}

func positiveDurationValue(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("want a duration above zero, like 500ms or 2s")
		}
		*dst = d
		return nil
	}
}

// retentionValue reads a duration above zero, in days ("7d") or as Go writes
// durations ("36h").
func retentionValue(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if days, ok := strings.CutSuffix(v, "d"); ok {
			n, nerr := strconv.Atoi(days)
			if nerr != nil || n > 36500 {
				n = 0
			}
			d, err = time.Duration(n)*24*time.Hour, nil
		}
		if err != nil || d <= 0 {
			return errors.New("want a duration above zero, like 7d or 36h")
		}
		*dst = d
		return nil
	}
}

func boolValue(dst *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*dst = b
		return nil
	}
}

func sizeValue(dst *bytesize.Size) func(string) error {
	return func(v string) error {
		var s bytesize.Size
		if err := s.Set(v); err != nil {
			return err
		}
		if s <= 0 {
			return errors.New("want a size above zero, like 300MB")
		}
		*dst = s
		return nil
	}
}

// rateValue reads bytes per second, like 8KB or 8KB/s; 0 is a value (off).
func rateValue(dst *bytesize.Size) func(string) error {
	return func(v string) error {
		var s bytesize.Size
		if err := s.Set(strings.TrimSuffix(strings.TrimSpace(v), "/s")); err != nil {
			return errors.New("want bytes per second like 8KB, or 0 for no minimum")
		}
		*dst = s
		return nil
	}
}

// percentValue reads a percentage from 1 to 100, like 50%.
func percentValue(dst *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), "%"))
		if err != nil || n < 1 || n > 100 {
			return errors.New("want a percentage from 1% to 100%")
		}
		*dst = n
		return nil
	}
}

func queuesValue(dst *map[string]int) func(string) error {
	return func(v string) error {
		q, err := parseQueues(v)
		if err != nil {
			return err
		}
		*dst = q
		return nil
	}
}

// httpURLValue reads an absolute http(s) URL; "" is allowed only when optional.
func httpURLValue(dst *string, optional bool) func(string) error {
	return func(v string) error {
		if v == "" && optional {
			*dst = ""
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an absolute http or https URL")
		}
		*dst = v
		return nil
	}
}

// addrValue reads a listen address, host:port; "" is allowed only when optional (off).
func addrValue(dst *string, optional bool) func(string) error {
	return func(v string) error {
		if v == "" && optional {
			*dst = ""
			return nil
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return errors.New("want a listen address like :8080 or 127.0.0.1:8080")
		}
		*dst = v
		return nil
	}
}

func oneOfValue(dst *string, allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if v == a {
				*dst = v
				return nil
			}
		}
		return fmt.Errorf("want one of %v", allowed)
	}
}
