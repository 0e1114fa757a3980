// Command probe is the function the executable runtime's tests run: an aws-lambda-go program
// whose behaviour is chosen by the event ({"do": "..."}) and, for its init phase, by files
// named in its environment.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if exists(os.Getenv("PROBE_CRASH_IF_EXISTS")) {
		fmt.Fprintln(os.Stderr, "probe: cannot load configuration")
		os.Exit(3)
	}
	if exists(os.Getenv("PROBE_HANG_IF_EXISTS")) {
		fmt.Fprintln(os.Stderr, "probe: hanging in init")
		if path := os.Getenv("PROBE_HANGING_FILE"); path != "" {
			_ = os.WriteFile(path, nil, 0o644) // tells the test the line above was written
		}
		time.Sleep(time.Hour)
	}
	if exists(os.Getenv("PROBE_INIT_ERROR_IF_EXISTS")) {
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"errorMessage":"bad configuration","errorType":"Runtime.ConfigError"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		time.Sleep(time.Hour) // the emulator kills it, as Lambda does
	}
	fmt.Println("probe: init")
	lambda.Start(probe{})
}

func exists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

// DeniedError is the error the "error" action returns.
type DeniedError struct{ Reason string }

func (e *DeniedError) Error() string { return e.Reason }

type probe struct{}

// Invoke is a raw lambda.Handler, so that it can also answer bytes that are not JSON.
func (probe) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var req struct {
		Do    string `json:"do"`
		MS    int    `json:"ms"`
		Bytes int    `json:"bytes"`
		Code  int    `json:"code"`
		Msg   string `json:"msg"`
		Path  string `json:"path"`
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	switch req.Do {
	case "error":
		return nil, &DeniedError{Reason: req.Msg}
	case "panic":
		panic(req.Msg)
	case "raw":
		return []byte("this is not JSON{"), nil
	case "big":
		return []byte(`"` + strings.Repeat("a", req.Bytes) + `"`), nil
	case "sleep":
		fmt.Println("probe: sleeping")
		if req.Path != "" {
			_ = os.WriteFile(req.Path, nil, 0o644) // tells the test the line above was written
		}
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
	case "hold":
		fmt.Println("probe: holding")
		for exists(req.Path) {
			time.Sleep(2 * time.Millisecond)
		}
	case "alloc":
		// req.Bytes of memory, every page touched so that it is resident.
		mem := make([]byte, req.Bytes)
		for i := 0; i < len(mem); i += 4096 {
			mem[i] = 1
		}
		fmt.Println("probe: allocated", len(mem))
	case "exit":
		fmt.Fprintln(os.Stderr, "probe: exiting")
		os.Exit(req.Code)
	case "spew":
		// req.Bytes of 1 KiB lines, then one line of 600 KiB, then a last line without newline.
		line := append(bytes.Repeat([]byte("x"), 1023), '\n')
		for range req.Bytes / len(line) {
			os.Stdout.Write(line)
		}
		os.Stdout.Write(append(bytes.Repeat([]byte("y"), 600<<10), '\n'))
		os.Stdout.WriteString("probe: done")
		return []byte(`"spewed"`), nil
	case "env":
		cwd, _ := os.Getwd()
		return json.Marshal(map[string]any{"env": os.Environ(), "cwd": cwd})
	case "fork":
		child := exec.Command("sleep", "60")
		child.Stdout = os.Stdout // it holds the output pipe open too
		if err := child.Start(); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]int{"pid": os.Getpid(), "child": child.Process.Pid})
	}
	fmt.Println("probe: answering", req.Do)
	return json.Marshal(map[string]any{"pid": os.Getpid(), "do": req.Do})
}
