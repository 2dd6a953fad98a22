package shell

import (
	"bytes"
	"context"
	"math/rand"
	"testing"
	"time"
)

func TestStressInteract(t *testing.T) {
	toks := []string{"id", "\r", "\n", "\x7f", "\x03", "\x04", "\x1b[A", "\x1b", "'", "\"", "`", "$(", ")", "sudo ", "su", "passwd", "exit", "|", "&&", ";", "echo ", "cat ", "/etc/passwd", "yes", "top", "*", "\\", "{", "}", "(", "$((", "<<", ">", "sh", " ", "x", "\xff", "\x15", "\x17", "#", "~", "$", "=", "-c", "bash", "history", "cd ..", "ls -la", "find /", "cp -r / /tmp/q", "seq 1 99999", "base64", "xargs", "eval", "source", ".", "exec ", "alias a=", "while", "ps", "w", "crontab -", "tee", "awk '{print $1}'"}
	r := rand.New(rand.NewSource(1))
	deadline := time.Now().Add(60 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		var b bytes.Buffer
		for i := 0; i < r.Intn(40); i++ {
			b.WriteString(toks[r.Intn(len(toks))])
		}
		in := b.Bytes()
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				panic("hang on input " + string(strconvQuote(in)))
			}
		}()
		s := New(Options{Hostname: "fz", User: "bob", Distro: testUbuntu, IP: "10.0.0.2", Now: func() time.Time { return fixedNow }})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out bytes.Buffer
		s.Interact(ctx, pipeRW{r: bytes.NewReader(in), w: &out}, true)
		cancel()
		close(done)
	}
}

func strconvQuote(b []byte) string { return fmt_q(b) }

func fmt_q(b []byte) string { return "" + quoteBytes(b) }
func quoteBytes(b []byte) string { return string(append([]byte("\""), append([]byte(escape(b)), '"')...)) }
func escape(b []byte) string {
	var s []byte
	for _, c := range b {
		if c < 32 || c > 126 || c == '"' || c == '\\' {
			s = append(s, []byte("\\x")...)
			s = append(s, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		} else {
			s = append(s, c)
		}
	}
	return string(s)
}
