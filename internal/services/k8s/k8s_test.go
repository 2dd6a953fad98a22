package k8s

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func start(t *testing.T, persona map[string]string) *servicetest.Harness {
	t.Helper()
	return servicetest.Start(t, "k8s", service.Config{Hostname: "k8s-cp-01", Persona: persona})
}

func curl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := servicetest.Run(t, 30*time.Second, nil, "curl", append([]string{"-sSk"}, args...)...)
	if err != nil {
		t.Fatalf("curl %q: %v\n%s", args, err, out)
	}
	return out
}

func TestCertificate(t *testing.T) {
	sec, err := makeCerts("k8s-cp-01", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(sec[SecretCert]))
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caBlock, _ := pem.Decode([]byte(sec[SecretCACert]))
	ca, _ := x509.ParseCertificate(caBlock.Bytes)
	if leaf.Subject.CommonName != "kube-apiserver" || ca.Subject.CommonName != "kubernetes" || leaf.Issuer.CommonName != "kubernetes" {
		t.Errorf("names: %s / %s / %s", leaf.Subject, leaf.Issuer, ca.Subject)
	}
	want := "k8s-cp-01,kubernetes,kubernetes.default,kubernetes.default.svc,kubernetes.default.svc.cluster.local"
	if got := strings.Join(leaf.DNSNames, ","); got != want || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "10.96.0.1" {
		t.Errorf("SANs %s %v", got, leaf.IPAddresses)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "kubernetes.default.svc"}); err != nil {
		t.Errorf("the serving certificate does not verify against the cluster CA: %v", err)
	}
	if time.Since(leaf.NotBefore) < 24*time.Hour || leaf.NotAfter.Before(time.Now().Add(29*24*time.Hour)) {
		t.Errorf("validity %v – %v", leaf.NotBefore, leaf.NotAfter)
	}
}

func TestCurlAnonymous(t *testing.T) {
	h := start(t, nil)
	base := "https://" + h.Addr(Port)
	out := curl(t, base+"/version")
	var v struct{ Major, Minor, GitVersion, Platform string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.GitVersion != "v1.29.4" || v.Minor != "29" || !strings.HasPrefix(out, "{\n  \"major\": \"1\",") {
		t.Errorf("/version %v: %s", err, out)
	}
	if out := curl(t, base+"/healthz"); out != "ok" {
		t.Errorf("/healthz %q", out)
	}
	out = curl(t, "-i", base+"/api/v1/namespaces/default/pods")
	if !strings.Contains(out, "HTTP/2 403") || !strings.Contains(out, `"message": "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""`) || !strings.Contains(out, "audit-id: ") {
		t.Errorf("anonymous pods:\n%s", out)
	}
	out = curl(t, base+"/")
	if !strings.Contains(out, `"message": "forbidden: User \"system:anonymous\" cannot get path \"/\""`) {
		t.Errorf("anonymous /:\n%s", out)
	}
	h.Wait(t, 5*time.Second, "request", servicetest.Type(event.Request, "method=GET", "path=/version"))

	h2 := start(t, map[string]string{"anonymous_auth": "false"})
	out = curl(t, "https://"+h2.Addr(Port)+"/api")
	if !strings.Contains(out, `"reason": "Unauthorized"`) || !strings.Contains(out, `"code": 401`) {
		t.Errorf("anonymous off: %s", out)
	}
}

func TestCurlTokenSecrets(t *testing.T) {
	h := start(t, nil)
	base := "https://" + h.Addr(Port)
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:prod:api"}`))
	token := "eyJhbGciOiJSUzI1NiJ9." + claims + ".c2ln"
	out := curl(t, "-H", "Authorization: Bearer "+token, base+"/api/v1/namespaces/prod/secrets")
	var list struct {
		Kind  string
		Items []struct {
			Metadata struct{ Name string }
			Data     map[string]string
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || list.Kind != "SecretList" || len(list.Items) != 3 {
		t.Fatalf("secrets %v:\n%s", err, out)
	}
	key, _ := base64.StdEncoding.DecodeString(list.Items[0].Data["AWS_ACCESS_KEY_ID"])
	if list.Items[0].Metadata.Name != "aws-credentials" || !strings.HasPrefix(string(key), "AKIA") || len(key) != 20 {
		t.Errorf("aws secret %+v", list.Items[0])
	}
	e := h.Wait(t, 5*time.Second, "token", servicetest.Type(event.Auth, "secret_kind=bearer_token", "username=system:serviceaccount:prod:api"))
	if e.Fields["token"] != token || e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte(token)) || e.AttackerIP != "127.0.0.1" {
		t.Errorf("token event %v", e.Fields)
	}
	h.Wait(t, 5*time.Second, "secret alert", servicetest.Type(event.Alert, "alert=k8s-secret-list", "namespace=prod"))
	// Every namespace publishes the cluster CA, as kube-controller-manager does.
	out = curl(t, "-H", "Authorization: Bearer "+token, base+"/api/v1/namespaces/default/configmaps/kube-root-ca.crt")
	if !strings.Contains(out, `"ca.crt": "-----BEGIN CERTIFICATE-----`) || !strings.Contains(out, strings.ReplaceAll(strings.TrimSpace(h.RT.Secret(SecretCACert)), "\n", `\n`)) {
		t.Errorf("kube-root-ca.crt:\n%s", out)
	}
	// A privileged pod is recorded and refused as RBAC refuses a read-only account.
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"hostPID":true,"containers":[{"name":"x","image":"alpine","command":["nsenter","-t","1","-m","sh"],"securityContext":{"privileged":true}}],"volumes":[{"name":"h","hostPath":{"path":"/"}}]}}`
	out = curl(t, "-H", "Authorization: Bearer "+token, "-H", "Content-Type: application/json", "-d", pod, base+"/api/v1/namespaces/prod/pods")
	if !strings.Contains(out, `pods is forbidden: User \"system:serviceaccount:prod:api\" cannot create resource \"pods\" in API group \"\" in the namespace \"prod\"`) {
		t.Errorf("create pod: %s", out)
	}
	e = h.Wait(t, 5*time.Second, "pod alert", servicetest.Type(event.Alert, "alert=k8s-create", "image=alpine", "privileged=true", "host_pid=true", "host_path=/"))
	if e.Fields["command"] != "nsenter -t 1 -m sh" {
		t.Errorf("pod alert %v", e.Fields)
	}
}

