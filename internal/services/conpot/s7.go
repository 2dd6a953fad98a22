package conpot

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// S7comm over ISO-on-TCP (RFC 1006): TPKT (version 3, reserved, 16-bit length),
// COTP (ISO 8073 class 0: CR/CC to connect, DT to carry data, DR to leave) and
// the S7 PDU (protocol id 0x32, ROSCTR job/ack-data/userdata, parameters, data).

const maxTPKT = 4096 // far above any TPDU size a client can negotiate (1024 + headers)

// s7State is one connection's protocol state.
type s7State struct {
	connected bool // COTP connection confirmed
	setup     bool // S7 communication set up
	pdu       int  // negotiated PDU size
	seq       byte // userdata sequence numbers we hand out
}

// serveS7 answers S7comm on one connection until it ends or the client leaves.
func (p *plc) serveS7(ctx context.Context, c io.ReadWriter, emit emitFunc) {
	st := &s7State{}
	hdr := make([]byte, 4)
	body := make([]byte, maxTPKT)
	for ctx.Err() == nil {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		length := int(binary.BigEndian.Uint16(hdr[2:]))
		if hdr[0] != 3 || length < 7 || length > maxTPKT {
			emit(event.Command, map[string]string{"protocol": "tpkt", "error": "not a TPKT frame", "data_hex": hex.EncodeToString(hdr)}, "")
			return // an S7 CPU's ISO-on-TCP stack drops the connection
		}
		if _, err := io.ReadFull(c, body[:length-4]); err != nil {
			emit(event.Command, map[string]string{"protocol": "tpkt", "error": "truncated TPKT frame", "data_hex": hex.EncodeToString(hdr)}, "")
			return
		}
		reply, f, hangup := p.cotp(st, body[:length-4])
		if f != nil {
			emit(event.Command, f, "")
			if f["secret_b64"] != "" {
				auth := map[string]string{"protocol": "s7comm", "secret_kind": "s7_password", "outcome": "failure"}
				for _, k := range []string{"password", "secret_b64", "secret_hex"} {
					auth[k] = f[k]
				}
				emit(event.Auth, auth, "")
			}
		}
		if reply != nil {
			out := make([]byte, 4, 4+len(reply))
			out[0] = 3
			binary.BigEndian.PutUint16(out[2:], uint16(4+len(reply)))
			if _, err := c.Write(append(out, reply...)); err != nil {
				return
			}
		}
		if hangup {
			return
		}
	}
}

// cotp handles one TPKT payload (a COTP TPDU): the reply TPDU (nil for none), the
// event fields recording the request, and whether to hang up.
func (p *plc) cotp(st *s7State, b []byte) ([]byte, map[string]string, bool) {
	f := map[string]string{"protocol": "cotp"}
	if len(b) < 2 || int(b[0])+1 > len(b) || b[0] < 1 {
		f["error"] = "malformed COTP header"
		f["data_hex"] = hex.EncodeToString(b[:min(len(b), 64)])
		return nil, f, true
	}
	li := int(b[0])
	switch b[1] & 0xF0 {
	case 0xE0: // connection request
		f["pdu_type"] = "CR"
		if li < 6 {
			f["error"] = "short connection request"
			return nil, f, true
		}
		srcRef := b[4:6]
		tpdu := byte(0x0A)
		var srcTSAP, dstTSAP []byte
		for params := b[7 : li+1]; len(params) >= 2; {
			code, n := params[0], int(params[1])
			if 2+n > len(params) {
				break
			}
			v := params[2 : 2+n]
			switch code {
			case 0xC0:
				if n == 1 {
					f["tpdu_size"] = strconv.Itoa(1 << v[0])
					if v[0] >= 7 && v[0] < tpdu {
						tpdu = v[0]
					}
				}
			case 0xC1:
				srcTSAP = v
				f["src_tsap"] = hex.EncodeToString(v)
			case 0xC2:
				dstTSAP = v
				f["dst_tsap"] = hex.EncodeToString(v)
				if n == 2 {
					f["rack"], f["slot"] = strconv.Itoa(int(v[1]>>5)), strconv.Itoa(int(v[1]&0x1F))
				}
			}
			params = params[2+n:]
		}
		cc := []byte{0, 0xD0, srcRef[0], srcRef[1], 0x00, 0x01 + p.seed[20]&0x3F, 0x00, 0xC0, 1, tpdu}
		if srcTSAP != nil {
			cc = append(append(cc, 0xC1, byte(len(srcTSAP))), srcTSAP...)
		}
		if dstTSAP != nil {
			cc = append(append(cc, 0xC2, byte(len(dstTSAP))), dstTSAP...)
		}
		cc[0] = byte(len(cc) - 1)
		st.connected = true
		return cc, f, false
	case 0x80: // disconnect request
		f["pdu_type"] = "DR"
		return nil, f, true
	case 0xF0: // data
		if !st.connected || li < 2 {
			f["pdu_type"] = "DT"
			f["error"] = "data before connection"
			return nil, f, true
		}
		reply, sf, hangup := p.s7(st, b[li+1:])
		if reply == nil {
			return nil, sf, hangup
		}
		return append([]byte{0x02, 0xF0, 0x80}, reply...), sf, hangup
	}
	f["pdu_type"] = fmt.Sprintf("0x%02x", b[1])
	f["error"] = "unsupported COTP TPDU"
	return nil, f, true
}

