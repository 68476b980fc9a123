package mcpconf_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/mcpconf"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// envPreview, set only in a child of this test binary, makes
// TestPreviewChild register the specs one way ("go": mcpconf.Configure;
// "env": the group suites' fixture.Register, from MCPCONF_*) and write
// each spec as a previewedSpec to the file envPreviewOut names.
const (
	envPreview    = "MCPCONF_TEST_PREVIEW"
	envPreviewOut = "MCPCONF_TEST_PREVIEW_OUT"
)

type previewedSpec struct {
	Text   string
	Serial bool
	Labels []string
}

// TestExternalSpecsRunSeriallyHoweverConfigured proves that decisions taken
// from the target are taken when it is known, not at package init: an
// external target configured in Go with mcpconf.Configure (after every
// group package was initialised) makes every spec Serial, exactly as an
// external target named by MCPCONF_TARGET does. The reference target, and
// the same with a shared Redis (MCPCONF_REDIS), show that the check tells
// Serial from parallel. Each registration runs in a child of this test
// binary: Ginkgo registers specs once per process.
func TestExternalSpecsRunSeriallyHoweverConfigured(t *testing.T) {
	inGo := preview(t, "go")
	fromEnv := preview(t, "env", targetconf.EnvTarget+"=suites/targets/external.yaml")
	if len(inGo) < 40 {
		t.Fatalf("only %d specs previewed; are the group packages imported?", len(inGo))
	}
	if !slices.Equal(texts(inGo), texts(fromEnv)) {
		t.Errorf("Configure and %s registered different specs:\n%v\n%v", targetconf.EnvTarget, texts(inGo), texts(fromEnv))
	}
	for name, specs := range map[string][]previewedSpec{"mcpconf.Configure": inGo, targetconf.EnvTarget: fromEnv} {
		for _, s := range specs {
			if !s.Serial {
				t.Errorf("external target through %s: %q is not Serial", name, s.Text)
			}
		}
	}

	multi := func(s previewedSpec) bool { return slices.Contains(s.Labels, string(targetconf.MultiReplica)) }
	for _, tc := range []struct {
		name       string
		env        []string
		wantSerial func(previewedSpec) bool
	}{
		{"reference target", nil, func(previewedSpec) bool { return false }},
		{"shared Redis", []string{targetconf.EnvRedis + "=redis://127.0.0.1:1/0"}, multi},
	} {
		specs := preview(t, "env", tc.env...)
		if !slices.ContainsFunc(specs, multi) || !slices.ContainsFunc(specs, func(s previewedSpec) bool { return !multi(s) }) {
			t.Fatalf("%s: want both multi-replica and single-replica specs", tc.name)
		}
		for _, s := range specs {
			if s.Serial != tc.wantSerial(s) {
				t.Errorf("%s: %q Serial=%v, want %v", tc.name, s.Text, s.Serial, tc.wantSerial(s))
			}
		}
	}
}

// preview runs TestPreviewChild in a child of this test binary, registering
// the specs the way mode says with env added to an environment free of
// MCPCONF_* variables, and returns the specs it saw.
func preview(t *testing.T, mode string, env ...string) []previewedSpec {
	t.Helper()
	out := filepath.Join(t.TempDir(), "specs.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestPreviewChild$", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MCPCONF_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append(env, envPreview+"="+mode, envPreviewOut+"="+out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("preview (%s %v): %v\n%s", mode, env, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var specs []previewedSpec
	if err := json.Unmarshal(data, &specs); err != nil {
		t.Fatal(err)
	}
	return specs
}

// TestPreviewChild is the child's side of preview.
func TestPreviewChild(t *testing.T) {
	mode := os.Getenv(envPreview)
	switch mode {
	case "":
		t.Skip("run by TestExternalSpecsRunSeriallyHoweverConfigured")
	case "go":
		err := mcpconf.Configure(mcpconf.Config{
			Target: &mcpconf.Target{
				Name:     "an external gateway configured in Go",
				Driver:   targetconf.DriverExternal,
				External: targetconf.External{Replicas: []targetconf.ExternalReplica{{URL: "http://127.0.0.1:1"}}},
			},
			Upstreams: adminHooks{},
		})
		if err != nil {
			t.Fatal(err)
		}
	default:
		fixture.Register()
	}
	var specs []previewedSpec
	for _, s := range ginkgo.PreviewSpecs("preview").SpecReports {
		if s.LeafNodeType == types.NodeTypeIt {
			specs = append(specs, previewedSpec{Text: s.FullText(), Serial: s.IsSerial, Labels: s.Labels()})
		}
	}
	data, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(envPreviewOut), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func texts(specs []previewedSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Text
	}
	slices.Sort(out)
	return out
}
