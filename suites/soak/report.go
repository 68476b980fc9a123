package soak

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Figure is one measured number of a phase, shown in the table.
type Figure struct {
	Phase string `json:"phase"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Check is one "nothing lost / nothing leaked / nothing hangs" claim and
// whether it held. A failed check fails the run.
type Check struct {
	Phase  string `json:"phase"`
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Report is what one soak run measured and checked.
type Report struct {
	Started time.Time     `json:"started"`
	Took    time.Duration `json:"took"`
	Config  Config        `json:"config"`
	Figures []Figure      `json:"figures"`
	Checks  []Check       `json:"checks"`
}

func (r *Report) figure(phase, name, format string, args ...any) {
	r.Figures = append(r.Figures, Figure{Phase: phase, Name: name, Value: fmt.Sprintf(format, args...)})
}

func (r *Report) check(phase, name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Phase: phase, Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// Failed lists the checks that did not hold.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Markdown renders the figures and the checks as two tables.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Soak run of %s (%s): %d sessions x %d calls, %d workers, %d replicas, Redis outage %s.\n\n",
		r.Started.UTC().Format(time.RFC3339), r.Took.Round(time.Second), r.Config.Sessions, r.Config.CallsPerSession,
		r.Config.Workers, r.Config.Replicas, r.Config.RedisOutage)
	b.WriteString("| phase | figure | value |\n|---|---|---|\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", f.Phase, f.Name, f.Value)
	}
	b.WriteString("\n| phase | check | result | detail |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		res := "ok"
		if !c.OK {
			res = "**FAIL**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Phase, c.Name, res, c.Detail)
	}
	if failed := r.Failed(); len(failed) > 0 {
		fmt.Fprintf(&b, "\n%d of %d checks failed.\n", len(failed), len(r.Checks))
	} else {
		fmt.Fprintf(&b, "\nAll %d checks held.\n", len(r.Checks))
	}
	return b.String()
}

// latencies summarises call durations.
type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i]
}

func (l latencies) max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return slices.Max(l)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
