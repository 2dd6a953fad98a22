package conpot

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"decnet/internal/service"
)

// identity is what the PLC says about itself, resolved once from the persona and
// the decky.
type identity struct {
	// Modbus Read Device Identification objects 0x00 to 0x06.
	vendor, productCode, revision, vendorURL, productName, modelName, appName string

	// S7 module identification (SZL 0x0011) and component identification (0x001C).
	order, moduleType, moduleName, systemName, plantID, copyright, serial, location string
	version                                                                         [3]byte
	pduSize                                                                         int
}

// plc is the device: its identity and its memory, shared by every connection as
// a real PLC's is (a value an attacker writes is what the next read returns).
type plc struct {
	id   identity
	seed [32]byte
	boot time.Time

	mu       sync.Mutex
	coils    []bool
	discrete []bool
	holding  []uint16
	input    []uint16
}

// seedOf derives the per-decky seed everything "random" about the PLC comes from,
// so a decky shows the same serial and registers after every restart.
func seedOf(rt *service.Runtime) [32]byte {
	return sha256.Sum256([]byte("decnet-conpot\x00" + rt.Config.Decky))
}

func newPLC(rt *service.Runtime) *plc {
	seed := seedOf(rt)
	p := &plc{seed: seed, boot: time.Now()}
	pick := func(key, def string) string {
		if v := rt.Persona(key); v != "" {
			return v
		}
		return def
	}
	host := rt.Config.Hostname
	if host == "" {
		host = rt.Config.Decky
	}
	host, _, _ = strings.Cut(host, ".")
	p.id = identity{
		vendor:      pick(KeyVendor, "Schneider Electric"),
		productCode: pick(KeyProductCode, "BMX P34 2020"),
		revision:    pick(KeyRevision, "v2.7"),
		vendorURL:   pick(KeyVendorURL, "http://www.schneider-electric.com"),
		productName: pick(KeyProductName, "Modicon M340"),
		order:       pick(KeyS7Module, "6ES7 315-2EH14-0AB0"),
		moduleType:  pick(KeyS7ModuleType, "CPU 315-2 PN/DP"),
		moduleName:  pick(KeyS7ModuleName, moduleName(host)),
		systemName:  pick(KeyS7System, "SIMATIC 300(1)"),
		plantID:     pick(KeyS7PlantID, plantID(seed)),
		copyright:   pick(KeyS7Copyright, "Original Siemens Equipment"),
		serial:      pick(KeyS7Serial, serialNumber(seed)),
		location:    rt.Persona(KeyS7LocationName),
		pduSize:     rt.PersonaInt(KeyS7PDUSize, 240),
	}
	p.id.modelName = p.id.productCode
	p.id.appName = strings.ToUpper(host)
	fmt.Sscanf(pick(KeyS7Version, "3.2.6"), "%d.%d.%d", &p.id.version[0], &p.id.version[1], &p.id.version[2])

	p.coils = make([]bool, rt.PersonaInt(KeyCoils, 1024))
	p.discrete = make([]bool, rt.PersonaInt(KeyDiscrete, 1024))
	p.holding = make([]uint16, rt.PersonaInt(KeyHolding, 2048))
	p.input = make([]uint16, rt.PersonaInt(KeyInput, 512))
	p.fill()
	return p
}

// moduleName makes a TIA-Portal-like station name from the hostname.
func moduleName(host string) string {
	var b strings.Builder
	b.WriteString("PLC_")
	for _, c := range strings.ToUpper(host) {
		if (c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') && b.Len() < 32 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

var plants = []string{"Pump station", "Water treatment", "Boiler house", "Compressor hall", "Filling line", "Substation", "Cooling tower", "Wastewater"}

func plantID(seed [32]byte) string {
	return fmt.Sprintf("%s %d", plants[int(seed[9])%len(plants)], 1+int(seed[10])%9)
}

// serialNumber makes a Siemens-style CPU serial: "S C-" + three letters and
// digits, five digits and a production year.
func serialNumber(seed [32]byte) string {
	const alnum = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
	return fmt.Sprintf("S C-%c%c%c%05d%d", alnum[int(seed[11])%len(alnum)], alnum[int(seed[12])%len(alnum)], alnum[int(seed[13])%23],
		binary.BigEndian.Uint32(seed[14:18])%100000, 2011+int(seed[18])%10)
}

// fill gives the register map plausible, per-decky contents: a few process values
// (temperatures ×10, pressures, flows, counters) in the first registers, set
// points in holding registers, a pattern of running motors and closed valves in
// the coils, and zeros beyond, as an engineer's program leaves them.
func (p *plc) fill() {
	r := newStream(p.seed)
	for i := range p.holding {
		if i < 64 {
			p.holding[i] = uint16(r.next() % 1000)
		}
	}
	for i := range p.input {
		if i < 48 {
			p.input[i] = uint16(150 + r.next()%650)
		}
	}
	for i := range p.coils {
		if i < 96 {
			p.coils[i] = r.next()%3 == 0
		}
	}
	for i := range p.discrete {
		if i < 96 {
			p.discrete[i] = r.next()%4 == 0
		}
	}
}

// inputRegister returns an input register's value, with slow drift on the live
// process values so that two reads a minute apart differ as a sensor's do.
func (p *plc) inputRegister(i int) uint16 {
	v := p.input[i]
	if i < 48 && v != 0 {
		t := time.Since(p.boot).Seconds()
		v = uint16(int(v) + int(6*math.Sin(t/97+float64(i))))
	}
	return v
}

// stream is a deterministic byte stream from a seed (SHA-256 in counter mode).
type stream struct {
	seed [32]byte
	n    uint32
	buf  []byte
}

func newStream(seed [32]byte) *stream { return &stream{seed: seed} }

func (s *stream) next() uint32 {
	if len(s.buf) < 4 {
		var c [36]byte
		copy(c[:], s.seed[:])
		binary.BigEndian.PutUint32(c[32:], s.n)
		s.n++
		h := sha256.Sum256(c[:])
		s.buf = h[:]
	}
	v := binary.BigEndian.Uint32(s.buf)
	s.buf = s.buf[4:]
	return v
}

func run(ctx context.Context, rt *service.Runtime) error {
	p := newPLC(rt)
	rt.Log.Info("plc persona", "vendor", p.id.vendor, "product", p.id.productCode, "s7_module", p.id.order, "serial", p.id.serial)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return rt.ServeTCP(gctx, 502, func(ctx context.Context, c *service.Conn) { p.serveModbus(ctx, c, c.Emit) })
	})
	g.Go(func() error {
		return rt.ServeTCP(gctx, 102, func(ctx context.Context, c *service.Conn) { p.serveS7(ctx, c, c.Emit) })
	})
	return g.Wait()
}
