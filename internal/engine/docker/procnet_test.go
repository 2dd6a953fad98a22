package docker

import (
	"net"
	"slices"
	"testing"

	"decnet/internal/fleet"
)

const tcpTable = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21345 1 0000000000000000 100 0 0 10 0
   1: 0A000205:0016 0A000264:C350 01 00000000:00000000 02:0009D1D4 00000000     0        0 31337 4 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41234 1 0000000000000000 100 0 0 10 0
`

const udp6Table = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1234 2 0000000000000000 0
  124: 00000000000000000000000000000000:0000 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1235 2 0000000000000000 0
`

func TestParseProcNet(t *testing.T) {
	got, err := parseProcNet([]byte(tcpTable), "tcp")
	if want := []fleet.Port{{Number: 22, Proto: "tcp"}, {Number: 8080, Proto: "tcp"}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("tcp: %v, %v; want %v (an established socket is not listening)", got, err, want)
	}
	got, err = parseProcNet([]byte(udp6Table), "udp")
	if want := []fleet.Port{{Number: 53, Proto: "udp"}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("udp6: %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "garbage\n", "  sl  local_address rem_address st\n 0: 00000000 00000000:0000 0A\n", "  sl  local_address rem_address st\n 0: 0:zz 0:0 0A\n"} {
		if _, err := parseProcNet([]byte(bad), "tcp"); err == nil {
			t.Errorf("parseProcNet(%q) accepted it", bad)
		}
	}
}

// TestListeningInSelf reads this process's own sockets, as Listening reads a
// decky's.
func TestListeningInSelf(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	got, err := listeningIn("/proc/self/net")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []fleet.Port{{Number: l.Addr().(*net.TCPAddr).Port, Proto: "tcp"}, {Number: u.LocalAddr().(*net.UDPAddr).Port, Proto: "udp"}} {
		if !slices.Contains(got, want) {
			t.Errorf("%s is not among the listening ports %v", want, got)
		}
	}
	if _, err := listeningIn(t.TempDir()); err == nil {
		t.Error("a directory without socket tables gave no error")
	}
}

func FuzzParseProcNet(f *testing.F) {
	f.Add([]byte(tcpTable), false)
	f.Add([]byte(udp6Table), true)
	f.Fuzz(func(t *testing.T, b []byte, udp bool) {
		proto := "tcp"
		if udp {
			proto = "udp"
		}
		ports, err := parseProcNet(b, proto)
		if err != nil {
			return
		}
		for _, p := range ports {
			if p.Number < 1 || p.Number > 65535 || p.Proto != proto {
				t.Fatalf("bad port %v from %q", p, b)
			}
		}
	})
}
