package reports

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/conformance"
)

// sampleRun is a run with every status, a recorded target and revisions.
func sampleRun(name, driver string) []types.Report {
	ti := conformance.TargetInfo{Name: name, Driver: driver, Gateway: "bin/gateway", Replicas: 3,
		Capabilities: []string{"auth"}, Profiles: []string{"strict-405"}, Upstreams: "registered via hooks"}
	setup := types.SpecReport{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed,
		ReportEntries: []types.ReportEntry{entry(conformance.EntryTarget, ti.Encode())}}
	rev := entry(conformance.EntryRevision, "2025-11-25")
	passed := spec("two sessions read 5 and 3", types.SpecStatePassed, []string{"ISO-1"}, "", entry("values read", "5 and 3"), rev)
	passed.RunTime = 420 * time.Millisecond
	return []types.Report{{
		SuiteDescription: "all", SuiteSucceeded: false, RunTime: 12 * time.Second,
		SpecReports: types.SpecReports{
			setup, passed,
			spec("b", types.SpecStateFailed, []string{"EVI-1"}, "upstream session still live", entry(conformance.EntryLogPrefix+"replica r1", "a log line"), rev),
			spec("c", types.SpecStatePassed, []string{"TRN-2"}, "", entry(conformance.EntryWarning, "TRN-2 (SHOULD) not met: got 200")),
			spec("d", types.SpecStateSkipped, []string{"SHD-1"}, conformance.ExternalSkipPrefix+"the suite cannot signal replicas it did not start"),
			spec("e", types.SpecStateSkipped, []string{"SEC-4"}, `target "x" lacks capability admin-api`),
		},
	}}
}

func TestReportHasTheTargetOnTopAndOneTablePerGroup(t *testing.T) {
	m := Build(catalog.MustLoad(), sampleRun("my gateway", "external"))
	if m.Target == nil || m.Target.Name != "my gateway" || m.RevisionList() != "2025-11-25 (2 sessions)" {
		t.Fatalf("target %+v, revisions %q", m.Target, m.RevisionList())
	}
	var md, html bytes.Buffer
	if err := m.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Conformance report: my gateway", "| driver | external |", "| protocol revision | 2025-11-25 (2 sessions) |",
		"## ISO: Isolation of upstream state", "| ISO-1 | MUST | pass |  | values read: 5 and 3 | 420ms |",
		"| EVI-1 | MUST | **FAIL** | b: upstream session still live |", "| SHD-1 | MUST | skip | external driver: the suite cannot signal",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), conformance.EntryRevision) || strings.Contains(md.String(), conformance.EntryTarget) {
		t.Error("run entries leaked into the evidence")
	}
	h := html.String()
	for _, want := range []string{`<section id="ISO">`, `<section id="XPD">`, `<tr class="fail" id="EVI-1">`, "a log line",
		"Two downstream sessions that drive the same stateful upstream", "skipped: external driver:", "<th>protocol revision</th><td>2025-11-25 (2 sessions)</td>"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Self-contained: nothing is fetched when it is opened.
	if ext := regexp.MustCompile(`(?i)(src|href)="(https?:)?//|@import|url\(`).FindString(h); ext != "" {
		t.Errorf("report.html refers to something outside itself: %q", ext)
	}
}

// TestReportRendersInChromium opens report.html in headless Chromium,
// offline, and checks what it built and what it drew. It skips when no
// chromium is installed, except in CI (CI=true), which installs it.
func TestReportRendersInChromium(t *testing.T) {
	chromium, err := FindChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v: .ci/run installs it", err)
		}
		t.Skipf("render check skipped: %v", err)
	}
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "report.html")
	m := Build(catalog.MustLoad(), sampleRun("my gateway", "external"))
	var html bytes.Buffer
	if err := m.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(htmlPath, html.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dom, err := RenderedDOM(ctx, chromium, htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(dom, "<section id="); n != len(m.Groups()) || !strings.Contains(dom, "my gateway") {
		t.Errorf("Chromium built %d group sections (want %d); DOM:\n%.2000s", n, len(m.Groups()), dom)
	}
	shot := filepath.Join(dir, "report.png")
	if dest := os.Getenv("MCPCONF_SCREENSHOT"); dest != "" {
		shot = dest // keep it to look at
	}
	if err := Screenshot(ctx, chromium, htmlPath, shot, 1200, 900); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1200x900", b)
	}
	if n := colours(img); n < 8 {
		t.Errorf("the screenshot has %d colours: the page did not render", n)
	}
}

// colours counts distinct colours (to 4 bits per channel).
func colours(img image.Image) int {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[(r>>12)<<8|(g>>12)<<4|bl>>12] = true
		}
	}
	return len(seen)
}

