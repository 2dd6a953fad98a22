// Command gen is the collector tests' event generator: it runs FROM scratch in a
// container labelled like a decky's service and prints a known set of lines on stdout
// (valid events, invalid lines, long lines, legacy lines without event_id), then
// sleeps until it is stopped. Event IDs are <tag>-<boot nanos>-<index>, so a restarted
// container emits new IDs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"decnet/internal/event"
)

func main() {
	tag := flag.String("tag", "gen", "event ID prefix")
	decky := flag.String("decky", "decky-1", "HOSTNAME of the events")
	n := flag.Int("n", 100, "valid events to print")
	rate := flag.Int("rate", 0, "events per second (0: as fast as possible)")
	invalid := flag.Int("invalid", 0, "invalid lines to print among the events")
	long := flag.Int("long", 0, "valid events of about 40 KiB (several Docker messages each)")
	overlong := flag.Int("overlong", 0, "lines longer than the collector's limit")
	legacy := flag.Int("legacy", 0, "valid events without event_id")
	wrongHost := flag.String("wrong-host", "", "HOSTNAME for every 10th event (a mismatch with the label)")
	flag.Parse()

	boot := time.Now().UnixNano()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	put := func(b []byte) {
		w.Write(b)
		w.WriteByte('\n')
		w.Flush()
	}
	ev := func(i int, extra string) []byte {
		e := event.Event{ID: fmt.Sprintf("%s-%d-%06d", *tag, boot, i), Time: time.Now().UTC(), Decky: *decky,
			Service: "gen", Type: event.Auth, AttackerIP: "192.0.2.7", AttackerPort: 40000 + i%20000,
			Fields: map[string]string{"username": "root", "password": "p]\"\\\x1b[31m", "seq": fmt.Sprint(i)}}
		if extra != "" {
			e.Fields["blob"] = extra
		}
		if *wrongHost != "" && i%10 == 0 {
			e.Decky = *wrongHost
		}
		line, err := event.Format(e)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return line
	}
	every := time.Duration(0)
	if *rate > 0 {
		every = time.Second / time.Duration(*rate)
	}
	start := time.Now()
	bad, step := 0, 1
	if *invalid > 0 && *n / *invalid > 1 {
		step = *n / *invalid
	}
	for i := 0; i < *n; i++ {
		put(ev(i, ""))
		if bad < *invalid && i%step == 0 {
			put([]byte(fmt.Sprintf("not an event %d \xff\xfe from %s", i, *tag)))
			bad++
		}
		if every > 0 {
			if d := time.Until(start.Add(time.Duration(i+1) * every)); d > 0 {
				time.Sleep(d)
			}
		}
	}
	for ; bad < *invalid; bad++ {
		put([]byte(fmt.Sprintf("not an event tail %d", bad)))
	}
	for i := 0; i < *long; i++ {
		put(ev(*n+i, strings.Repeat("L", 40<<10)+fmt.Sprint(i)))
	}
	for i := 0; i < *legacy; i++ {
		put([]byte(fmt.Sprintf("<134>1 2024-01-02T03:04:05.000006Z %s gen - connect [relay@55555 src_ip=\"192.0.2.8\" n=\"%d\"]", *decky, i)))
	}
	for i := 0; i < *overlong; i++ {
		put([]byte(strings.Repeat("O", event.MaxLine+100)))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
