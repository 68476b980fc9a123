package targetconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Parse reads a target file's contents, as Load does for the file at path:
// unknown fields are errors, relative paths resolve against the file's
// directory and the name defaults to the file's. It applies no MCPCONF_*
// override and does not validate; Load does both.
func Parse(data []byte, path string) (*Target, error) {
	// The probes and auth start as the reference gateway's, so that a
	// section that gives only some of its fields keeps the others.
	t := &Target{Replicas: 1, ReadyTimeout: Duration(15 * time.Second), Ready: DefaultReady, Alive: DefaultAlive, Auth: DefaultAuth}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("target file %s: no YAML document in it (empty, or only comments)", path)
		}
		if line := lineOf(err, data); line > 0 {
			return nil, fmt.Errorf("target file %s: line %d: %w", path, line, err)
		}
		return nil, fmt.Errorf("target file %s: %w", path, explainYAML(err))
	}
	t.Dir = filepath.Dir(path)
	// A relative binary path is relative to the target file.
	if t.Gateway.Bin != "" && !filepath.IsAbs(t.Gateway.Bin) && strings.ContainsRune(t.Gateway.Bin, filepath.Separator) {
		t.Gateway.Bin = filepath.Join(t.Dir, t.Gateway.Bin)
	}
	if t.Name == "" {
		t.Name = filepath.Base(path)
	}
	return t, nil
}

// MarshalYAML writes a Duration as UnmarshalYAML reads it ("15s"), so that
// a Target written back to YAML loads again.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// lineOf is the line to name for a yaml error whose message names none,
// or 0 (the message names one, or no single line is to blame).
func lineOf(err error, data []byte) int {
	msg := err.Error()
	if strings.Contains(msg, "line ") {
		return 0
	}
	if line := unreadableLine(data); line > 0 {
		return line
	}
	if _, ref, ok := strings.Cut(msg, "unknown anchor '"); ok {
		name, _, _ := strings.Cut(ref, "'")
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "*"+name) {
				return i + 1
			}
		}
		return 0
	}
	if strings.Contains(msg, "excessive aliasing") {
		return 0
	}
	// yaml counts lines from 0 internally and leaves out "line 0": a syntax
	// error without a line is on the first one.
	return 1
}

// unreadableLine is the first line holding a byte yaml refuses before
// parsing (invalid UTF-8, a control character), or 0: yaml's own message
// for those names no line.
func unreadableLine(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		if (r == utf8.RuneError && n == 1) || (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || (r >= 0x7f && r <= 0x9f && r != 0x85) {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[n:]
	}
	return 0
}
