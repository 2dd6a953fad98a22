package rdp

// The MCS connection sequence of a TLS-only (nla=false) client, far enough to read
// its Client Info PDU (MS-RDPBCGR 1.3.1.1): Connect Initial → Connect Response,
// Erect Domain and Attach User → Attach User Confirm, Channel Joins → Confirms,
// then the Client Info PDU, which carries an auto-logon's user name, domain and
// password. T.125 BER and T.124 PER are written by hand for the few fixed-shape
// PDUs involved; every read is bounded by the TPKT it came in.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"decnet/internal/services/ntlmssp"
)

// clientCore is what a Connect Initial tells about the client (TS_UD_CS_CORE).
type clientCore struct {
	Name     string
	Build    uint32
	Keyboard uint32
	Width    uint16
	Height   uint16
}

// connectInitial is the parts of an MCS Connect Initial the server uses.
type connectInitial struct {
	Core     clientCore
	HasCore  bool
	Channels []string // static virtual channels the client asks for (CS_NET)
}

// maxChannels is CS_NET's limit (CHANNEL_MAX_COUNT).
const maxChannels = 31

// parseConnectInitial finds the GCC user data ("Duca" key) in an MCS Connect
// Initial TPDU and reads its client data blocks. The BER and PER layers before the
// key are not decoded: their shape is fixed and only the blocks carry information.
func parseConnectInitial(tpdu []byte) (connectInitial, error) {
	var ci connectInitial
	i := bytes.Index(tpdu, []byte("Duca"))
	if i < 0 {
		return ci, errors.New("mcs connect initial has no GCC client data")
	}
	b := tpdu[i+4:]
	n, b, err := perLength(b)
	if err != nil {
		return ci, err
	}
	if n > len(b) {
		return ci, fmt.Errorf("gcc client data of %d bytes is longer than the %d bytes left", n, len(b))
	}
	b = b[:n]
	for len(b) >= 4 {
		typ, l := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			return ci, fmt.Errorf("client data block 0x%04x of %d bytes does not fit", typ, l)
		}
		d := b[4:l]
		switch typ {
		case 0xc001:
			if c, ok := parseClientCore(d); ok {
				ci.Core, ci.HasCore = c, true
			}
		case 0xc003:
			if len(d) >= 4 {
				cnt := int(binary.LittleEndian.Uint32(d))
				if cnt > maxChannels {
					return ci, fmt.Errorf("client asks for %d channels (at most %d)", cnt, maxChannels)
				}
				for k := 0; k < cnt && 4+12*k+12 <= len(d); k++ {
					name := d[4+12*k : 4+12*k+8]
					if z := bytes.IndexByte(name, 0); z >= 0 {
						name = name[:z]
					}
					ci.Channels = append(ci.Channels, ntlmssp.OEMString(name))
				}
			}
		}
		b = b[l:]
	}
	return ci, nil
}

// parseClientCore reads a TS_UD_CS_CORE body (after its 4-byte header).
func parseClientCore(d []byte) (clientCore, bool) {
	var c clientCore
	if len(d) < 52 || binary.LittleEndian.Uint32(d)>>16 != 8 { // version 0x0008000x
		return c, false
	}
	c.Width = binary.LittleEndian.Uint16(d[4:])
	c.Height = binary.LittleEndian.Uint16(d[6:])
	c.Keyboard = binary.LittleEndian.Uint32(d[12:])
	c.Build = binary.LittleEndian.Uint32(d[16:])
	name := d[20:52]
	for j := 0; j+1 < len(name); j += 2 {
		if name[j] == 0 && name[j+1] == 0 {
			name = name[:j]
			break
		}
	}
	c.Name = ntlmssp.FromUTF16LE(name)
	return c, true
}

