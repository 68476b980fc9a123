package targetconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// sections names each type of a target file by where it appears, for
// error messages. A type missing here is named by its Go name.
var sections = map[string]reflect.Type{
	"the top level":     reflect.TypeOf(Target{}),
	"gateway":           reflect.TypeOf(Gateway{}),
	"upstreams":         reflect.TypeOf(Upstreams{}),
	"external":          reflect.TypeOf(External{}),
	"external.auth":     reflect.TypeOf(ExternalAuth{}),
	"external.replicas": reflect.TypeOf(ExternalReplica{}),
	"container":         reflect.TypeOf(Container{}),
	"auth":              reflect.TypeOf(AuthConfig{}),
	"ready or alive":    reflect.TypeOf(probeYAML{}),
}

var unknownField = regexp.MustCompile(`^(line \d+: )?field (\S+) not found in type [\w.]*?(\w+)$`)

// explainYAML rewrites yaml's "field x not found in type target.T" into
// which section it was in and which fields that section allows.
func explainYAML(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = m
		g := unknownField.FindStringSubmatch(m)
		if g == nil {
			continue
		}
		for name, typ := range sections {
			if typ.Name() != g[3] {
				continue
			}
			msgs[i] = fmt.Sprintf("%sunknown field %q in %s (allowed: %s)", g[1], g[2], name, strings.Join(yamlFields(typ), ", "))
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

func yamlFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// resolveTargetPath makes a target file path absolute. A relative path that
// does not exist from the working directory is also tried from each parent
// directory: ginkgo runs each suite in its package directory, so
// MCPCONF_TARGET=suites/targets/x.yaml, written from the repository root,
// still finds the file.
func resolveTargetPath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if p := filepath.Join(dir, path); fileExists(p) {
			return p
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, path)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
