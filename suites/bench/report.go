package bench

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
)

func write(dir string, r *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), js, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.md"), []byte(Markdown(r)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.svg"), []byte(SVG(r)), 0o644)
}

// medianSample folds the rounds of one target and workload into medians.
func medianSample(r *Results, target, workload string) (cps, p50, p90, p99 float64) {
	var a, b, c, d []float64
	for _, s := range r.Samples {
		if s.Target == target && s.Workload == workload {
			a, b, c, d = append(a, s.CallsPerSec), append(b, s.P50ms), append(c, s.P90ms), append(d, s.P99ms)
		}
	}
	return median(a), median(b), median(c), median(d)
}

var allTargets = []string{targetDirect, targetProxy, targetGatewayMC, targetGatewayPS}

// Markdown renders the results as the table the README quotes.
func Markdown(r *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Bench: the reference gateway against a bare proxy hop\n\n")
	fmt.Fprintf(&b, "%s, %d CPUs, %s, %d interleaved rounds (medians shown).\n\n", r.Started.Format("2006-01-02 15:04 UTC"), r.CPUs, r.GoVersion, r.Rounds)
	if r.LoadStealPercent >= 2 {
		fmt.Fprintf(&b, "CPU steal during the load rounds: %.1f%%. The hypervisor gave that share of this machine's CPU time to others; latencies stretch with it, and more for a target that needs more CPU per call, so ratios taken under steal overstate the gateway's cost.\n\n", r.LoadStealPercent)
	} else {
		fmt.Fprintf(&b, "CPU steal during the load rounds: %.1f%%.\n\n", r.LoadStealPercent)
	}
	fmt.Fprintf(&b, "| workload | target | calls/s | p50 ms | p90 ms | p99 ms | p50 vs proxy | calls/s vs proxy |\n|---|---|---|---|---|---|---|---|\n")
	for _, w := range []Workload{W1, W2} {
		for _, t := range allTargets {
			cps, p50, p90, p99 := medianSample(r, t, w.Name)
			rp, rc := "1.00", "1.00"
			for _, x := range r.Ratios {
				if x.Target == t && x.Workload == w.Name {
					rp, rc = fmt.Sprintf("%.2f", x.P50), fmt.Sprintf("%.2f", x.CallsPerSec)
				}
			}
			fmt.Fprintf(&b, "| %s (%d sessions, %d workers) | %s | %.0f | %.3f | %.3f | %.3f | %s | %s |\n", w.Name, w.Sessions, w.Workers, t, cps, p50, p90, p99, rp, rc)
		}
	}
	b.WriteString("\n")
	for _, m := range r.Memory {
		fmt.Fprintf(&b, "Memory, %s: %.1f KB resident per held session, %.1f KB with a GET stream each (%d sessions over a baseline of %d holding %.1f MB; %d warm-up calls to reach steady states).\n",
			m.Route, m.PerSessionBytes/1000, m.PerSessionStreamBytes/1000, m.Sessions, m.BaselineSessions, float64(m.BaselineBytes)/1e6, m.WarmCalls)
	}
	fmt.Fprintf(&b, "Shutdown: %.2f s with %d wedged upstream sessions (timeout %.0f s, bound %.0f s, exit code %d).\n",
		r.Shutdown.Seconds, r.Shutdown.Sessions, r.Shutdown.TimeoutSeconds, r.Shutdown.BoundSeconds, r.Shutdown.ExitCode)
	fmt.Fprintf(&b, "Non-owner replica: p50 %.3f ms via the owner, %.3f ms via another replica (%.2fx).\n\n",
		r.NonOwner.OwnerP50ms, r.NonOwner.NonOwnerP50ms, r.NonOwner.Ratio)
	fmt.Fprintf(&b, "| check | value | bound | verdict |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		verdict := "ok"
		if !c.OK {
			verdict = "**MISSED**"
		}
		fmt.Fprintf(&b, "| %s | %.2f%s | %.2f%s | %s |\n", c.Name, c.Value, c.Unit, c.Bound, c.Unit, verdict)
	}
	return b.String()
}

// SVG draws p50 per call for each target, one group of bars per workload.
func SVG(r *Results) string {
	const width, height, left, top, barH, gap = 760, 300, 210, 40, 22, 6
	colors := map[string]string{targetDirect: "#8c8c8c", targetProxy: "#4c78a8", targetGatewayMC: "#f58518", targetGatewayPS: "#54a24b"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="22" font-size="15">p50 per tool call (ms, median of %d rounds; lower is better)</text>`, r.Rounds)
	y := top
	for _, w := range []Workload{W1, W2} {
		maxP50 := 0.0
		for _, t := range allTargets {
			_, p50, _, _ := medianSample(r, t, w.Name)
			maxP50 = max(maxP50, p50)
		}
		fmt.Fprintf(&b, `<text x="10" y="%d" font-weight="bold">%s: %d sessions, %d workers</text>`, y+14, w.Name, w.Sessions, w.Workers)
		y += 22
		for _, t := range allTargets {
			_, p50, _, _ := medianSample(r, t, w.Name)
			bw := 0.0
			if maxP50 > 0 {
				bw = p50 / maxP50 * float64(width-left-90)
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-8, y+15, html.EscapeString(t))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, left, y, bw, barH, colors[t])
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.3f</text>`, float64(left)+bw+6, y+15, p50)
			y += barH + gap
		}
		y += 10
	}
	b.WriteString(`</svg>`)
	return b.String()
}
