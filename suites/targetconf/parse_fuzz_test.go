package targetconf

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// namesWhere: a refusal of a target file says where, by line or by a
// field's name, or that the trouble is the whole document.
var namesWhere = regexp.MustCompile(`line \d+|no YAML document|excessive aliasing|` + strings.Join(allYAMLFields(), `|`))

func allYAMLFields() []string {
	var out []string
	for _, typ := range sections {
		for _, f := range yamlFields(typ) {
			out = append(out, regexp.QuoteMeta(f))
		}
	}
	return out
}

// FuzzParse: any target file either loads or is refused with an error that
// says where; never a panic. A file that loads (and validates), written back
// to YAML and loaded again, gives a Target that writes back the same.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"external.yaml", "reference-container.yaml", "reference-process.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "targets", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, doc := range []string{
		"", "{}", "driver: process\ngateway: {bin: ./bin/gateway}\n",
		"driver: process\nreplicas: 3\ncapabilities: [multi-replica, auth]\nreadyTimeout: 2s\n",
		"driver: process\nreadyTimeout: forever\n",
		"driver: process\ngateway: {package: ./servers/gateway}\nupstreams: {register: hooks, add: ./add.sh, change: [sh, -c, 'exit 0'], remove: ''}\n",
		"driver: external\nexternal: {replicas: [http://a, {id: r2, url: http://b}]}\n",
		"driver: process\ngateway: {bin: x}\nready: {mcp: true}\nalive: {path: /live, status: 204}\nauth: {mode: static-token, scheme: '', token: t}\neras: [session, '2026-07-28']\nsharedState: none\n",
		"driver: process\ngateway: {bin: x}\nready: {status: 0}\nauth: {mode: none}\n",
		"driver: nope\n", "driver: [process]\n", "drivr: process\n", "gateway: {bni: x}\n",
		"replicas: -1\ndriver: process\ngateway: {bin: x}\n", "replicas: 99999999999999999999\n",
		"a: &a [*a]\n", "x: \x01\n", "name: \xff\xfe\n", "- just\n- a list\n", "---\n---\n",
	} {
		f.Add([]byte(doc))
	}
	dir, err := filepath.Abs(filepath.Join("..", "targets"))
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "fuzz.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			t.Skip("target files are small")
		}
		tg, err := load(data, path)
		if err != nil {
			if !namesWhere.MatchString(err.Error()) {
				t.Fatalf("refusal names no line or field: %v", err)
			}
			return
		}
		out, err := yaml.Marshal(tg)
		if err != nil {
			t.Fatalf("a loaded target does not marshal: %v", err)
		}
		again, err := load(out, path)
		if err != nil {
			t.Fatalf("loaded once, refused when written back: %v\n%s", err, out)
		}
		out2, err := yaml.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) {
			t.Fatalf("round trip changed the target:\n%s\nthen\n%s", out, out2)
		}
	})
}

// load is Load's handling of a target file, without the environment.
func load(data []byte, path string) (*Target, error) {
	tg, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	return tg, tg.validate()
}
