package analysis

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"decnet/internal/fingerprint"
)

// TestTLSClientTable drives the real clients the tlsClientTable entries were
// measured from (Debian 12's curl and Python requests, and this Go toolchain's
// crypto/tls) at a loopback listener, computes their JA4 with internal/fingerprint
// and checks that the table still names each one. A client that is not installed
// is skipped (a failure in the full suite).
func TestTLSClientTable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	hellos := make(chan string, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			_, ch, err := fingerprint.ReadClientHello(c, 64<<10)
			c.Close()
			if err != nil {
				hellos <- "error: " + err.Error()
				continue
			}
			hellos <- fingerprint.JA4(ch, fingerprint.TCP).JA4
		}
	}()
	_, port, _ := net.SplitHostPort(addr)
	for _, host := range []string{"127.0.0.1", "localhost"} { // without and with SNI
		url := "https://" + net.JoinHostPort(host, port) + "/"
		testTLSClients(t, host, url, hellos)
	}
}

func testTLSClients(t *testing.T, host, url string, hellos chan string) {
	clients := []struct {
		tool string
		bin  string
		run  func() error
	}{
		{"curl", "curl", func() error {
			return exec.Command("curl", "-sk", "--max-time", "3", url).Run()
		}},
		{"python-requests", "/usr/bin/python3", func() error {
			return exec.Command("/usr/bin/python3", "-c", "import requests,sys\ntry: requests.get(sys.argv[1], verify=False, timeout=3)\nexcept Exception: pass", url).Run()
		}},
		{"go-http-client", "", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}}
			d.Config.ServerName = host
			c, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/"), "https://"))
			if err == nil {
				c.Close()
			}
			return nil
		}},
	}
	for _, c := range clients {
		t.Run(c.tool+"/"+host, func(t *testing.T) {
			if c.bin != "" {
				if _, err := exec.LookPath(c.bin); err != nil {
					if os.Getenv("DECNET_FULL_SUITE") == "1" {
						t.Fatalf("%s is not installed", c.bin)
					}
					t.Skipf("%s is not installed", c.bin)
				}
			}
			c.run()
			var ja4 string
			select {
			case ja4 = <-hellos:
			case <-time.After(10 * time.Second):
				t.Fatal("no ClientHello arrived")
			}
			if strings.HasPrefix(ja4, "error") {
				t.Fatal(ja4)
			}
			a := newAcc("u", "127.0.0.1")
			a.tlsClient(ja4)
			if ta := a.st.Tools[c.tool]; ta == nil {
				t.Errorf("JA4 %s of this %s is not in tlsClientTable (tools %v)", ja4, c.tool, a.st.Tools)
			}
			t.Logf("measured %s JA4 %s", c.tool, ja4)
		})
	}
}
