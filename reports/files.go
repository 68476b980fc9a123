package reports

import (
	"fmt"
	"io"
	"os"
)

// WriteFiles writes the Markdown summary to mdPath and the HTML report to
// htmlPath; an empty path is skipped.
func (m *Matrix) WriteFiles(mdPath, htmlPath string) error {
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{mdPath, m.WriteMarkdown}, {htmlPath, m.WriteHTML}} {
		if out.path == "" {
			continue
		}
		f, err := os.Create(out.path)
		if err != nil {
			return err
		}
		if err := out.write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", out.path, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
