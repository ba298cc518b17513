// Command vigie is the vigie server, poller and command-line tool.
package main

import (
	"os"

	"github.com/vigie-monitoring/vigie/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}
