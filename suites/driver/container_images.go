package driver

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Images are built locally, FROM scratch, so that a run needs no registry:
//
//   - gateway, counter, wedge: the Dockerfile next to the main package
//     (servers/<name>/Dockerfile) with the static binary beside it as the
//     whole build context, as `docker build -f servers/gateway/Dockerfile bin`
//     does by hand;
//   - redis: the host's redis-server (Debian's package) and the shared
//     libraries ldd lists for it, at the paths ldd prints.
//
// Each image is tagged mcpconf/<name>:<run id>, and Close removes it. A build that Docker has seen before (same binary, same
// Dockerfile) is served from its layer cache, so per-run tags cost little.

// imageBuildTimeout bounds each image build.
const imageBuildTimeout = 5 * time.Minute

// fakePrograms are the fake upstreams' main packages, by image.
var fakePrograms = map[string]string{"counter": "./servers/counter", "wedge": "./servers/wedge"}

// buildImages builds every image opts leaves unnamed, all at once (each
// build's output lines carry its image's name), and records them for Close.
func (c *Containers) buildImages(ctx context.Context, opts ContainerOptions) error {
	imgs := &c.Run.Images
	gatewayPkg := opts.GatewayPackage
	if gatewayPkg == "" {
		gatewayPkg = "./servers/gateway"
	}
	programs := []struct {
		pkg   string
		image *string
	}{{gatewayPkg, &imgs.Gateway}, {fakePrograms["counter"], &imgs.Counter}, {fakePrograms["wedge"], &imgs.Wedge}}

	binDir := opts.BinDir
	if binDir == "" {
		var pkgs []string
		for _, p := range programs {
			if *p.image == "" {
				pkgs = append(pkgs, p.pkg)
			}
		}
		if len(pkgs) > 0 {
			dir, err := os.MkdirTemp("", "mcpconf-images-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			fmt.Fprintf(opts.Progress, "containers: building static binaries (CGO_ENABLED=0): %s\n", strings.Join(pkgs, " "))
			if err := buildStatic(ctx, opts.Root, dir, pkgs); err != nil {
				return err
			}
			binDir = dir
		}
	}
	type job struct {
		repo  string
		files []contextFile
		image *string
	}
	var jobs []job
	for _, p := range programs {
		if *p.image != "" {
			continue
		}
		name := path.Base(p.pkg)
		bin := filepath.Join(binDir, name)
		if err := checkStatic(bin); err != nil {
			return err
		}
		dockerfile := filepath.Join(opts.Root, filepath.FromSlash(p.pkg), "Dockerfile")
		df, err := os.ReadFile(dockerfile)
		if err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		jobs = append(jobs, job{"mcpconf/" + name, []contextFile{
			{name: "Dockerfile", data: df, mode: 0o644},
			{name: name, src: bin, mode: 0o755},
		}, p.image})
	}
	if imgs.Redis == "" {
		files, err := redisContext(ctx, opts.RedisServer)
		if err != nil {
			return err
		}
		jobs = append(jobs, job{"mcpconf/redis", files, &imgs.Redis})
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			*j.image, errs[i] = c.build(ctx, j.repo, j.files, opts.Progress)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// build builds one image from files and returns its tag.
func (c *Containers) build(ctx context.Context, repo string, files []contextFile, progress io.Writer) (string, error) {
	archive, err := tarContext(files)
	if err != nil {
		return "", fmt.Errorf("image %s: build context: %w", repo, err)
	}
	ctx, cancel := context.WithTimeout(ctx, imageBuildTimeout)
	defer cancel()
	start := time.Now()
	ref := repo + ":" + c.Run.ID
	fmt.Fprintf(progress, "containers: building image %s (context %d KiB)\n", ref, len(archive)>>10)
	out := newPrefixWriter(progress, "  "+repo+"| ")
	tag, err := c.provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		ContextArchive: bytes.NewReader(archive),
		Repo:           repo,
		Tag:            c.Run.ID,
		KeepImage:      true, // removed by Close, not by a container's Terminate
		BuildLogWriter: out,
	}})
	out.Flush()
	if tag != "" || err == nil {
		c.mu.Lock()
		c.builtImages = append(c.builtImages, ref)
		c.mu.Unlock()
	}
	if err != nil {
		return "", fmt.Errorf("build image %s: %w", ref, err)
	}
	fmt.Fprintf(progress, "containers: built %s in %s\n", tag, time.Since(start).Round(10*time.Millisecond))
	return tag, nil
}

