package conpot

import (
	"errors"
	"io"
	"log"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

const wait = 10 * time.Second

func start(t *testing.T, persona map[string]string, realPorts ...int) *servicetest.Harness {
	t.Helper()
	return servicetest.Start(t, "conpot", service.Config{Decky: "decky-plc-03", Hostname: "pumps1", OSFamily: "embedded", Persona: persona},
		func(rt *service.Runtime) {
			for _, p := range realPorts {
				// nmap's modbus-discover and s7-info only run on 502 and 102
				// (s7-info's portrule wants the port or an iso-tsap service
				// name that -sV cannot find on another port).
				rt.Bind[p] = "127.0.0.1:" + strconv.Itoa(p)
			}
		})
}

// requirePort checks that a real port nmap's scripts need can be bound on
// loopback (it needs root below 1024): skipped, or failed in the full suite,
// when it cannot.
func requirePort(t *testing.T, port int) {
	t.Helper()
	testenv.RequireTool(t, "nmap")
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		testenv.Missing(t, "127.0.0.1:%d cannot be bound (%v), and nmap's script only runs on that port", port, err)
		return
	}
	l.Close()
}

// TestModbusGoClient drives the PLC with a real Modbus/TCP client library.
func TestModbusGoClient(t *testing.T) {
	h := start(t, nil)
	mc, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + h.Addr(502), Timeout: 5 * time.Second, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Open(); err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	mc.SetUnitId(1)
	regs, err := mc.ReadRegisters(0, 10, modbus.HOLDING_REGISTER)
	if err != nil || len(regs) != 10 {
		t.Fatalf("read holding registers: %v %v", regs, err)
	}
	again, _ := mc.ReadRegisters(0, 10, modbus.HOLDING_REGISTER)
	for i := range regs {
		if regs[i] != again[i] {
			t.Fatalf("holding registers change between reads: %v %v", regs, again)
		}
	}
	if in, err := mc.ReadRegisters(0, 4, modbus.INPUT_REGISTER); err != nil || len(in) != 4 || in[0] == 0 {
		t.Fatalf("read input registers: %v %v", in, err)
	}
	if err := mc.WriteRegisters(100, []uint16{1337, 0xBEEF}); err != nil {
		t.Fatalf("write multiple registers: %v", err)
	}
	if err := mc.WriteRegister(7, 4242); err != nil {
		t.Fatalf("write single register: %v", err)
	}
	back, err := mc.ReadRegisters(100, 2, modbus.HOLDING_REGISTER)
	if err != nil || back[0] != 1337 || back[1] != 0xBEEF {
		t.Fatalf("written registers read back as %v (%v)", back, err)
	}
	if err := mc.WriteCoils(10, []bool{true, false, true}); err != nil {
		t.Fatalf("write multiple coils: %v", err)
	}
	if err := mc.WriteCoil(20, true); err != nil {
		t.Fatalf("write single coil: %v", err)
	}
	coils, err := mc.ReadCoils(10, 11)
	if err != nil || !coils[0] || coils[1] || !coils[2] || !coils[10] {
		t.Fatalf("coils read back as %v (%v)", coils, err)
	}
	if _, err := mc.ReadDiscreteInputs(0, 16); err != nil {
		t.Fatalf("read discrete inputs: %v", err)
	}
	if _, err := mc.ReadRegisters(2047, 2, modbus.HOLDING_REGISTER); !errors.Is(err, modbus.ErrIllegalDataAddress) {
		t.Fatalf("read past the map: %v, want illegal data address", err)
	}
	h.Wait(t, wait, "write", servicetest.Type(event.Command, "function=16", "function_name=write_multiple_registers", "address=100", "count=2", "values=1337,48879", "unit_id=1"))
	h.Wait(t, wait, "coils", servicetest.Type(event.Command, "function=15", "address=10", "count=3", "values=101"))
	h.Wait(t, wait, "single", servicetest.Type(event.Command, "function=6", "address=7", "values=4242"))
	e := h.Wait(t, wait, "exception", servicetest.Type(event.Command, "function=3", "address=2047", "count=2"))
	if e.Fields["exception"] != "ILLEGAL DATA ADDRESS" || e.AttackerIP != "127.0.0.1" {
		t.Errorf("exception event wrong: %+v", e.Fields)
	}
}

