package redis

import "errors"

// maxMultibulk bounds the argument count of a RESP command ("*<count>\r\n").
//
// redcon's parser (v1.6.4, the only release) loops count times over a multibulk
// header whose arguments have not all arrived yet, doing nothing in each turn, and
// does so again on every read: "*99999999999\r\n" sent on its own kept a core busy
// for minutes per connection (and kept the service from stopping). No client sends
// thousands of arguments to a cache; real Redis allows 1024×1024 and answers more
// with "invalid multibulk length", as this does above maxMultibulk.
const maxMultibulk = 4096

var errMultibulk = errors.New("multibulk length over the limit")

// respFramer follows RESP framing on the bytes of a connection, as redcon will
// read them, only to find multibulk headers: at a command's start, '*' opens a
// header whose count is checked; its bulk arguments ($<len>\r\n<len bytes>\r\n)
// are skipped; anything else is an inline command up to '\n'. Malformed input is
// redcon's to reject; the framer only has to stay on the command boundaries of
// well-formed input.
type respFramer struct {
	state int
	n     int64 // the number being read (count or length), or bytes left to skip
	args  int64 // bulk arguments left in the current command
	bad   bool  // the number being read is not a plain decimal
}

const (
	frameStart  = iota // at a command's start
	frameInline        // inside an inline command
	frameCount         // reading the count after '*'
	frameLenAt         // expecting '$' of the next argument
	frameLen           // reading an argument's length
	frameData          // skipping an argument's bytes and its \r\n
)

// feed advances over p; errMultibulk when a header's count is over maxMultibulk.
func (f *respFramer) feed(p []byte) error {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch f.state {
		case frameStart:
			if c == '*' {
				f.state, f.n, f.bad = frameCount, 0, false
			} else if c != '\n' {
				f.state = frameInline
			}
		case frameInline:
			if c == '\n' {
				f.state = frameStart
			}
		case frameCount, frameLen:
			switch {
			case c >= '0' && c <= '9':
				if f.n = f.n*10 + int64(c-'0'); f.n > 1<<40 {
					f.n = 1 << 40 // large enough to be over any bound
				}
			case c == '\r':
			case c == '\n':
				if f.state == frameCount {
					if f.n > maxMultibulk && !f.bad {
						return errMultibulk
					}
					if f.bad || f.n == 0 {
						f.state = frameStart // redcon rejects it, or an empty command
						continue
					}
					f.args, f.state = f.n, frameLenAt
					continue
				}
				if f.bad {
					f.state = frameStart
					continue
				}
				f.state, f.n = frameData, f.n+2
			default:
				f.bad = true // a sign or garbage: redcon answers with an error
			}
		case frameLenAt:
			if c == '$' {
				f.state, f.n, f.bad = frameLen, 0, false
			} else {
				f.state = frameStart // a protocol error for redcon
			}
		case frameData:
			skip := min(f.n, int64(len(p)-i))
			i += int(skip) - 1
			if f.n -= skip; f.n == 0 {
				if f.args--; f.args == 0 {
					f.state = frameStart
				} else {
					f.state = frameLenAt
				}
			}
		}
	}
	return nil
}
