package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/aws/aws-lambda-go/events"

	"github.com/iotemu/iotemu/emulator"
)

// serverInfo is what the child tells the load generator, as one JSON line on stdout.
type serverInfo struct {
	MQTT     string // the 443 role's address
	Admin    string
	Endpoint string
	CA       string // PEM
	NoFile   uint64 // the descriptor limit it runs under
}

// runServer is the child: an emulator with an authorizer that lets every device do anything,
// until stdin closes.
func runServer(nofile uint64) error {
	if nofile > 0 {
		// Soft and hard: the Go runtime would raise a soft limit back to the hard one.
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: nofile, Max: nofile}); err != nil {
			return fmt.Errorf("lower RLIMIT_NOFILE to %d: %w", nofile, err)
		}
	}
	var rl syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	allowAll := func(_ context.Context, _ events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		return events.IoTCoreCustomAuthorizerResponse{
			IsAuthenticated:          true,
			PrincipalID:              "soak",
			DisconnectAfterInSeconds: 86400,
			PolicyDocuments: []*events.IAMPolicyDocument{{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
				{Effect: "Allow", Action: []string{"iot:*"}, Resource: []string{"*"}},
			}}},
		}, nil
	}
	emu, err := emulator.Start(emulator.Config{
		Listen: emulator.Listen{MQTT443: "127.0.0.1:0", MQTT8883: "off", HTTP8443: "off", Admin: "127.0.0.1:0"},
		Authorizers: []emulator.Authorizer{{
			Name:            "soak",
			FunctionARN:     "arn:aws:lambda:us-east-1:123456789012:function:soak",
			SigningDisabled: true,
		}},
		DefaultAuthorizer: "soak",
		Functions:         []emulator.Function{{Name: "soak", Kind: emulator.KindGo, Handler: allowAll}},
		Log:               emulator.LogConfig{Format: "off"},
	}, emulator.Options{LogMemoryBytes: 16 << 20})
	if err != nil {
		return err
	}
	defer emu.Close()
	info := serverInfo{MQTT: emu.Addr(emulator.Port443).String(), Admin: emu.AdminAddr().String(), Endpoint: emu.Endpoint(), CA: string(emu.CAPEM()), NoFile: rl.Cur}
	if err := json.NewEncoder(os.Stdout).Encode(info); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// server is a child emulator seen from the load generator.
type server struct {
	serverInfo
	cmd   *exec.Cmd
	stdin io.Closer
	pool  *x509.CertPool
}

// startServer starts a child emulator under a descriptor limit of nofile (0: unchanged).
func startServer(nofile uint64) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", "-nofile", strconv.FormatUint(nofile, 10))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &s.serverInfo)
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("the emulator did not start: %w", err)
	}
	s.pool = x509.NewCertPool()
	if !s.pool.AppendCertsFromPEM([]byte(s.CA)) {
		s.stop()
		return nil, errors.New("the emulator's CA is not PEM")
	}
	return s, nil
}

// tlsConfig is a device's TLS configuration, offering ALPN alpn ("" for none).
func (s *server) tlsConfig(alpn string) *tls.Config {
	cfg := &tls.Config{RootCAs: s.pool, ServerName: s.Endpoint}
	if alpn != "" {
		cfg.NextProtos = []string{alpn}
	}
	return cfg
}

// stop ends the child and waits for it.
func (s *server) stop() {
	_ = s.stdin.Close()
	_ = s.cmd.Wait()
}
