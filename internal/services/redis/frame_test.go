package redis

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

// The framer stays on command boundaries through pipelined inline and multibulk
// commands (arguments holding '*', '$', '\r' and '\n'), however the bytes are
// split, and refuses a header over maxMultibulk wherever it starts.
func TestRespFramer(t *testing.T) {
	ok := "PING\r\n*3\r\n$3\r\nSET\r\n$5\r\n*9\r\n$\r\n$0\r\n\r\nget *99999999\r\n" +
		fmt.Sprintf("*%d\r\n", maxMultibulk) + strings.Repeat("$1\r\n*\r\n", maxMultibulk) + "\nPING\r\n"
	over := ok + fmt.Sprintf("*%d\r\n", maxMultibulk+1)
	for _, split := range []int{1, 2, 3, 7, 64, len(over)} {
		var f respFramer
		var err error
		fed := 0
		for lo := 0; lo < len(over) && err == nil; lo += split {
			hi := min(lo+split, len(over))
			err = f.feed([]byte(over[lo:hi]))
			fed = hi
		}
		if err != errMultibulk || fed < len(ok)+1 {
			t.Errorf("split %d: %v after %d of %d bytes; want errMultibulk in the last header", split, err, fed, len(over))
		}
	}
	var f respFramer
	if err := f.feed([]byte("*99999999999\r\n")); err != errMultibulk {
		t.Errorf("a huge count alone: %v", err)
	}
}

// "*99999999999\r\n" on its own, which redcon alone spun on for minutes, is
// answered at once with Redis's error and leaves the service answering others.
func TestRedisHugeMultibulk(t *testing.T) {
	h := servicetest.Start(t, "redis", service.Config{Distro: "debian"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "*99999999999\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "-ERR Protocol error: invalid multibulk length\r\n" {
		t.Fatalf("got %q (%v)", line, err)
	}
	c2, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c2, "PING\r\n")
	if line, err := bufio.NewReader(c2).ReadString('\n'); err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING after the huge header: %q (%v)", line, err)
	}
}
