package rdp

import (
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

// TestXFreeRDPTLSOnlyAutoLogon: with nla=false, FreeRDP forced to TLS security
// (/sec:tls) runs the MCS sequence and sends its auto-logon credentials in the
// Client Info PDU, where they are captured in plain text.
func TestXFreeRDPTLSOnlyAutoLogon(t *testing.T) {
	h := servicetest.Start(t, "rdp", service.Config{Distro: "windows10", OSFamily: "windows", Hostname: "DESKTOP-7QK2M1B",
		Persona: map[string]string{KeyNLA: "false"}})
	testenv.RequireTool(t, "xfreerdp")
	host, port, _ := strings.Cut(h.Addr(Port), ":")
	out, _ := servicetest.Run(t, 60*time.Second, []string{"HOME=" + t.TempDir()}, "xvfb-run", "-a", "xfreerdp", "/v:"+host+":"+port,
		"/u:alice", "/p:Secret1]\"", "/d:CORP", "/cert:ignore", "/sec:tls", "/log-level:INFO")
	t.Logf("%s", out)
	h.Wait(t, 10*time.Second, "x224", servicetest.Type(event.Request, "kind=x224", "selected=ssl"))
	h.Wait(t, 10*time.Second, "connect initial", servicetest.Type(event.Request, "kind=mcs_connect_initial"))
	e := h.Wait(t, 10*time.Second, "client info", servicetest.Type(event.Auth, "method=client_info", "username=alice", "domain=CORP", "password=Secret1]\"", "secret_kind=plaintext"))
	t.Logf("%v", e.Fields)
}