// S7 ROSCTR values.
const (
	rosJob      = 1
	rosAck      = 2
	rosAckData  = 3
	rosUserdata = 7
)

var s7Functions = map[byte]string{
	0x00: "cpu_services", 0x04: "read_var", 0x05: "write_var", 0x1A: "request_download", 0x1B: "download_block",
	0x1C: "download_ended", 0x1D: "start_upload", 0x1E: "upload", 0x1F: "end_upload", 0x28: "plc_control",
	0x29: "plc_stop", 0xF0: "setup_communication",
}

var s7Areas = map[byte]string{0x03: "system_info", 0x05: "system_flags", 0x06: "analog_in", 0x07: "analog_out", 0x1C: "counter", 0x1D: "timer",
	0x80: "P", 0x81: "I", 0x82: "Q", 0x83: "M", 0x84: "DB", 0x85: "DI", 0x86: "L", 0x87: "V"}

// s7 handles one S7 PDU.
func (p *plc) s7(st *s7State, b []byte) ([]byte, map[string]string, bool) {
	f := map[string]string{"protocol": "s7comm"}
	if len(b) < 10 || b[0] != 0x32 {
		if len(b) > 0 && b[0] == 0x72 {
			f["protocol"] = "s7comm-plus"
		}
		f["error"] = "not an S7comm PDU"
		f["data_hex"] = hex.EncodeToString(b[:min(len(b), 64)])
		return nil, f, true
	}
	ros := b[1]
	ref := b[4:6]
	plen, dlen := int(binary.BigEndian.Uint16(b[6:])), int(binary.BigEndian.Uint16(b[8:]))
	hl := 10
	if ros == rosAck || ros == rosAckData {
		hl = 12
	}
	f["rosctr"] = strconv.Itoa(int(ros))
	if hl+plen+dlen > len(b) || plen < 1 {
		f["error"] = "S7 lengths exceed the PDU"
		return nil, f, true
	}
	param, data := b[hl:hl+plen], b[hl+plen:hl+plen+dlen]
	switch ros {
	case rosJob:
		fn := param[0]
		f["function"] = fmt.Sprintf("0x%02x", fn)
		if name, ok := s7Functions[fn]; ok {
			f["function_name"] = name
		}
		if fn == 0xF0 {
			if len(param) < 8 {
				f["error"] = "short setup communication"
				return nil, f, true
			}
			req := int(binary.BigEndian.Uint16(param[6:]))
			pdu := p.id.pduSize
			if req > 0 && req < pdu {
				pdu = req
			}
			f["pdu_size"] = strconv.Itoa(req)
			st.setup, st.pdu = true, pdu
			rp := []byte{0xF0, 0x00, 0x00, 0x01, 0x00, 0x01, byte(pdu >> 8), byte(pdu)}
			return s7Header(rosAckData, ref, rp, nil, 0, 0), f, false
		}
		if !st.setup {
			f["error"] = "job before setup communication"
			return nil, f, true
		}
		switch fn {
		case 0x04, 0x05:
			rp, rd := p.s7ReadWrite(st, fn, param, data, f)
			return s7Header(rosAckData, ref, rp, rd, 0, 0), f, false
		case 0x28, 0x29:
			if len(data) > 0 {
				f["data_hex"] = hex.EncodeToString(data[:min(len(data), 64)])
			}
			if name := piService(fn, param); name != "" {
				f["service"] = service.Printable(name, 64)
			}
			// A CPU with a protection level set refuses without the session
			// password: 0xD241, "protection level of the function not
			// sufficient" (what snap7 reports as "need password").
			return s7Header(rosAckData, ref, []byte{fn}, nil, 0xD2, 0x41), f, false
		}
		return s7Header(rosAckData, ref, []byte{fn}, nil, 0x81, 0x04), f, false
	case rosUserdata:
		return p.s7Userdata(st, ref, param, data, f)
	}
	f["error"] = "unexpected ROSCTR"
	return nil, f, false
}

