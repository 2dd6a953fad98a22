// Package conpot is the industrial-control honeypot (the "conpot" archetype): a
// PLC that answers Modbus/TCP on 502/tcp and Siemens S7comm (ISO-TSAP: TPKT,
// COTP, S7) on 102/tcp. Its identity (Modbus device identification, S7 SZL
// module and component identification, serial number) comes from the persona
// and the decky, never from conpot's well-known default template, and its
// register map is stable per decky. Every request is recorded: Modbus unit,
// function, address, count and written values; S7 connection parameters,
// functions and SZL reads.
//
// Both protocols are written by hand: no maintained Go library serves the
// server side of Modbus device identification and S7 SZL the way a real PLC
// answers. The parsers are small, bounded and fuzzed.
package conpot

import (
	"fmt"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "conpot",
		Summary: "PLC: Modbus/TCP register map and device identification, Siemens S7comm SZL identity; every request recorded",
		Ports:   []fleet.Port{{Number: 502, Proto: "tcp"}, {Number: 102, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyVendor         = "vendor"
	KeyProductCode    = "product_code"
	KeyRevision       = "revision"
	KeyVendorURL      = "vendor_url"
	KeyProductName    = "product_name"
	KeyCoils          = "coils"
	KeyDiscrete       = "discrete_inputs"
	KeyHolding        = "holding_registers"
	KeyInput          = "input_registers"
	KeyS7System       = "s7_system_name"
	KeyS7Module       = "s7_module"
	KeyS7ModuleType   = "s7_module_type"
	KeyS7ModuleName   = "s7_module_name"
	KeyS7Version      = "s7_version"
	KeyS7PlantID      = "s7_plant_id"
	KeyS7Serial       = "s7_serial"
	KeyS7Copyright    = "s7_copyright"
	KeyS7PDUSize      = "s7_pdu_size"
	KeyS7LocationName = "s7_location"
)

// Keys are the conpot service's persona keys.
var Keys = []service.Key{
	{Name: KeyVendor, Kind: service.String, Default: "Schneider Electric", Help: "Modbus device identification: VendorName (object 0)", Check: text(64)},
	{Name: KeyProductCode, Kind: service.String, Default: "BMX P34 2020", Help: "Modbus device identification: ProductCode (object 1) and ModelName (object 5)", Check: text(64)},
	{Name: KeyRevision, Kind: service.String, Default: "v2.7", Help: "Modbus device identification: MajorMinorRevision (object 2)", Check: text(32)},
	{Name: KeyVendorURL, Kind: service.String, Default: "http://www.schneider-electric.com", Help: "Modbus device identification: VendorUrl (object 3)", Check: text(64)},
	{Name: KeyProductName, Kind: service.String, Default: "Modicon M340", Help: "Modbus device identification: ProductName (object 4)", Check: text(64)},
	{Name: KeyCoils, Kind: service.Int, Default: "1024", Help: "number of coils (0x); reads past it are ILLEGAL DATA ADDRESS", Check: service.IntRange(1, 65536)},
	{Name: KeyDiscrete, Kind: service.Int, Default: "1024", Help: "number of discrete inputs (1x)", Check: service.IntRange(1, 65536)},
	{Name: KeyHolding, Kind: service.Int, Default: "2048", Help: "number of holding registers (4x)", Check: service.IntRange(1, 65536)},
	{Name: KeyInput, Kind: service.Int, Default: "512", Help: "number of input registers (3x)", Check: service.IntRange(1, 65536)},
	{Name: KeyS7System, Kind: service.String, Default: "SIMATIC 300(1)", Help: "S7 SZL 0x001C index 1: name of the automation system", Check: text(32)},
	{Name: KeyS7Module, Kind: service.String, Default: "6ES7 315-2EH14-0AB0", Help: "S7 SZL 0x0011: order number (MLFB) of the module and its basic hardware", Check: text(20)},
	{Name: KeyS7ModuleType, Kind: service.String, Default: "CPU 315-2 PN/DP", Help: "S7 SZL 0x001C index 7: module type name", Check: text(32)},
	{Name: KeyS7ModuleName, Kind: service.String, Help: "S7 SZL 0x001C index 2: name of the module (default: derived from the hostname, e.g. PLC_PUMPS1)", Check: text(32)},
	{Name: KeyS7Version, Kind: service.String, Default: "3.2.6", Help: "S7 firmware version, three numbers (SZL 0x0011 index 7)", Check: checkVersion},
	{Name: KeyS7PlantID, Kind: service.String, Help: "S7 SZL 0x001C index 3: plant designation (default: derived from the decky)", Check: text(32)},
	{Name: KeyS7Serial, Kind: service.String, Help: "S7 SZL 0x001C index 5: serial number (default: derived from the decky, S C-XXX123452014 style)", Check: text(24)},
	{Name: KeyS7Copyright, Kind: service.String, Default: "Original Siemens Equipment", Help: "S7 SZL 0x001C index 4: copyright", Check: text(32)},
	{Name: KeyS7PDUSize, Kind: service.Int, Default: "240", Help: "largest S7 PDU negotiated in setup communication (S7-300: 240, S7-1500: 960)", Check: service.IntRange(240, 960)},
	{Name: KeyS7LocationName, Kind: service.String, Help: "S7 SZL 0x001C index 11: location designation (default: empty)", Check: text(32)},
}

// text returns a Check for printable ASCII of at most n bytes.
func text(n int) func(string) error {
	return func(v string) error {
		if len(v) > n {
			return fmt.Errorf("%q is longer than %d characters", v, n)
		}
		for _, c := range []byte(v) {
			if c < 0x20 || c > 0x7e {
				return fmt.Errorf("%q holds a byte that is not printable ASCII", v)
			}
		}
		return nil
	}
}

func checkVersion(v string) error {
	var a, b, c int
	if n, err := fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c); err != nil || n != 3 || a > 255 || b > 255 || c > 255 || a < 0 || b < 0 || c < 0 || fmt.Sprintf("%d.%d.%d", a, b, c) != v {
		return fmt.Errorf("%q is not a version of three numbers 0-255 (like 3.2.6)", v)
	}
	return nil
}
