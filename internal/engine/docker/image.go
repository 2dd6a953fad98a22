package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
)

// ImageRepo is the repository of the DECNET service image.
const ImageRepo = "decnet/service"

// LabelBinary is the image label holding the full SHA-256 of the binary inside;
// LabelRecipe the SHA-256 of the Dockerfile it was built with (an image built by an
// older recipe is rebuilt even though its tag, from the binary alone, matches).
const (
	LabelBinary = "decnet.binary-sha256"
	LabelRecipe = "decnet.recipe-sha256"
)

// maxBinary bounds the binary EnsureImage reads.
const maxBinary = 512 << 20

// Dockerfile is the whole recipe of the service image. The binary lives in /bin, not at
// /decnet: the service containers mount their config and artifacts under /decnet/.
const Dockerfile = `FROM scratch
COPY decnet /bin/decnet
USER 65534:65534
ENTRYPOINT ["/bin/decnet"]
`

// ImageTag returns the tag of the image built from a binary with these bytes.
func ImageTag(binary []byte) string {
	sum := sha256.Sum256(binary)
	return ImageRepo + ":" + hex.EncodeToString(sum[:])[:12]
}

// CheckStatic fails unless b is a statically linked ELF executable (no program
// interpreter), which is what a FROM scratch image can run.
func CheckStatic(name string, b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", name, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is an ELF %v, not an executable", name, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp, _ := io.ReadAll(io.LimitReader(p.Open(), 256))
			return fmt.Errorf("%s is dynamically linked (it needs %s), so it cannot run in a FROM scratch image; build it with CGO_ENABLED=0",
				name, strings.TrimRight(string(interp), "\x00"))
		}
	}
	return nil
}

// EnsureImage builds decnet/service:<sha256[:12]> FROM scratch holding the binary, unless
// an image with that tag exists.
func (e *Engine) EnsureImage(ctx context.Context, binary string) (string, error) {
	fh, err := os.Open(binary)
	if err != nil {
		return "", fmt.Errorf("cannot read the decnet binary: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxBinary+1))
	fh.Close()
	if err != nil {
		return "", fmt.Errorf("cannot read the decnet binary %s: %w", binary, err)
	}
	if len(b) > maxBinary {
		return "", fmt.Errorf("the decnet binary %s is larger than %d MiB", binary, maxBinary>>20)
	}
	tag := ImageTag(b)
	recipe := sha256.Sum256([]byte(Dockerfile))
	if img, err := e.cli.ImageInspect(ctx, tag); err == nil {
		if img.Config != nil && img.Config.Labels[LabelRecipe] == hex.EncodeToString(recipe[:]) {
			return tag, nil
		}
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("cannot inspect image %s: %w", tag, err)
	}
	if err := CheckStatic(binary, b); err != nil {
		return "", err
	}
	buildCtx, err := buildContext(b)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	resp, err := e.cli.ImageBuild(ctx, bytes.NewReader(buildCtx), build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		Labels:      map[string]string{LabelBinary: hex.EncodeToString(sum[:]), LabelRecipe: hex.EncodeToString(recipe[:])},
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("cannot build image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := buildResult(resp.Body); err != nil {
		return "", fmt.Errorf("building image %s failed: %w", tag, err)
	}
	if _, err := e.cli.ImageInspect(ctx, tag); err != nil {
		return "", fmt.Errorf("image %s is missing after a successful build: %w", tag, err)
	}
	return tag, nil
}

// buildContext is the tar archive {Dockerfile, decnet}.
func buildContext(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Unix(0, 0)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(Dockerfile)}, {"decnet", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return nil, fmt.Errorf("cannot write the image build context: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("cannot write the image build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("cannot write the image build context: %w", err)
	}
	return buf.Bytes(), nil
}

// buildResult reads the daemon's JSON message stream and returns the build error, if any.
func buildResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	var last string
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("cannot read the build output (last line %q): %w", last, err)
		}
		if m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			last = s
		}
	}
}
