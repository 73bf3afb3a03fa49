package config

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/ini.v1"
)

// maxDepth is ConfigParser's MAX_INTERPOLATION_DEPTH.
const maxDepth = 10

// maxExpanded bounds an expanded value: ten levels of references that each
// use the next one several times would otherwise grow without bound.
const maxExpanded = 64 << 10

// iniFile is the parsed file with raw (uninterpolated) values, keyed the way
// Python's ConfigParser keys them: option names lower-cased, [DEFAULT]
// visible from every section.
type iniFile struct {
	defaults *section
	sections []*section
}

type section struct {
	name  string            // as written in the file
	raw   map[string]string // lower-cased key → raw value
	order []string          // lower-cased keys in file order
}

// loadOptions make gopkg.in/ini.v1 read what ConfigParser reads.
var loadOptions = ini.LoadOptions{
	// ConfigParser lower-cases option names; section names are matched
	// case-insensitively by lookup() instead, so [DEFAULT] keeps its meaning.
	InsensitiveKeys: true,
	// ConfigParser has no inline comments by default: "a = b ; c" is "b ; c".
	IgnoreInlineComment: true,
	// ConfigParser has no backslash continuation, and a Windows path such
	// as C:\logs\ must not swallow the next line.
	IgnoreContinuation: true,
	// ConfigParser keeps quotes as part of the value.
	PreserveSurroundedQuote: true,
	// A content type may be listed alone on a line in [ContentTypes]; other
	// bare lines are unknown keys and ignored.
	AllowBooleanKeys: true,
	// AllowPythonMultilineValues is deliberately off: ini.v1 would treat any
	// indented line as a continuation, while ConfigParser only does so when
	// it is indented deeper than its key. Files that indent every key under
	// their section (which ConfigParser accepts) would break, and none of
	// our values can span lines anyway.
}

func parseINI(data []byte) (*iniFile, error) {
	f, err := ini.LoadSources(loadOptions, data)
	if err != nil {
		return nil, err
	}
	p := &iniFile{}
	for _, s := range f.Sections() {
		sec := &section{name: s.Name(), raw: make(map[string]string)}
		for _, k := range s.Keys() {
			name := k.Name()
			if _, dup := sec.raw[name]; !dup {
				sec.order = append(sec.order, name)
			}
			sec.raw[name] = k.Value()
		}
		if s.Name() == ini.DefaultSection {
			p.defaults = sec
			continue
		}
		p.sections = append(p.sections, sec)
	}
	if p.defaults == nil {
		p.defaults = &section{raw: map[string]string{}}
	}
	return p, nil
}

// lookup finds a section by name: the exact spelling first (as ConfigParser
// does), then any casing.
func (p *iniFile) lookup(name string) *section {
	for _, s := range p.sections {
		if s.name == name {
			return s
		}
	}
	for _, s := range p.sections {
		if strings.EqualFold(strings.TrimSpace(s.name), name) {
			return s
		}
	}
	return nil
}

// get returns the raw value of key in sec, falling back to [DEFAULT] like
// ConfigParser. sec may be nil (section absent).
func (p *iniFile) get(sec *section, key string) (string, bool) {
	key = strings.ToLower(key)
	if sec != nil {
		if v, ok := sec.raw[key]; ok {
			return v, true
		}
	}
	v, ok := p.defaults.raw[key]
	return v, ok
}

// interpolated returns the value of key in sec with %(name)s references
// expanded the way ConfigParser's BasicInterpolation does.
func (p *iniFile) interpolated(sec *section, key string) (string, bool, error) {
	raw, ok := p.get(sec, key)
	if !ok {
		return "", false, nil
	}
	v, err := interpolate(raw, func(name string) (string, bool) { return p.get(sec, name) })
	return v, true, err
}

// interpolate expands raw like ConfigParser's BasicInterpolation: "%%" is a
// literal "%", "%(name)s" is the raw value of name (looked up lower-cased)
// expanded in turn, at most maxDepth levels deep; any other "%" is an error.
// Like ConfigParser, a referenced value is only expanded when it contains a
// "%", and the expansion happens where the value is read, not in the file.
func interpolate(raw string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	if err := interpolateSome(&b, raw, lookup, 1); err != nil {
		return "", err
	}
	return b.String(), nil
}

func interpolateSome(b *strings.Builder, rest string, lookup func(string) (string, bool), depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%%(...)s references nest deeper than %d levels (a reference loop?)", maxDepth)
	}
	for rest != "" {
		if b.Len() > maxExpanded {
			return fmt.Errorf("%%(...)s references expand beyond %d KiB", maxExpanded>>10)
		}
		p := strings.IndexByte(rest, '%')
		if p < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			b.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			end := strings.IndexByte(rest, ')')
			if end <= 2 || !strings.HasPrefix(rest[end:], ")s") {
				return fmt.Errorf("bad reference %q: write %%(name)s, or %%%% for a literal %%", rest)
			}
			name := strings.ToLower(rest[2:end])
			rest = rest[end+2:]
			v, ok := lookup(name)
			if !ok {
				return &missingRefError{name: name}
			}
			if !strings.Contains(v, "%") {
				b.WriteString(v)
				continue
			}
			if err := interpolateSome(b, v, lookup, depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%q: a %% must be followed by %% or (; write %%%% for a literal %%", rest)
		}
	}
	return nil
}

// missingRefError names the reference so the message can name its section.
type missingRefError struct{ name string }

func (e *missingRefError) Error() string {
	return fmt.Sprintf("unknown reference %%(%s)s", e.name)
}

// describeInterpolation turns an interpolation error into a user message
// naming where references are looked up.
func describeInterpolation(err error, section string) string {
	var m *missingRefError
	if errors.As(err, &m) {
		return fmt.Sprintf("unknown reference %%(%s)s: no key %q in [%s] or [DEFAULT]", m.name, m.name, section)
	}
	return err.Error()
}