// buildStatic builds main packages of the module at root into dir with
// CGO_ENABLED=0, each binary named after its package.
func buildStatic(ctx context.Context, root, dir string, pkgs []string) error {
	args := append([]string{"build", "-trimpath", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", strings.Join(pkgs, " "), root, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// checkStatic fails unless bin is a statically linked ELF executable: an
// image FROM scratch has no dynamic loader or libraries.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("binary for a FROM scratch image: %w (make build writes bin/gateway, bin/counter, bin/wedge)", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; an image FROM scratch needs a static binary (build it with CGO_ENABLED=0, as make build does)", bin)
		}
	}
	return nil
}

// redisDockerfile runs the host's redis-server FROM scratch. CMD (not
// ENTRYPOINT) names the server, as official Redis images do, so the driver
// starts either kind with the same command line.
const redisDockerfile = `# Debian's redis-server and the libraries it links, FROM scratch.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin LD_LIBRARY_PATH=%s
WORKDIR /data
EXPOSE 6379
USER 65532:65532
CMD ["redis-server"]
`

// redisContext is the build context of the default Redis image: the
// redis-server binary (under that name: the same file answers to
// redis-check-rdb when called so), every library ldd lists at the path ldd
// prints, and an empty /data.
func redisContext(ctx context.Context, bin string) ([]contextFile, error) {
	if bin == "" {
		bin = "redis-server"
	}
	where, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("the Redis image is built from the host's redis-server: %w (Debian: apt-get install redis-server; or name an image with MCPCONF_REDIS_IMAGE, e.g. redis:7)", err)
	}
	real, err := filepath.EvalSymlinks(where)
	if err != nil {
		return nil, err
	}
	libs, err := lddPaths(ctx, real)
	if err != nil {
		return nil, err
	}
	files := []contextFile{
		{name: "rootfs/usr/bin/redis-server", src: real, mode: 0o755},
		{name: "rootfs/data", dir: true, mode: 0o1777},
	}
	var dirs []string
	for _, lib := range libs {
		src, err := filepath.EvalSymlinks(lib)
		if err != nil {
			return nil, fmt.Errorf("library %s of %s: %w", lib, real, err)
		}
		files = append(files, contextFile{name: "rootfs" + lib, src: src, mode: 0o755})
		if d := path.Dir(lib); !slices.Contains(dirs, d) && !strings.HasPrefix(path.Base(lib), "ld-linux") {
			dirs = append(dirs, d)
		}
	}
	files = append(files, contextFile{name: "Dockerfile", data: fmt.Appendf(nil, redisDockerfile, strings.Join(dirs, ":")), mode: 0o644})
	return files, nil
}

// lddPaths lists the absolute paths of the shared libraries (and the dynamic
// loader) bin needs; none for a static binary.
func lddPaths(ctx context.Context, bin string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w: %s", bin, err, bytes.TrimSpace(out))
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.Contains(line, "not found") {
			return nil, fmt.Errorf("ldd %s: %s", bin, line)
		}
		// "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
		// "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
		if _, after, ok := strings.Cut(line, "=> "); ok {
			line = after
		}
		p, _, _ := strings.Cut(line, " ")
		if strings.HasPrefix(p, "/") && !slices.Contains(libs, p) {
			libs = append(libs, p)
		}
	}
	return libs, nil
}

// contextFile is one entry of a build context: a directory, a host file
// (src) or literal data.
type contextFile struct {
	name string
	src  string
	data []byte
	mode int64
	dir  bool
}

// tarContext writes the files as a tar archive, with a fixed modification
// time so that identical inputs hit Docker's build cache.
func tarContext(files []contextFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	for _, f := range files {
		if f.dir {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: f.name + "/", Mode: f.mode, ModTime: mtime}); err != nil {
				return nil, err
			}
			continue
		}
		data := f.data
		if f.src != "" {
			var err error
			if data, err = os.ReadFile(f.src); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// prefixWriter writes each complete line to w with a prefix.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func newPrefixWriter(w io.Writer, prefix string) *prefixWriter {
	return &prefixWriter{w: w, prefix: prefix}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		p.emit(p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// Flush writes what remains of an unterminated line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		p.emit(p.buf)
		p.buf = nil
	}
}

func (p *prefixWriter) emit(line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	_, _ = fmt.Fprintf(p.w, "%s%s\n", p.prefix, line)
}
