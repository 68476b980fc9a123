// Package every is one Ginkgo suite holding the specs of every suite of
// suites/all. The self-test runs it once per emulated bug: one suite packs
// the parallel processes better than nine in turn (no process waits for the
// slowest spec of a suite) and starts a quarter of the test processes.
package every