func TestClientCertificateRecorded(t *testing.T) {
	h := start(t, nil)
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "c.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "k.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	curl(t, "--cert", filepath.Join(dir, "c.pem"), "--key", filepath.Join(dir, "k.pem"), "https://"+h.Addr(Port)+"/version")
	sum := sha256.Sum256(der)
	h.Wait(t, 5*time.Second, "client cert", servicetest.Type(event.Auth, "secret_kind=x509_client_certificate", "username=kubernetes-admin",
		"groups=system:masters", "sha256="+hex.EncodeToString(sum[:]), "subject=CN=kubernetes-admin,O=system:masters"))
}

// TestKubectl drives the real kubectl with a token: discovery, server-side
// printing of pods, and secrets as YAML.
func TestKubectl(t *testing.T) {
	h := start(t, nil)
	home := t.TempDir()
	env := []string{"HOME=" + home, "KUBECONFIG=" + filepath.Join(home, "config")}
	args := []string{"--server", "https://" + h.Addr(Port), "--insecure-skip-tls-verify", "--token", "kubectl-token-123"}
	out, err := servicetest.Run(t, 60*time.Second, env, "kubectl", append(args, "get", "pods", "-A")...)
	if err != nil || !strings.Contains(out, "NAMESPACE") || !strings.Contains(out, "kube-apiserver-k8s-cp-01") || !strings.Contains(out, "postgres-0") || !strings.Contains(out, "Running") {
		t.Errorf("kubectl get pods -A: %v\n%s", err, out)
	}
	out, err = servicetest.Run(t, 60*time.Second, env, "kubectl", append(args, "get", "secret", "db-credentials", "-n", "prod", "-o", "yaml")...)
	if err != nil || !strings.Contains(out, "POSTGRES_PASSWORD:") || !strings.Contains(out, "kind: Secret") {
		t.Errorf("kubectl get secret: %v\n%s", err, out)
	}
	out, err = servicetest.Run(t, 60*time.Second, env, "kubectl", append(args, "version")...)
	if !strings.Contains(out, "Server Version: v1.29.4") {
		t.Errorf("kubectl version: %v\n%s", err, out)
	}
	out, err = servicetest.Run(t, 60*time.Second, env, "kubectl", append(args, "run", "pwn", "--image=alpine", "--", "id")...)
	if err == nil || !strings.Contains(out, `pods "pwn" is forbidden`) && !strings.Contains(out, `pods is forbidden`) {
		t.Errorf("kubectl run: %v\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "token", servicetest.Type(event.Auth, "secret_kind=bearer_token", "token=kubectl-token-123"))
	h.Wait(t, 5*time.Second, "kubectl run", servicetest.Type(event.Alert, "alert=k8s-create", "image=alpine", "command=id"))
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{30 * time.Second, "30s"}, {5*time.Minute + 3*time.Second, "5m3s"}, {90 * time.Minute, "90m"}, {5 * time.Hour, "5h"},
		{30 * time.Hour, "30h"}, {50 * time.Hour, "2d2h"}, {40 * 24 * time.Hour, "40d"}, {800 * 24 * time.Hour, "2y"}} {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestNmapVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan in -short mode")
	}
	h := start(t, nil)
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	out, _ := servicetest.Run(t, 4*time.Minute, nil, "nmap", "-Pn", "-n", "-sV", "-p", port, "127.0.0.1")
	// nmap 7.93 has no signature for kube-apiserver, and its "Golang net/http
	// server" softmatch expects the bare text/plain of Go before 1.13: a real
	// apiserver, built with a current Go, is reported as ssl/<unknown> with this
	// fingerprint (TLS, then the anonymous 403 Status), and so is this one.
	fp := strings.ReplaceAll(out, "\nSF:", "") // the fingerprint, unwrapped
	if !strings.Contains(out, port+"/tcp open  ssl/") ||
		!strings.Contains(fp, `r(GetRequest,`) || !strings.Contains(fp, `cannot\x20get\x20path\x20\\\"/\\\"`) {
		t.Errorf("nmap:\n%s", out)
	}
}

// TestHostileTokenRecorded: a token with characters the event format must escape
// arrives byte for byte.
func TestHostileTokenRecorded(t *testing.T) {
	h := start(t, nil)
	tok := `a]"b\c` // HTTP forbids control bytes in header values (Go answers 400)
	curl(t, "-o", "/dev/null", "-H", "Authorization: Bearer "+tok, "https://"+h.Addr(Port)+"/api/v1/namespaces")
	e := h.Wait(t, 5*time.Second, "token", servicetest.Type(event.Auth, "secret_kind=bearer_token"))
	raw, _ := base64.StdEncoding.DecodeString(e.Fields["secret_b64"])
	if string(raw) != tok || e.Fields["token"] != service.Printable(tok, 0) || e.Fields["token_b64"] == "" {
		t.Errorf("fields %v", e.Fields)
	}
}
