// Command decnetstub stands in for the decnet binary in the engine's integration tests:
// `hold` blocks until SIGTERM; `serve <svc> --config <file>` listens on the TCP port
// named in the JSON config and greets every connection with one line naming the
// service, the hostname and the uid, after writing a marker into /decnet/artifacts.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: decnetstub hold | serve <svc> --config <file>")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "hold":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
	case "serve":
		if len(os.Args) != 5 || os.Args[3] != "--config" {
			fmt.Fprintln(os.Stderr, "usage: decnetstub serve <svc> --config <file>")
			os.Exit(2)
		}
		serve(os.Args[2], os.Args[4])
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func serve(svc, config string) {
	b, err := os.ReadFile(config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cfg struct {
		Port int `json:"port"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	artifact := "ok"
	if err := os.WriteFile("/decnet/artifacts/"+svc+".started", []byte(svc+"\n"), 0o600); err != nil {
		artifact = "artifact-error"
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// PID 1 ignores signals it has no handler for: exit on SIGTERM like decnet must.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; os.Exit(0) }()
	host, _ := os.Hostname()
	fmt.Printf("serving %s on %d\n", svc, cfg.Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		fmt.Fprintf(c, "DNT-STUB %s %s uid=%d %s\n", svc, host, os.Getuid(), artifact)
		c.Close()
	}
}
