// Command decnet deploys and runs a DECNET deception network. See `decnet --help`.
package main

import (
	"os"

	"decnet/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
