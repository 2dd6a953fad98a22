package ldap

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

func start(t *testing.T, cfg service.Config, mutate ...func(*service.Runtime)) (*servicetest.Harness, string) {
	t.Helper()
	if cfg.Distro == "" {
		cfg.Distro = "windows2019"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "DC01"
	}
	h := servicetest.Start(t, "ldap", cfg, mutate...)
	return h, "ldap://" + h.Addr(Port)
}

func ldapsearch(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return servicetest.Run(t, 30*time.Second, []string{"LDAPNOINIT=1"}, "ldapsearch", append([]string{"-o", "ldif-wrap=no"}, args...)...)
}

func TestLdapsearchRootDSE(t *testing.T) {
	h, url := start(t, service.Config{Persona: map[string]string{"domain": "acme.example"}})
	out, err := ldapsearch(t, "-x", "-H", url, "-b", "", "-s", "base")
	if err != nil {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}
	for _, want := range []string{
		"defaultNamingContext: DC=acme,DC=example",
		"dnsHostName: DC01.acme.example",
		"ldapServiceName: acme.example:dc01$@ACME.EXAMPLE",
		"dsServiceName: CN=NTDS Settings,CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=acme,DC=example",
		"serverName: CN=DC01,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=acme,DC=example",
		"namingContexts: CN=Schema,CN=Configuration,DC=acme,DC=example",
		"supportedLDAPVersion: 3",
		"supportedSASLMechanisms: GSS-SPNEGO",
		"supportedSASLMechanisms: DIGEST-MD5",
		"domainFunctionality: 7",
		"isGlobalCatalogReady: TRUE",
		"currentTime: 20",
		"# numEntries: 1",
		"result: 0 Success",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ldapsearch output lacks %q:\n%s", want, out)
		}
	}
	e := h.Wait(t, 5*time.Second, "search", servicetest.Type(event.Request, "operation=search", "rootdse=true", "scope=base"))
	if e.Fields["filter"] != "(objectclass=*)" || e.AttackerIP != "127.0.0.1" {
		t.Errorf("search event %+v", e)
	}
	// ldapsearch -x binds anonymously first.
	h.Wait(t, 5*time.Second, "anonymous bind", servicetest.Type(event.Auth, "bind_kind=anonymous", "outcome=success"))
	h.Wait(t, 5*time.Second, "unbind", servicetest.Type(event.Request, "operation=unbind"))
}

func TestLdapsearchSelectedAttributes(t *testing.T) {
	_, url := start(t, service.Config{})
	out, err := ldapsearch(t, "-x", "-H", url, "-b", "", "-s", "base", "(objectclass=*)", "dnsHostName", "DEFAULTNAMINGCONTEXT")
	if err != nil {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}
	if !strings.Contains(out, "dnsHostName: DC01.corp.local") || !strings.Contains(out, "defaultNamingContext: DC=corp,DC=local") {
		t.Errorf("selected attributes missing:\n%s", out)
	}
	if strings.Contains(out, "supportedControl") {
		t.Errorf("unrequested attribute returned:\n%s", out)
	}
}

func TestLdapsearchSimpleBindCaptured(t *testing.T) {
	h, url := start(t, service.Config{})
	out, err := ldapsearch(t, "-x", "-H", url, "-D", "cn=admin,dc=corp,dc=local", "-w", "Secret1", "-b", "dc=corp,dc=local")
	if err == nil {
		t.Fatalf("ldapsearch succeeded with a wrong password:\n%s", out)
	}
	if !strings.Contains(out, "Invalid credentials (49)") ||
		!strings.Contains(out, "80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 52e, v4563") {
		t.Errorf("ldapsearch's view:\n%s", out)
	}
	e := h.Wait(t, 5*time.Second, "credential", servicetest.Type(event.Auth, "secret_kind=plaintext"))
	if e.Fields["username"] != "cn=admin,dc=corp,dc=local" || e.Fields["password"] != "Secret1" ||
		e.Fields["secret_b64"] != "U2VjcmV0MQ==" || e.Fields["outcome"] != "failure" || e.AttackerIP != "127.0.0.1" || !e.IsCredential() {
		t.Errorf("credential event %+v", e)
	}
}