// perLength reads a PER length determinant (one byte, or two with the top bit set).
func perLength(b []byte) (int, []byte, error) {
	if len(b) < 1 {
		return 0, nil, errors.New("per length is missing")
	}
	if b[0]&0x80 == 0 {
		return int(b[0]), b[1:], nil
	}
	if len(b) < 2 {
		return 0, nil, errors.New("per length is cut short")
	}
	return int(b[0]&0x3f)<<8 | int(b[1]), b[2:], nil
}

func appendPERLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	return append(b, 0x80|byte(n>>8), byte(n))
}

// berLength appends a BER definite length in the two-byte long form Windows uses
// for the Connect Response.
func berLength(b []byte, n int) []byte {
	return append(b, 0x82, byte(n>>8), byte(n))
}

// MCS channel ids as Windows assigns them.
const (
	mcsIOChannel = 1003
	mcsUserID    = 1007
	mcsFirstVC   = 1004 // static virtual channels follow the I/O channel
)

// dataTPDU wraps an MCS PDU in an X.224 Data TPDU and a TPKT.
func dataTPDU(pdu []byte) []byte {
	return tpkt(append([]byte{2, 0xf0, 0x80}, pdu...))
}

// connectResponse builds the MCS Connect Response for a TLS client: Server Core
// Data (RDP version by build, the negotiated protocol), Server Security Data
// (no RDP-level encryption under TLS) and Server Network Data (I/O channel 1003 and
// one id per requested channel).
func connectResponse(build uint16, selected uint32, channels int) []byte {
	version := uint32(0x0008000c) // RDP 10.7: Windows 10 2004 and later
	if build < 19041 {
		version = 0x00080007 // RDP 10.5/10.6: Windows 10 1809, Server 2019
	}
	var data []byte
	core := make([]byte, 16)
	binary.LittleEndian.PutUint16(core, 0x0c01)
	binary.LittleEndian.PutUint16(core[2:], 16)
	binary.LittleEndian.PutUint32(core[4:], version)
	binary.LittleEndian.PutUint32(core[8:], selected)
	binary.LittleEndian.PutUint32(core[12:], 0x00000001) // RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V1
	data = append(data, core...)
	data = append(data, 0x02, 0x0c, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0, 0) // SC_SECURITY: method 0, level 0
	netLen := 8 + 2*channels
	if channels%2 == 1 {
		netLen += 2
	}
	net := make([]byte, netLen)
	binary.LittleEndian.PutUint16(net, 0x0c03)
	binary.LittleEndian.PutUint16(net[2:], uint16(netLen))
	binary.LittleEndian.PutUint16(net[4:], mcsIOChannel)
	binary.LittleEndian.PutUint16(net[6:], uint16(channels))
	for k := 0; k < channels; k++ {
		binary.LittleEndian.PutUint16(net[8+2*k:], uint16(mcsFirstVC+k))
	}
	data = append(data, net...)

	// GCC Conference Create Response (T.124 PER), as FreeRDP and Windows write it.
	tail := []byte{0x14, 0x76, 0x0a, 0x01, 0x01, 0x00, 0x01, 0xc0, 0x00, 'M', 'c', 'D', 'n'}
	tail = appendPERLength(tail, len(data))
	tail = append(tail, data...)
	gcc := appendPERLength([]byte{0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01}, len(tail))
	gcc = append(gcc, tail...)

	// MCS Connect-Response (T.125 BER): result, calledConnectId, domainParameters, userData.
	body := []byte{0x0a, 0x01, 0x00, 0x02, 0x01, 0x00,
		0x30, 0x1a, 0x02, 0x01, 0x22, 0x02, 0x01, 0x03, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01,
		0x02, 0x01, 0x00, 0x02, 0x01, 0x01, 0x02, 0x03, 0x00, 0xff, 0xf8, 0x02, 0x01, 0x02}
	body = berLength(append(body, 0x04), len(gcc))
	body = append(body, gcc...)
	return dataTPDU(append(berLength([]byte{0x7f, 0x66}, len(body)), body...))
}

