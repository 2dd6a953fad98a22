package telnet

// The telnet wire protocol (RFC 854/855) is small and every server implements its own
// parser; no well-kept Go library offers a server-side option negotiator with the
// byte-exact option sequences real telnetds send, so this one is written by hand. It
// is a pure, bounded state machine (fuzzed in iac_test.go).

// Telnet command bytes (RFC 854).
const (
	cmdSE   byte = 240
	cmdNOP  byte = 241
	cmdDM   byte = 242
	cmdBRK  byte = 243
	cmdIP   byte = 244
	cmdAO   byte = 245
	cmdAYT  byte = 246
	cmdEC   byte = 247
	cmdEL   byte = 248
	cmdGA   byte = 249
	cmdSB   byte = 250
	cmdWILL byte = 251
	cmdWONT byte = 252
	cmdDO   byte = 253
	cmdDONT byte = 254
	cmdIAC  byte = 255
)

// Telnet options this server knows.
const (
	optBinary     byte = 0
	optEcho       byte = 1
	optSGA        byte = 3
	optStatus     byte = 5
	optTTYPE      byte = 24
	optNAWS       byte = 31
	optTSPEED     byte = 32
	optLFLOW      byte = 33
	optLinemode   byte = 34
	optXDISPLOC   byte = 35
	optNewEnviron byte = 39
)

// Sub-negotiation verbs (TTYPE, TSPEED, XDISPLOC, NEW-ENVIRON).
const (
	sbIS   byte = 0
	sbSEND byte = 1
)

// maxSB bounds one sub-negotiation's payload; longer payloads are cut (Truncated).
const maxSB = 512

// Command is one telnet command found in the input: an option verb (WILL, WONT, DO,
// DONT) with its option, a completed sub-negotiation (Verb cmdSB, Opt, Data), or a
// bare command (IP, AYT, BRK, …) with Opt 0.
type Command struct {
	Verb      byte
	Opt       byte
	Data      []byte
	Truncated bool // the sub-negotiation was longer than maxSB
}

type pstate int

const (
	stData pstate = iota
	stIAC
	stOpt // after WILL/WONT/DO/DONT
	stSBOpt
	stSB
	stSBIAC
)

// Parser splits a telnet byte stream into data and commands. It carries state across
// Feed calls, so input may arrive in any chunking. The data it returns is the
// keystroke stream: IAC IAC becomes one 0xFF byte, a NUL or LF right after CR is
// dropped (telnet's CR NUL and CR LF are one "enter"), and IAC IP becomes ^C.
type Parser struct {
	state pstate
	verb  byte
	sbOpt byte
	sb    []byte
	trunc bool
	cr    bool
}

// Feed parses in and appends the data bytes to data, returning it and the commands
// completed in this chunk.
func (p *Parser) Feed(in, data []byte) ([]byte, []Command) {
	var cmds []Command
	for _, b := range in {
		switch p.state {
		case stData:
			if b == cmdIAC {
				p.state = stIAC
				continue
			}
			if p.cr && (b == 0 || b == '\n') {
				p.cr = false
				continue
			}
			p.cr = b == '\r'
			data = append(data, b)
		case stIAC:
			p.state = stData
			switch b {
			case cmdIAC:
				p.cr = false
				data = append(data, cmdIAC)
			case cmdWILL, cmdWONT, cmdDO, cmdDONT:
				p.verb = b
				p.state = stOpt
			case cmdSB:
				p.state = stSBOpt
			case cmdIP:
				p.cr = false
				data = append(data, 0x03)
				cmds = append(cmds, Command{Verb: b})
			case cmdSE, cmdNOP, cmdDM, cmdGA:
				// nothing to do
			default:
				cmds = append(cmds, Command{Verb: b})
			}
		case stOpt:
			cmds = append(cmds, Command{Verb: p.verb, Opt: b})
			p.state = stData
		case stSBOpt:
			p.sbOpt = b
			p.sb = p.sb[:0]
			p.trunc = false
			p.state = stSB
		case stSB:
			if b == cmdIAC {
				p.state = stSBIAC
				continue
			}
			p.sbAppend(b)
		case stSBIAC:
			switch b {
			case cmdSE:
				cmds = append(cmds, Command{Verb: cmdSB, Opt: p.sbOpt, Data: append([]byte(nil), p.sb...), Truncated: p.trunc})
				p.state = stData
			case cmdIAC:
				p.sbAppend(cmdIAC)
				p.state = stSB
			default:
				// A sub-negotiation not closed by IAC SE: end it here (as
				// BSD telnetd does) and treat the byte as a new command.
				cmds = append(cmds, Command{Verb: cmdSB, Opt: p.sbOpt, Data: append([]byte(nil), p.sb...), Truncated: p.trunc})
				p.state = stIAC
				var more []Command
				data, more = p.Feed([]byte{b}, data)
				cmds = append(cmds, more...)
			}
		}
	}
	return data, cmds
}

func (p *Parser) sbAppend(b byte) {
	if len(p.sb) >= maxSB {
		p.trunc = true
		return
	}
	p.sb = append(p.sb, b)
}

// escapeIAC doubles every 0xFF in server output so the client reads it as data.
func escapeIAC(b []byte) []byte {
	n := 0
	for _, c := range b {
		if c == cmdIAC {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for _, c := range b {
		out = append(out, c)
		if c == cmdIAC {
			out = append(out, cmdIAC)
		}
	}
	return out
}

// parseEnviron decodes a NEW-ENVIRON IS/INFO payload (RFC 1572, after the IS/INFO
// byte): VAR or USERVAR, name, optional VALUE and value, ESC escaping the next byte.
// At most maxVars variables are returned.
func parseEnviron(b []byte) [][2]string {
	const (
		envVar     = 0
		envValue   = 1
		envEsc     = 2
		envUserVar = 3
		maxVars    = 32
	)
	var out [][2]string
	var name, value []byte
	inName, inValue := false, false
	flush := func() {
		if inName || inValue {
			if len(out) < maxVars {
				out = append(out, [2]string{string(name), string(value)})
			}
		}
		name, value = nil, nil
		inName, inValue = false, false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case envVar, envUserVar:
			flush()
			inName = true
		case envValue:
			if inName || inValue {
				inName, inValue = false, true
			}
		case envEsc:
			if i+1 < len(b) {
				i++
				c = b[i]
			}
			fallthrough
		default:
			switch {
			case inName:
				name = append(name, c)
			case inValue:
				value = append(value, c)
			}
		}
	}
	flush()
	return out
}
