package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"
)

func defaultConfigYAML() []byte { return emulator.DefaultYAML() }

// loadConfig reads -config, or the embedded default, and applies -data-dir.
func loadConfig(path, dataDir string) (emulator.Config, error) {
	cfg := emulator.DefaultConfig()
	if path != "" {
		var err error
		if cfg, err = emulator.LoadConfig(path); err != nil {
			return cfg, err
		}
	}
	switch {
	case dataDir != "":
		cfg.DataDir = dataDir
	case cfg.DataDir == "":
		cfg.DataDir = defaultDataDir()
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file` (default: the embedded default, see \"iotemu config\")")
	dataDir := fs.String("data-dir", "", "`directory` for the CA and generated keys (default: dataDir from the config, else "+defaultDataDir()+")")
	verbose := fs.Bool("v", false, "verbose: every step of the decision trace, with its data, in the text log, and the emulator's own diagnostics on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath, *dataDir)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
		cfg.Log.Verbose = true
	}
	emu, err := emulator.Start(cfg, emulator.Options{
		Stdout: stdout,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		Clock:  clock.NewAdjustable(),
	})
	if err != nil {
		return err
	}
	defer emu.Close()
	caFile := filepath.Join(emu.Config().DataDir, "ca.pem")
	if err := emu.WriteCAFile(caFile); err != nil {
		return err
	}
	source := "embedded default (iotemu config prints it)"
	if *configPath != "" {
		source = *configPath
	}
	printBanner(stdout, emu, source, caFile)
	// The troubleshooting guide's "check the invocation metrics": on demand with SIGUSR1
	// (kill -USR1 PID), and at exit.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	for {
		select {
		case <-usr1:
			printMetrics(stdout, emu)
		case <-ctx.Done():
			fmt.Fprintln(stdout, "iotemu: shutting down")
			printMetrics(stdout, emu)
			return nil
		}
	}
}

// printMetrics prints each function's invocation metrics.
func printMetrics(w io.Writer, emu *emulator.Emulator) {
	fmt.Fprintln(w, "Invocation metrics:")
	for _, f := range emu.Config().Functions {
		m, ok := emu.FunctionMetrics(f.Name)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %s: invocations %d, errors %d, timeouts %d, throttles %d, cold starts %d, duration p50 %s, p99 %s\n",
			f.Name, m.Invocations, m.Errors, m.Timeouts, m.Throttles, m.ColdStarts, m.DurationP50, m.DurationP99)
	}
}

// printBanner tells a new user where everything is and gives commands that work as printed.
func printBanner(w io.Writer, emu *emulator.Emulator, source, caFile string) {
	cfg := emu.Config()
	fmt.Fprintf(w, "iotemu: AWS IoT Core custom authentication emulator\n")
	fmt.Fprintf(w, "  configuration   %s\n", source)
	fmt.Fprintf(w, "  account %s, region %s\n", cfg.AccountID, cfg.Region)
	fmt.Fprintf(w, "  data endpoint   %s (legacy: %s)\n", emu.Endpoint(), emu.Endpoints()[1])
	for _, p := range []struct {
		port emulator.Port
		what string
	}{
		{emulator.Port443, "MQTT with custom auth (ALPN mqtt), HTTPS"},
		{emulator.Port8883, "MQTT with X.509 client certificates"},
		{emulator.Port8443, "HTTPS with X.509 client certificates"},
	} {
		if a := emu.Addr(p.port); a != nil {
			a = hostView(a)
			fmt.Fprintf(w, "  port %-5s -> %-16s %s\n", p.port, a, p.what)
		}
	}
	// The addresses and commands below are for the host: a listener on every interface is
	// reached at 127.0.0.1, and in the container image the CA is copied out first.
	proxy := emu.ProxyAddr()
	if proxy != nil {
		proxy = hostView(proxy)
		fmt.Fprintf(w, "  proxy           %s (SOCKS5 or HTTP CONNECT: resolves every name to this emulator)\n", proxy)
	}
	cafile := caFile
	copyCA := ""
	if os.Getenv(containerEnv) != "" {
		host, _ := os.Hostname() // Docker's default hostname is the container ID, which docker cp takes
		cafile = filepath.Base(caFile)
		copyCA = fmt.Sprintf("docker cp %s:%s %s", host, caFile, cafile)
	}
	if a := emu.AdminAddr(); a != nil {
		a = hostView(a)
		fmt.Fprintf(w, "  admin endpoint  http://%s (/health, /metrics, POST /clock/advance?by=301s)\n", a)
	}
	if a := emu.APIAddr(); a != nil {
		a = hostView(a)
		fmt.Fprintf(w, "  control plane   http://%s (aws --endpoint-url http://%s iot list-authorizers)\n", a, a)
	}
	fmt.Fprintf(w, "  CA certificate  %s\n", caFile)
	if copyCA != "" {
		fmt.Fprintf(w, "  on the host     %s\n", copyCA)
	}

	demo, ok := demoAuthorizer(cfg)
	if !ok || emu.Addr(emulator.Port443) == nil {
		fmt.Fprintln(w)
		return
	}
	sig, err := emu.SignToken(demo.keyName, emulator.DemoToken)
	if err != nil {
		return
	}
	user := fmt.Sprintf("demo?x-amz-customauthorizer-name=%s&%s=%s&x-amz-customauthorizer-signature=%s",
		demo.name, demo.tokenKey, emulator.DemoToken, url.QueryEscape(sig))
	var conn string
	if proxy != nil {
		// The proxy lets the client use the endpoint name itself, which is what it sends as SNI.
		conn = fmt.Sprintf("--proxy socks5h://%s -h %s -p 443", proxy, emu.Endpoint())
	} else {
		a := hostView(emu.Addr(emulator.Port443)).(*net.TCPAddr)
		conn = fmt.Sprintf("-h %s -p %d", a.IP, a.Port)
	}
	common := fmt.Sprintf("%s --cafile %s --tls-alpn mqtt -u '%s'", conn, cafile, user)
	fmt.Fprintf(w, "\nTry it with the demo authorizer %q (token %q, signed with the generated key %q):\n", demo.name, emulator.DemoToken, demo.keyName)
	fmt.Fprintf(w, "  mosquitto_sub %s -i demo-sub -t demo/hello -v\n", common)
	fmt.Fprintf(w, "  mosquitto_pub %s -i demo-pub -t demo/hello -m 'hello from iotemu'\n", common)
	fmt.Fprintf(w, "Change the token and the signature no longer matches: the connection is refused and logged.\n\n")
}

// containerEnv is set in the container image: the banner's commands then copy the CA out of
// the container first.
const containerEnv = "IOTEMU_CONTAINER"

// hostView returns the address a client on this host (or, for a container, on the host that
// publishes its ports under the same numbers) dials for a listener: 127.0.0.1 for one bound to
// every interface.
func hostView(a net.Addr) net.Addr {
	t, ok := a.(*net.TCPAddr)
	if !ok || !t.IP.IsUnspecified() {
		return a
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: t.Port}
}

type demoInfo struct{ name, tokenKey, keyName string }

// demoAuthorizer finds an authorizer backed by the demo function with a generated key.
func demoAuthorizer(cfg emulator.Config) (demoInfo, bool) {
	demoFuncs := map[string]bool{}
	for _, f := range cfg.Functions {
		if f.Kind == emulator.KindDemo {
			demoFuncs[f.Name] = true
		}
	}
	for _, a := range cfg.Authorizers {
		if !strings.HasSuffix(a.FunctionARN, ":function:"+lastSegment(a.FunctionARN)) || !demoFuncs[lastSegment(a.FunctionARN)] || a.SigningDisabled {
			continue
		}
		for _, v := range a.TokenSigningPublicKeys {
			if name, ok := strings.CutPrefix(v, "generated:"); ok {
				return demoInfo{name: a.Name, tokenKey: a.TokenKeyName, keyName: name}, true
			}
		}
	}
	return demoInfo{}, false
}

func lastSegment(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }
