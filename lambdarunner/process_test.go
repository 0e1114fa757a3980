package lambdarunner

import (
	"context"
	"fmt"
	"os"
	"time"
)

// helperEnv names the probe binary when the test binary runs as a stand-in emulator: it
// invokes the probe's fork action, prints what it answered, and waits to be killed.
const helperEnv = "LAMBDARUNNER_TEST_EMULATOR_PROBE"

func runHelperEmulator() int {
	e, err := NewExecutable(ExecutableConfig{Name: "probe", Path: os.Getenv(helperEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.Run(ctx, &Invocation{RequestID: "helper", Event: []byte(`{"do":"fork"}`)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s\n", out)
	<-ctx.Done() // the test kills this process with SIGKILL: no Close runs
	return 1
}