// piService extracts the PI service name (e.g. "P_PROGRAM") from a PLC control
// (0x28: seven bytes, a parameter block with its 16-bit length, then the name
// with an 8-bit length) or PLC stop (0x29: five bytes, then the name with an 8-bit
// length) request's parameters.
func piService(fn byte, param []byte) string {
	i := 6
	if fn == 0x28 {
		if len(param) < 10 {
			return ""
		}
		i = 10 + int(binary.BigEndian.Uint16(param[8:]))
	}
	if i >= len(param) {
		return ""
	}
	n := int(param[i])
	if i+1+n > len(param) {
		return ""
	}
	return string(param[i+1 : i+1+n])
}

// s7Header builds an S7 PDU: header (12 bytes with the error for ack-data, else
// 10), parameters, data.
func s7Header(ros byte, ref, param, data []byte, errClass, errCode byte) []byte {
	out := []byte{0x32, ros, 0, 0, ref[0], ref[1], byte(len(param) >> 8), byte(len(param)), byte(len(data) >> 8), byte(len(data))}
	if ros == rosAck || ros == rosAckData {
		out = append(out, errClass, errCode)
	}
	return append(append(out, param...), data...)
}

// s7ReadWrite answers read var / write var: process images and flags (I, Q, M)
// read as the decky's stable memory, data blocks do not exist (a CPU without the
// DB answers 0x0A), writes are acknowledged but never change anything.
func (p *plc) s7ReadWrite(st *s7State, fn byte, param, data []byte, f map[string]string) ([]byte, []byte) {
	if len(param) < 2 {
		f["error"] = "short read/write request"
		return []byte{fn, 0}, nil
	}
	count := int(param[1])
	f["items"] = strconv.Itoa(count)
	var items []string
	var out []byte
	budget := st.pdu - 14 - 2 // header, parameters
	off := 0                  // write data offset
	n := 0
	for i := 0; i < count && 2+12*(i+1) <= len(param); i++ {
		it := param[2+12*i : 2+12*(i+1)]
		if it[0] != 0x12 || it[2] != 0x10 {
			break
		}
		size := int(binary.BigEndian.Uint16(it[4:]))
		db := int(binary.BigEndian.Uint16(it[6:]))
		area := it[8]
		addr := int(it[9])<<16 | int(it[10])<<8 | int(it[11])
		name := s7Areas[area]
		if name == "" {
			name = fmt.Sprintf("0x%02x", area)
		}
		desc := fmt.Sprintf("%s%d.%d*%d", name, addr>>3, addr&7, size)
		if area == 0x84 {
			desc = fmt.Sprintf("DB%d.%d.%d*%d", db, addr>>3, addr&7, size)
		}
		if len(items) < 32 {
			items = append(items, desc)
		}
		n++
		rc := byte(0xFF)
		switch {
		case area == 0x84 || area == 0x85:
			rc = 0x0A // object does not exist
		case area != 0x81 && area != 0x82 && area != 0x83:
			rc = 0x05 // address out of range
		case (addr>>3)+size > 2048:
			rc = 0x05
		}
		if fn == 0x05 {
			if off+4 <= len(data) {
				wl := int(binary.BigEndian.Uint16(data[off+2:]))
				if data[off+1] == 0x03 || data[off+1] == 0x04 || data[off+1] == 0x05 {
					wl = (wl + 7) / 8 // length in bits
				}
				end := min(off+4+wl, len(data))
				if len(f["values_hex"]) < 512 {
					f["values_hex"] += hex.EncodeToString(data[off+4 : end][:min(end-off-4, 128)])
				}
				off = end + (wl & 1)
			}
			out = append(out, rc)
			continue
		}
		if rc != 0xFF || 4+size > budget {
			if rc == 0xFF {
				rc = 0x05
			}
			out = append(out, rc, 0x00, 0x00, 0x00)
			continue
		}
		budget -= 4 + size
		item := []byte{0xFF, 0x04, byte((size * 8) >> 8), byte(size * 8)}
		r := newStream(p.seed)
		r.n = uint32(area)<<24 | uint32(addr>>3)
		for j := 0; j < size; j++ {
			item = append(item, byte(r.next()>>((j&3)*8))&0x0F)
		}
		if size%2 == 1 && i+1 < count {
			item = append(item, 0)
		}
		out = append(out, item...)
	}
	f["address"] = strings.Join(items, ",")
	return []byte{fn, byte(n)}, out
}

