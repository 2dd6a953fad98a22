package conpot

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"strconv"
	"strings"

	"decnet/internal/event"
)

// Modbus/TCP (Modbus Application Protocol v1.1b3 and Messaging on TCP/IP v1.0b):
// a 7-byte MBAP header (transaction id, protocol id, length, unit id) and a PDU of
// at most 253 bytes (function code and data).

type emitFunc func(typ string, fields map[string]string, msg string)

// Modbus exception codes.
const (
	excIllegalFunction = 0x01
	excIllegalAddress  = 0x02
	excIllegalValue    = 0x03
)

var exceptionNames = map[byte]string{
	excIllegalFunction: "ILLEGAL FUNCTION",
	excIllegalAddress:  "ILLEGAL DATA ADDRESS",
	excIllegalValue:    "ILLEGAL DATA VALUE",
}

var functionNames = map[byte]string{
	0x01: "read_coils",
	0x02: "read_discrete_inputs",
	0x03: "read_holding_registers",
	0x04: "read_input_registers",
	0x05: "write_single_coil",
	0x06: "write_single_register",
	0x07: "read_exception_status",
	0x08: "diagnostics",
	0x0B: "get_comm_event_counter",
	0x0C: "get_comm_event_log",
	0x0F: "write_multiple_coils",
	0x10: "write_multiple_registers",
	0x11: "report_server_id",
	0x14: "read_file_record",
	0x15: "write_file_record",
	0x16: "mask_write_register",
	0x17: "read_write_multiple_registers",
	0x18: "read_fifo_queue",
	0x2B: "encapsulated_interface_transport",
	0x5A: "schneider_umas", // Unity/UMAS, used by M340 engineering tools and attack kits
}

// maxADU is the largest Modbus/TCP frame: MBAP (7) + PDU (253).
const maxADU = 260