// DomainMCSPDU choices (T.125) the server handles.
const (
	mcsErectDomain         = 1
	mcsDisconnectUltimatum = 8
	mcsAttachUserRequest   = 10
	mcsChannelJoinRequest  = 14
	mcsSendDataRequest     = 25
	maxMCSPDUs             = 64 // PDUs one connection may send before its Client Info
	secInfoPkt             = 0x0040
	infoUnicode            = 0x00000010
	maxInfoString          = 512
)

// parseDomainPDU splits an X.224 Data TPDU into its DomainMCSPDU choice and body.
func parseDomainPDU(tpdu []byte) (int, []byte, error) {
	if len(tpdu) < 4 || tpdu[0] != 2 || tpdu[1] != 0xf0 {
		return 0, nil, errors.New("tpdu is not an x.224 data tpdu")
	}
	return int(tpdu[3] >> 2), tpdu[4:], nil
}

// attachUserConfirm grants user id 1007.
func attachUserConfirm() []byte {
	return dataTPDU([]byte{0x2e, 0x00, byte((mcsUserID - 1001) >> 8), byte(mcsUserID - 1001)})
}

// channelJoinConfirm accepts a Channel Join Request for channel ch.
func channelJoinConfirm(ch uint16) []byte {
	return dataTPDU([]byte{0x3e, 0x00, byte((mcsUserID - 1001) >> 8), byte(mcsUserID - 1001), byte(ch >> 8), byte(ch), byte(ch >> 8), byte(ch)})
}

// parseSendData reads a Send Data Request body: initiator, channel, priority and
// segmentation, the user data.
func parseSendData(b []byte) (uint16, []byte, error) {
	if len(b) < 5 {
		return 0, nil, errors.New("mcs send data request is too short")
	}
	ch := binary.BigEndian.Uint16(b[2:])
	n, rest, err := perLength(b[5:])
	if err != nil {
		return 0, nil, err
	}
	if n > len(rest) {
		return 0, nil, fmt.Errorf("mcs user data of %d bytes is longer than the %d bytes left", n, len(rest))
	}
	return ch, rest[:n], nil
}

// clientInfo is a Client Info PDU's TS_INFO_PACKET (MS-RDPBCGR 2.2.1.11.1.1).
type clientInfo struct {
	Flags                  uint32
	Domain, User, Password string
	Shell, WorkDir         string
}

// parseClientInfo reads a Client Info PDU (basic security header with SEC_INFO_PKT,
// then TS_INFO_PACKET); ok is false for any other PDU.
func parseClientInfo(b []byte) (clientInfo, bool, error) {
	var ci clientInfo
	if len(b) < 4 || binary.LittleEndian.Uint16(b)&secInfoPkt == 0 {
		return ci, false, nil
	}
	b = b[4:]
	if len(b) < 18 {
		return ci, true, errors.New("client info packet is too short")
	}
	ci.Flags = binary.LittleEndian.Uint32(b[4:])
	var sizes [5]int
	for k := range sizes {
		sizes[k] = int(binary.LittleEndian.Uint16(b[8+2*k:]))
		if sizes[k] > maxInfoString {
			return ci, true, fmt.Errorf("client info string %d is %d bytes (at most %d)", k, sizes[k], maxInfoString)
		}
	}
	term := 1
	if ci.Flags&infoUnicode != 0 {
		term = 2
	}
	p := b[18:]
	out := [5]*string{&ci.Domain, &ci.User, &ci.Password, &ci.Shell, &ci.WorkDir}
	for k, n := range sizes {
		if n+term > len(p) {
			return ci, true, fmt.Errorf("client info string %d (%d bytes) runs past the packet", k, n)
		}
		if term == 2 {
			*out[k] = ntlmssp.FromUTF16LE(p[:n])
		} else {
			*out[k] = ntlmssp.OEMString(p[:n])
		}
		p = p[n+term:]
	}
	return ci, true, nil
}