// s7Userdata answers userdata requests: SZL reads (CPU functions), the password
// of a protected CPU (security), the clock; anything else "not available".
func (p *plc) s7Userdata(st *s7State, ref, param, data []byte, f map[string]string) ([]byte, map[string]string, bool) {
	if len(param) < 8 || param[0] != 0 || param[1] != 1 || param[2] != 0x12 {
		f["error"] = "malformed userdata parameters"
		return nil, f, true
	}
	group, sub, seq := param[5]&0x0F, param[6], param[7]
	f["group"], f["subfunction"] = strconv.Itoa(int(group)), strconv.Itoa(int(sub))
	st.seq++
	respParam := func(errCode uint16) []byte {
		return []byte{0x00, 0x01, 0x12, 0x08, 0x12, 0x80 | group, sub, seq + st.seq, 0x00, 0x00, byte(errCode >> 8), byte(errCode)}
	}
	notAvail := []byte{0x0A, 0x00, 0x00, 0x00}
	switch {
	case group == 4 && sub == 1: // read SZL
		f["function_name"] = "read_szl"
		if len(data) < 8 {
			f["error"] = "short SZL request"
			return s7Header(rosUserdata, ref, respParam(0xD401), notAvail, 0, 0), f, false
		}
		id, idx := binary.BigEndian.Uint16(data[4:]), binary.BigEndian.Uint16(data[6:])
		f["szl_id"], f["szl_index"] = fmt.Sprintf("0x%04x", id), fmt.Sprintf("0x%04x", idx)
		recLen, recs := p.szl(id, idx)
		if recs == nil {
			return s7Header(rosUserdata, ref, respParam(0xD401), notAvail, 0, 0), f, false
		}
		d := []byte{0xFF, 0x09, 0, 0, byte(id >> 8), byte(id), byte(idx >> 8), byte(idx), byte(recLen >> 8), byte(recLen), byte(len(recs) / recLen >> 8), byte(len(recs) / recLen)}
		d = append(d, recs...)
		binary.BigEndian.PutUint16(d[2:], uint16(len(d)-4))
		return s7Header(rosUserdata, ref, respParam(0), d, 0, 0), f, false
	case group == 5 && sub == 1: // set session password
		f["function_name"] = "set_password"
		if len(data) >= 12 {
			enc := data[4:12]
			pw := make([]byte, 8)
			pw[0], pw[1] = enc[0]^0x55, enc[1]^0x55
			for i := 2; i < 8; i++ {
				pw[i] = enc[i] ^ 0x55 ^ enc[i-2]
			}
			clear := strings.TrimRight(string(pw), " \x00")
			f["password"] = service.Printable(clear, 0)
			f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(clear))
			f["secret_hex"] = hex.EncodeToString(enc)
		}
		return s7Header(rosUserdata, ref, respParam(0xD602), notAvail, 0, 0), f, false // invalid password
	case group == 7 && sub == 1: // read clock
		f["function_name"] = "read_clock"
		t := time.Now().UTC()
		bcd := func(v int) byte { return byte(v/10<<4 | v%10) }
		d := []byte{0xFF, 0x09, 0x00, 0x0A, 0x00, bcd(t.Year() / 100 % 100), bcd(t.Year() % 100), bcd(int(t.Month())), bcd(t.Day()),
			bcd(t.Hour()), bcd(t.Minute()), bcd(t.Second()), bcd(t.Nanosecond() / 10e6), byte(bcd(t.Nanosecond()/1e6%10)<<4) | byte(t.Weekday()+1)}
		return s7Header(rosUserdata, ref, respParam(0), d, 0, 0), f, false
	}
	return s7Header(rosUserdata, ref, respParam(0x8104), notAvail, 0, 0), f, false
}