// TestNmapModbusDiscover runs nmap's modbus-discover on 502: the persona's
// identity, never conpot's default Siemens one.
func TestNmapModbusDiscover(t *testing.T) {
	requirePort(t, 502)
	h := start(t, map[string]string{"revision": "v3.10"}, 502)
	out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-Pn", "-sV", "--script", "modbus-discover", "-p", "502", "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	t.Log(out)
	if !strings.Contains(out, "Device identification: Schneider Electric BMX P34 2020 v3.10") || strings.Contains(out, "S7-200") ||
		!regexp.MustCompile(`(?m)^502/tcp\s+open\s+modbus`).MatchString(out) {
		t.Fatalf("modbus-discover did not show the persona:\n%s", out)
	}
	h.Wait(t, wait, "device id read", servicetest.Type(event.Command, "function=43", "function_name=read_device_identification", "read_code=1"))
}

// TestNmapVersionModbus: -sV on a port nmap does not associate with Modbus still
// finds Modbus TCP from the PLC's answer to its HTTP probe.
func TestNmapVersionModbus(t *testing.T) {
	h := start(t, nil)
	_, port, _ := net.SplitHostPort(h.Addr(502))
	out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-Pn", "-sV", "-p", port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^` + port + `/tcp\s+open\s+modbus\s+Modbus TCP`).MatchString(out) {
		t.Fatalf("nmap -sV did not find Modbus TCP:\n%s", out)
	}
	h.Wait(t, wait, "http probe", servicetest.Type(event.Command, "protocol=modbus", "exception=ILLEGAL FUNCTION"))
}

// TestNmapS7Info runs nmap -sV with s7-info on 102: the per-decky identity.
func TestNmapS7Info(t *testing.T) {
	requirePort(t, 102)
	h := start(t, nil, 102)
	out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-Pn", "-sV", "--script", "s7-info", "-p", "102", "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	t.Log(out)
	p := newPLCFor(t, "decky-plc-03", "pumps1")
	for _, want := range []string{
		"Module: 6ES7 315-2EH14-0AB0", "Basic Hardware: 6ES7 315-2EH14-0AB0", "Version: 3.2.6", "System Name: SIMATIC 300(1)",
		"Module Type: PLC_PUMPS1", "Serial Number: " + p.id.serial, "Plant Identification: " + p.id.plantID,
		"Copyright: Original Siemens Equipment",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("s7-info lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^102/tcp\s+open\s+iso-tsap\s+Siemens S7 PLC`).MatchString(out) {
		t.Fatalf("nmap -sV did not name the S7 PLC:\n%s", out)
	}
	h.Wait(t, wait, "cotp", servicetest.Type(event.Command, "protocol=cotp", "pdu_type=CR", "dst_tsap=0102", "rack=0", "slot=2"))
	h.Wait(t, wait, "setup", servicetest.Type(event.Command, "function_name=setup_communication", "pdu_size=480"))
	h.Wait(t, wait, "szl", servicetest.Type(event.Command, "function_name=read_szl", "szl_id=0x001c", "szl_index=0x0001"))
}

func newPLCFor(t testing.TB, decky, host string) *plc {
	t.Helper()
	spec, _ := service.Lookup("conpot")
	persona, err := spec.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := service.NewRuntime(service.Config{Decky: decky, Hostname: host, Distro: "ubuntu22", Persona: persona})
	if err != nil {
		t.Fatal(err)
	}
	return newPLC(rt)
}

// TestIdentityPerDecky: serials and register contents differ between deckies and
// stay the same for one decky.
func TestIdentityPerDecky(t *testing.T) {
	a, a2, b := newPLCFor(t, "decky-01", "plc"), newPLCFor(t, "decky-01", "plc"), newPLCFor(t, "decky-02", "plc")
	if a.id.serial != a2.id.serial || a.holding[3] != a2.holding[3] || a.id.plantID != a2.id.plantID {
		t.Error("identity not stable for one decky")
	}
	if a.id.serial == b.id.serial {
		t.Errorf("two deckies share serial %s", a.id.serial)
	}
	if !regexp.MustCompile(`^S C-[A-Z0-9]{3}\d{5}20[12]\d$`).MatchString(a.id.serial) {
		t.Errorf("serial %q not Siemens-like", a.id.serial)
	}
	if a.id.vendor == "Siemens" || strings.Contains(a.id.productCode, "S7-200") {
		t.Error("conpot's default identity leaked")
	}
}
