// Command iotemu is a local emulator of AWS IoT Core's custom authentication.
//
//	iotemu serve [-config FILE] [-data-dir DIR]   run the emulator (embedded default config without -config)
//	iotemu sign -token TOKEN [-key NAME]          sign a token with a generated signing key
//	iotemu config                                 print the embedded default configuration
//	iotemu version                                print the module version and the commit it was built from
//	iotemu health [-url URL]                      check a running emulator's admin endpoint (container health checks)
//	iotemu scenario run|list|new|schema           replay troubleshooting scenarios (the embedded library by default)
//	iotemu check [flags] FUNCTION                 check your own authorizer function (an executable or an Invoke API URL)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "iotemu:", err)
		}
		if errors.Is(err, errUnhealthy) || errors.Is(err, errScenariosFailed) || errors.Is(err, errCheckFailed) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

const usage = `usage: iotemu <command> [flags]

commands:
  serve    run the emulator (the embedded default configuration unless -config is given)
  sign     sign a token with a signing key the emulator generated
  config   print the embedded default configuration
  version  print iotemu's version and the commit it was built from
  health   check a running emulator's admin endpoint (exit 0 healthy, 1 not)
  scenario run, list or create scenario files: the troubleshooting cases, replayed offline
  check    check your own authorizer function: events, answers, policies, library cases, timing
  logs     query (Logs Insights) or tail a running emulator's CloudWatch log groups

Run "iotemu <command> -h" for a command's flags.
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "sign":
		return sign(args[1:], stdout, stderr)
	case "health":
		return health(ctx, args[1:], stdout, stderr)
	case "scenario":
		return scenario(ctx, args[1:], stdout, stderr)
	case "check":
		return check(ctx, args[1:], stdout, stderr)
	case "logs":
		return logs(ctx, args[1:], stdout, stderr)
	case "config":
		return config(args[1:], stdout, stderr)
	case "version":
		return version(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// dataDirEnv names the data directory for every command when set; the container image sets
// it to /data.
const dataDirEnv = "IOTEMU_DATA_DIR"

// defaultDataDir is where serve keeps its CA and generated keys, and sign looks for them,
// unless told otherwise: $IOTEMU_DATA_DIR, else $XDG_DATA_HOME/iotemu, else
// ~/.local/share/iotemu.
func defaultDataDir() string {
	if d := os.Getenv(dataDirEnv); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "iotemu")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "iotemu")
	}
	return "iotemu-data"
}

// parseFlags parses a command's flags and refuses arguments left over: `iotemu serve my.yaml`
// must not silently run the default configuration.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%s: unexpected argument %q (flags come before arguments; a file is given with a flag, e.g. -config %s)",
			fs.Name(), fs.Arg(0), fs.Arg(0))
	}
	return nil
}

// config prints the embedded default configuration.
func config(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: iotemu config > iotemu.yaml\n\nPrints the embedded default configuration, commented; edit it and run iotemu serve -config iotemu.yaml.")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, err := stdout.Write(defaultConfigYAML())
	return err
}