// szl returns the record length and records of a system status list, or nil when
// the CPU does not have it.
func (p *plc) szl(id, idx uint16) (int, []byte) {
	id16 := func(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }
	pad := func(s string, n int, fill byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = fill
		}
		copy(b, s)
		return b
	}
	// Module identification: index, MLFB (20 chars, space padded), BGTyp, Ausbg, Ausbe.
	modRec := func(index uint16, mlfb string, ausbg, ausbe uint16) []byte {
		r := append(id16(index), pad(mlfb, 20, ' ')...)
		return append(append(append(r, 0x00, 0x00), id16(ausbg)...), id16(ausbe)...)
	}
	v := p.id.version
	modules := [][]byte{
		modRec(0x0001, p.id.order, 0x0000, 0x0001),
		modRec(0x0006, p.id.order, 0x0000, 0x0001),
		modRec(0x0007, "", 0x5600|uint16(v[0]), uint16(v[1])<<8|uint16(v[2])),
	}
	// Component identification: index and 32 (or 26 + 6) bytes of NUL-padded text.
	comp := func(index uint16, s string) []byte { return append(id16(index), pad(s, 32, 0)...) }
	components := [][]byte{
		comp(0x0001, p.id.systemName),
		comp(0x0002, p.id.moduleName),
		comp(0x0003, p.id.plantID),
		comp(0x0004, p.id.copyright),
		comp(0x0005, p.id.serial),
		comp(0x0007, p.id.moduleType),
		comp(0x0008, ""), // serial number of the memory card: none inserted
		append(append(id16(0x0009), 0x00, 0x2A, 0xF6, 0x00, 0x00, 0x01), make([]byte, 26)...), // manufacturer 0x002A (Siemens), profile
		comp(0x000B, p.id.location),
	}
	pick := func(all [][]byte, want uint16) []byte {
		for _, r := range all {
			if binary.BigEndian.Uint16(r) == want {
				return r
			}
		}
		return nil
	}
	switch id {
	case 0x0011:
		return 28, concat(modules)
	case 0x0111:
		return 28, pick(modules, idx)
	case 0x001C:
		return 34, concat(components)
	case 0x011C:
		return 34, pick(components, idx)
	case 0x0424, 0x0024: // current mode: RUN after a warm restart
		return 20, []byte{0x51, 0x44, 0xFF, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x94, 0x02, 0x02, 0x15, 0x09, 0x41, 0x12, 0x00, 0x00, 0x00}
	case 0x0000: // the SZL ids this CPU has
		ids := []uint16{0x0000, 0x0011, 0x0111, 0x001C, 0x011C, 0x0024, 0x0424}
		var b []byte
		for _, i := range ids {
			b = append(b, id16(i)...)
		}
		return 2, b
	}
	return 0, nil
}

func concat(rs [][]byte) []byte {
	var b []byte
	for _, r := range rs {
		b = append(b, r...)
	}
	return b
}