// serveModbus answers Modbus/TCP requests on one connection until it ends.
func (p *plc) serveModbus(ctx context.Context, c io.ReadWriter, emit emitFunc) {
	buf := make([]byte, maxADU)
	for ctx.Err() == nil {
		if _, err := io.ReadFull(c, buf[:7]); err != nil {
			if err == io.ErrUnexpectedEOF {
				emit(event.Command, map[string]string{"protocol": "modbus", "error": "truncated MBAP header", "data_hex": hex.EncodeToString(buf[:7])}, "")
			}
			return
		}
		length := int(binary.BigEndian.Uint16(buf[4:6]))
		if length < 2 || length > 254 {
			// Not a Modbus frame (an HTTP request, a banner grab): answer like a
			// PLC's TCP stack does, echoing the header with an ILLEGAL FUNCTION
			// exception for whatever stood where the function code goes, and
			// hang up, since the stream cannot be framed any more.
			n, _ := io.ReadFull(c, buf[7:8])
			fc := byte(0)
			if n == 1 {
				fc = buf[7]
			}
			emit(event.Command, map[string]string{
				"protocol": "modbus", "unit_id": strconv.Itoa(int(buf[6])), "function": strconv.Itoa(int(fc)),
				"error": "bad MBAP length " + strconv.Itoa(length), "data_hex": hex.EncodeToString(buf[:7+n]),
				"exception": exceptionNames[excIllegalFunction],
			}, "")
			out := append(append([]byte{}, buf[:4]...), 0, 3, buf[6], fc|0x80, excIllegalFunction)
			c.Write(out)
			return
		}
		if _, err := io.ReadFull(c, buf[7:7+length-1]); err != nil {
			emit(event.Command, map[string]string{"protocol": "modbus", "error": "truncated frame", "data_hex": hex.EncodeToString(buf[:7])}, "")
			return
		}
		unit := buf[6]
		fields := map[string]string{"protocol": "modbus", "unit_id": strconv.Itoa(int(unit)), "transaction_id": strconv.Itoa(int(binary.BigEndian.Uint16(buf[0:2])))}
		if proto := binary.BigEndian.Uint16(buf[2:4]); proto != 0 {
			fields["protocol_id"] = strconv.Itoa(int(proto))
		}
		resp := p.modbusPDU(buf[7:7+length-1], fields)
		emit(event.Command, fields, "")
		out := make([]byte, 7, 7+len(resp))
		copy(out, buf[:4])
		binary.BigEndian.PutUint16(out[4:6], uint16(len(resp)+1))
		out[6] = unit
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

// modbusPDU executes one request PDU (function code and data, 1 to 253 bytes)
// against the PLC and returns the response PDU. It records the request in f.
func (p *plc) modbusPDU(pdu []byte, f map[string]string) []byte {
	fc := pdu[0]
	data := pdu[1:]
	f["function"] = strconv.Itoa(int(fc))
	if name, ok := functionNames[fc&0x7f]; ok {
		f["function_name"] = name
	}
	if len(data) > 0 {
		f["data_hex"] = hex.EncodeToString(data[:min(len(data), 64)])
	}
	exc := func(code byte) []byte {
		f["exception"] = exceptionNames[code]
		return []byte{fc | 0x80, code}
	}
	u16 := func(i int) int { return int(binary.BigEndian.Uint16(data[i:])) }
	p.mu.Lock()
	defer p.mu.Unlock()
	switch fc {
	case 0x01, 0x02: // read coils / discrete inputs
		if len(data) != 4 {
			return exc(excIllegalValue)
		}
		addr, qty := u16(0), u16(2)
		f["address"], f["count"] = strconv.Itoa(addr), strconv.Itoa(qty)
		bits := p.coils
		if fc == 0x02 {
			bits = p.discrete
		}
		if qty < 1 || qty > 2000 {
			return exc(excIllegalValue)
		}
		if addr+qty > len(bits) {
			return exc(excIllegalAddress)
		}
		out := make([]byte, 2+(qty+7)/8)
		out[0], out[1] = fc, byte((qty+7)/8)
		for i := 0; i < qty; i++ {
			if bits[addr+i] {
				out[2+i/8] |= 1 << (i % 8)
			}
		}
		return out
	case 0x03, 0x04: // read holding / input registers
		if len(data) != 4 {
			return exc(excIllegalValue)
		}
		addr, qty := u16(0), u16(2)
		f["address"], f["count"] = strconv.Itoa(addr), strconv.Itoa(qty)
		n := len(p.holding)
		if fc == 0x04 {
			n = len(p.input)
		}
		if qty < 1 || qty > 125 {
			return exc(excIllegalValue)
		}
		if addr+qty > n {
			return exc(excIllegalAddress)
		}
		out := make([]byte, 2+2*qty)
		out[0], out[1] = fc, byte(2*qty)
		for i := 0; i < qty; i++ {
			v := p.holding[min(addr+i, n-1)]
			if fc == 0x04 {
				v = p.inputRegister(addr + i)
			}
			binary.BigEndian.PutUint16(out[2+2*i:], v)
		}
		return out
	case 0x05: // write single coil
		if len(data) != 4 {
			return exc(excIllegalValue)
		}
		addr, v := u16(0), u16(2)
		f["address"], f["count"], f["values"] = strconv.Itoa(addr), "1", strconv.Itoa(v)
		if v != 0x0000 && v != 0xFF00 {
			return exc(excIllegalValue)
		}
		if addr >= len(p.coils) {
			return exc(excIllegalAddress)
		}
		p.coils[addr] = v == 0xFF00
		return append([]byte{fc}, data...)
	case 0x06: // write single register
		if len(data) != 4 {
			return exc(excIllegalValue)
		}
		addr, v := u16(0), u16(2)
		f["address"], f["count"], f["values"] = strconv.Itoa(addr), "1", strconv.Itoa(v)
		if addr >= len(p.holding) {
			return exc(excIllegalAddress)
		}
		p.holding[addr] = uint16(v)
		return append([]byte{fc}, data...)
	case 0x0F: // write multiple coils
		if len(data) < 5 {
			return exc(excIllegalValue)
		}
		addr, qty, nb := u16(0), u16(2), int(data[4])
		f["address"], f["count"] = strconv.Itoa(addr), strconv.Itoa(qty)
		if qty < 1 || qty > 0x7B0 || nb != (qty+7)/8 || len(data) != 5+nb {
			return exc(excIllegalValue)
		}
		vals := make([]byte, qty)
		for i := range vals {
			vals[i] = '0' + (data[5+i/8]>>(i%8))&1
		}
		f["values"] = string(vals)
		if addr+qty > len(p.coils) {
			return exc(excIllegalAddress)
		}
		for i, b := range vals {
			p.coils[addr+i] = b == '1'
		}
		return append([]byte{fc}, data[:4]...)
	case 0x10: // write multiple registers
		if len(data) < 5 {
			return exc(excIllegalValue)
		}
		addr, qty, nb := u16(0), u16(2), int(data[4])
		f["address"], f["count"] = strconv.Itoa(addr), strconv.Itoa(qty)
		if qty < 1 || qty > 123 || nb != 2*qty || len(data) != 5+nb {
			return exc(excIllegalValue)
		}
		vals := make([]string, qty)
		for i := range vals {
			vals[i] = strconv.Itoa(u16(5 + 2*i))
		}
		f["values"] = strings.Join(vals, ",")
		if addr+qty > len(p.holding) {
			return exc(excIllegalAddress)
		}
		for i := 0; i < qty; i++ {
			p.holding[addr+i] = uint16(u16(5 + 2*i))
		}
		return append([]byte{fc}, data[:4]...)
	case 0x11: // report server id: server id, run indicator (ON), product code
		if len(data) != 0 {
			return exc(excIllegalValue)
		}
		extra := p.id.productCode
		out := []byte{fc, byte(2 + len(extra)), 0xFA, 0xFF}
		return append(out, extra...)
	case 0x2B: // encapsulated interface transport
		if len(data) >= 1 && data[0] == 0x0E {
			return p.deviceIdentification(fc, data[1:], f, exc)
		}
		if len(data) >= 1 {
			f["mei_type"] = strconv.Itoa(int(data[0]))
		}
		return exc(excIllegalFunction)
	}
	return exc(excIllegalFunction)
}

// deviceIdentification answers Read Device Identification (MEI type 0x0E): read
// codes 1 (basic: objects 0-2), 2 (regular: 0-6), 3 (extended: the same, this
// device has no extended objects) as a stream, 4 one object.
func (p *plc) deviceIdentification(fc byte, data []byte, f map[string]string, exc func(byte) []byte) []byte {
	f["function_name"] = "read_device_identification"
	if len(data) != 2 {
		return exc(excIllegalValue)
	}
	code, obj := data[0], data[1]
	f["read_code"], f["object_id"] = strconv.Itoa(int(code)), strconv.Itoa(int(obj))
	objects := []string{p.id.vendor, p.id.productCode, p.id.revision, p.id.vendorURL, p.id.productName, p.id.modelName, p.id.appName}
	out := []byte{fc, 0x0E, code, 0x82, 0x00, 0x00, 0}
	switch code {
	case 1, 2, 3:
		last := 2
		if code > 1 {
			last = len(objects) - 1
		}
		if int(obj) > last {
			obj = 0 // the specification: an unknown starting object restarts at 0
		}
		for i := int(obj); i <= last; i++ {
			if len(out)+2+len(objects[i]) > 253 { // the rest in the next request
				out[4], out[5] = 0xFF, byte(i)
				break
			}
			out = append(out, byte(i), byte(len(objects[i])))
			out = append(out, objects[i]...)
			out[6]++
		}
	case 4:
		if int(obj) >= len(objects) {
			return exc(excIllegalAddress)
		}
		out = append(out, obj, byte(len(objects[obj])))
		out = append(out, objects[obj]...)
		out[6] = 1
	default:
		return exc(excIllegalValue)
	}
	return out
}