func TestWindows2022DiagnosticSuffix(t *testing.T) {
	_, url := start(t, service.Config{Distro: "windows2022"})
	out, _ := ldapsearch(t, "-x", "-H", url, "-D", "CORP\\bob", "-w", "x", "-b", "")
	if !strings.Contains(out, "data 52e, v4f7c") {
		t.Errorf("ldapsearch's view:\n%s", out)
	}
}

func TestSearchWithoutBindRefused(t *testing.T) {
	h, url := start(t, service.Config{})
	out, err := ldapsearch(t, "-x", "-H", url, "-b", "dc=corp,dc=local", "(sAMAccountName=adm*)", "memberOf")
	if err == nil {
		t.Fatalf("search succeeded:\n%s", out)
	}
	if !strings.Contains(out, "result: 1 Operations error") ||
		!strings.Contains(out, "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563") {
		t.Errorf("ldapsearch's view:\n%s", out)
	}
	e := h.Wait(t, 5*time.Second, "search", servicetest.Type(event.Request, "operation=search", "scope=sub"))
	if e.Fields["filter"] != "(sAMAccountName=adm*)" || e.Fields["base"] != "dc=corp,dc=local" || e.Fields["attributes"] != "memberOf" {
		t.Errorf("search event %+v", e.Fields)
	}
}

func TestAnonymousBindRefusedByPersona(t *testing.T) {
	h, url := start(t, service.Config{Persona: map[string]string{"anonymous_bind": "false"}})
	out, err := ldapsearch(t, "-x", "-H", url, "-b", "", "-s", "base")
	if err == nil || !strings.Contains(out, "Invalid credentials (49)") {
		t.Errorf("anonymous bind not refused: %v\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "anonymous bind", servicetest.Type(event.Auth, "bind_kind=anonymous", "outcome=failure"))
}

func TestSASLBindRecorded(t *testing.T) {
	h, url := start(t, service.Config{})
	out, err := ldapsearch(t, "-H", url, "-Y", "DIGEST-MD5", "-U", "bob", "-w", "pw", "-b", "")
	if err == nil {
		t.Fatalf("SASL bind succeeded:\n%s", out)
	}
	h.Wait(t, 5*time.Second, "sasl bind", servicetest.Type(event.Auth, "auth_method=sasl", "sasl_mechanism=DIGEST-MD5"))
}

func TestHostileBindDNArrivesExactly(t *testing.T) {
	h, url := start(t, service.Config{})
	dn := "cn=a]\"b\x1b[31m\xff,dc=x"
	ldapsearch(t, "-x", "-H", url, "-D", dn, "-w", "p]\"\n", "-b", "")
	e := h.Wait(t, 5*time.Second, "credential", servicetest.Type(event.Auth, "secret_kind=plaintext"))
	if e.Fields["username"] != service.Printable(dn, 0) || e.Fields["secret_b64"] != "cF0iCg==" {
		t.Errorf("fields %q", e.Fields)
	}
}

func TestNmapVersion(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	addr := freeLoopback(t, Port)
	h, _ := start(t, service.Config{Persona: map[string]string{"domain": "corp.local"}}, func(rt *service.Runtime) { rt.Bind[Port] = addr })
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nmap", "-Pn", "-sV", "--version-intensity", "7", "--script", "ldap-rootdse", "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	for _, want := range []string{"Microsoft Windows Active Directory LDAP", "Domain: corp.local", "Site: Default-First-Site-Name", "dnsHostName: DC01.corp.local"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}

// freeLoopback returns a 127.0.0.x:port address nothing listens on (binding port
// 389 needs root, or the test skips).
func freeLoopback(t *testing.T, port int) string {
	for i := 2; i < 50; i++ {
		a := fmt.Sprintf("127.0.0.%d:%d", i, port)
		l, err := net.Listen("tcp", a)
		if err == nil {
			l.Close()
			return a
		}
	}
	testenv.RequireRoot(t)
	t.Skipf("no loopback address with a free port %d", port)
	return ""
}

func splitHostPort(t *testing.T, a string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}
