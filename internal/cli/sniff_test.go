package cli

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"decnet/internal/fingerprint"
	"decnet/internal/spool"
)

// writeHelloPcap writes a pcap holding a SYN and a real Go ClientHello from
// 10.0.0.9:40000 to 10.0.0.2:443.
func writeHelloPcap(t *testing.T) (path, ja3 string) {
	t.Helper()
	a, b := net.Pipe()
	go tls.Client(a, &tls.Config{ServerName: "cli.example", InsecureSkipVerify: true}).Handshake()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, ch, err := fingerprint.ReadClientHello(b, 64<<10)
	a.Close()
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, ja3 = fingerprint.JA3(ch)
	path = filepath.Join(t.TempDir(), "hello.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 9}, DstIP: net.IP{10, 0, 0, 2}}
	for i, tcp := range []*layers.TCP{{SrcPort: 40000, DstPort: 443, Seq: 99, SYN: true, Window: 64240},
		{SrcPort: 40000, DstPort: 443, Seq: 100, ACK: true, PSH: true, Window: 64240}} {
		tcp.SetNetworkLayerForChecksum(ip)
		var payload []byte
		if i == 1 {
			payload = raw
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
			ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		d := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, int64(i)), CaptureLength: len(d), Length: len(d)}, d); err != nil {
			t.Fatal(err)
		}
	}
	return path, ja3
}

func TestSniffRead(t *testing.T) {
	path, ja3 := writeHelloPcap(t)
	state := t.TempDir()
	code, out, errOut := run(t, "--state-dir", state, "sniff", "--read", path, "--json", "--decky-map", "10.0.0.2=decky-01")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var kinds []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r spool.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("not a JSON record: %q: %v", sc.Text(), err)
		}
		kinds = append(kinds, r.Fields["fp_kind"])
		if r.Decky != "decky-01" || r.AttackerIP != "10.0.0.9" || r.Service != "sniffer" || r.RawLine == "" {
			t.Errorf("record %+v", r)
		}
		if r.Fields["fp_kind"] == "tls_client" && (r.Fields["ja3"] != ja3 || r.Fields["sni"] != "cli.example") {
			t.Errorf("tls_client %v, want ja3 %s", r.Fields, ja3)
		}
	}
	if strings.Join(kinds, ",") != "tcp_syn,tls_client" {
		t.Errorf("events %v", kinds)
	}

	// Into a spool.
	dir := filepath.Join(t.TempDir(), "spool")
	if code, _, errOut := run(t, "--state-dir", state, "sniff", "--read", path, "--spool-dir", dir); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	r, err := spool.OpenReader(dir, spool.Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		rec, _, err := r.Next()
		if err != nil || rec == nil {
			break
		}
		n++
		if rec.Decky != "10.0.0.2" {
			t.Errorf("without a map the decky is the destination IP, got %q", rec.Decky)
		}
	}
	if n != 2 {
		t.Errorf("%d records in the spool, want 2", n)
	}

	// Human-readable lines by default.
	if code, out, _ := run(t, "--state-dir", state, "sniff", "--read", path); code != ExitOK || !strings.Contains(out, "tls_client") || !strings.Contains(out, `sni="cli.example"`) {
		t.Errorf("exit %d, output %q", code, out)
	}
}

func TestSniffUsage(t *testing.T) {
	state := t.TempDir()
	for _, args := range [][]string{
		{"sniff"}, // nothing deployed, no --iface: never guess an interface
		{"sniff", "--read", "x.pcap", "--iface", "lo"},
		{"sniff", "--read", filepath.Join(state, "missing.pcap")},
		{"sniff", "--read", "x.pcap", "--json", "--spool-dir", state},
		{"sniff", "--iface", "lo", "--decky-map", "nonsense"},
	} {
		code, _, errOut := run(t, append([]string{"--state-dir", state}, args...)...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d (%s), want %d", args, code, errOut, ExitUsage)
		}
	}
	code, _, errOut := run(t, "--state-dir", state, "sniff")
	if code != ExitUsage || !strings.Contains(errOut, "--iface") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