func TestComparisonMatrix(t *testing.T) {
	c := catalog.MustLoad()
	a := Build(c, sampleRun("gateway A", "process"))
	b := Build(c, sampleRun("gateway B", "external"))
	cmp := NewComparison([]Run{{Label: "gateway A", Matrix: a}, {Label: "gateway A", Matrix: b}})
	if cmp.Runs[0].Label != "gateway A (process #1)" || cmp.Runs[1].Label != "gateway A (external #2)" {
		t.Errorf("colliding labels: %q, %q", cmp.Runs[0].Label, cmp.Runs[1].Label)
	}
	dir := t.TempDir()
	md, html := filepath.Join(dir, "c.md"), filepath.Join(dir, "c.html")
	if err := cmp.WriteFiles(md, html); err != nil {
		t.Fatal(err)
	}
	mdText, _ := os.ReadFile(md)
	htmlText, _ := os.ReadFile(html)
	for _, want := range []string{"|  | gateway A (process #1) | gateway A (external #2) |", "| verdict | FAIL | FAIL |", "| ISO-1 MUST | pass | pass |", "| EVI-1 MUST | **FAIL** | **FAIL** |", "## XPD:"} {
		if !strings.Contains(string(mdText), want) {
			t.Errorf("compare.md lacks %q:\n%s", want, mdText)
		}
	}
	if !strings.Contains(string(htmlText), `class="cell fail" title="b: upstream session still live"`) {
		t.Errorf("compare.html lacks the failed cell with its reason")
	}
}

func TestCompareRunsSetsAsideExternalDriverSkips(t *testing.T) {
	c := catalog.MustLoad()
	proc := Build(c, []types.Report{{SpecReports: types.SpecReports{
		spec("a", types.SpecStatePassed, []string{"SHD-1"}, ""),
		spec("b", types.SpecStatePassed, []string{"SEC-4"}, ""),
		spec("c", types.SpecStatePassed, []string{"ISO-1"}, ""),
	}}})
	ext := Build(c, sampleRun("x", "external"))
	d := CompareRuns(proc, ext, ExternalDriverSkip)
	byID := func(rows []DiffRow) map[string]DiffRow {
		out := map[string]DiffRow{}
		for _, r := range rows {
			out[r.ID] = r
		}
		return out
	}
	if _, ok := byID(d.Excluded)["SHD-1"]; !ok || len(d.Excluded) != 1 {
		t.Errorf("SHD-1 (external-driver skip) should be the one set aside: %+v", d.Excluded)
	}
	if r, ok := byID(d.Different)["SEC-4"]; !ok || r.External != Skip {
		t.Errorf("SEC-4 skipped for a missing capability is a difference: %+v", d.Different)
	}
	if r, ok := byID(d.Same)["ISO-1"]; !ok || r.Process != Pass {
		t.Errorf("ISO-1 should compare equal: %+v", d.Same)
	}
	if md := d.Markdown("process", "external"); !strings.Contains(md, "| SEC-4 | pass | skip | **DIFFERENT**") {
		t.Errorf("diff table:\n%s", md)
	}
}

func TestJUnitNamesCarryRequirementIDs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "junit.xml")
	doc := `<testsuites><testsuite name="ISO">
<testcase name="[SynchronizedBeforeSuite]"></testcase>
<testcase name="[It] ISO: Isolation [ISO-1] two sessions read 5 and 3 [ISO, ISO-1, MUST]"></testcase>
<testcase name="[It] a spec without an id"></testcase>
<testcase name="[It] [ZZZ-9] not in the catalogue"></testcase>
</testsuite></testsuites>`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	problems, err := CheckJUnit(path, catalog.MustLoad())
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 || !strings.Contains(problems[0], "carries no requirement ID") || !strings.Contains(problems[1], "ZZZ-9") {
		t.Errorf("problems: %q", problems)
	}
}

// The header names what the gateway reported itself as at initialize, and
// the entries saying so are not evidence.
func TestHeaderNamesTheGatewayAsItReportsItself(t *testing.T) {
	run := sampleRun("my gateway", "process")
	srv := entry(conformance.EntryServer, "other-gateway v1.2.3")
	for i := range run[0].SpecReports[1:3] {
		s := &run[0].SpecReports[1+i]
		s.ReportEntries = append(s.ReportEntries, srv)
	}
	m := Build(catalog.MustLoad(), run)
	if got := m.ServerList(); got != "other-gateway v1.2.3 (2 sessions)" {
		t.Fatalf("servers %q", got)
	}
	var md bytes.Buffer
	if err := m.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| gateway | bin/gateway |\n| reports itself as | other-gateway v1.2.3 (2 sessions) |") {
		t.Errorf("header lacks the gateway's own name:\n%s", md.String())
	}
	if strings.Contains(md.String(), conformance.EntryServer) {
		t.Error("the server entry leaked into the evidence")
	}
	if got := Build(catalog.MustLoad(), sampleRun("x", "process")).ServerList(); got != "none recorded" {
		t.Errorf("a run without serverInfo: %q", got)
	}
}
