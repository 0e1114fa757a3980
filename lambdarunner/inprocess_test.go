package lambdarunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestInProcessInvokesAnAWSLambdaGoHandler(t *testing.T) {
	inv, err := NewInProcess(func(_ context.Context, e events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		return events.IoTCoreCustomAuthorizerResponse{IsAuthenticated: e.Token == "t", PrincipalID: "p"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := inv.Run(context.Background(), &Invocation{Event: []byte(`{"token":"t"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var resp events.IoTCoreCustomAuthorizerResponse
	if err := json.Unmarshal(out, &resp); err != nil || !resp.IsAuthenticated || resp.PrincipalID != "p" {
		t.Fatalf("answer %s, %v", out, err)
	}
}

type myError struct{}

func (myError) Error() string { return "boom" }

func TestInProcessFunctionErrors(t *testing.T) {
	cases := map[string]struct {
		handler  any
		wantType string
		wantMsg  string
	}{
		"returned error": {func(context.Context, json.RawMessage) (any, error) { return nil, myError{} }, "myError", "boom"},
		"panic":          {func(context.Context, json.RawMessage) (any, error) { panic("kaput") }, "", "kaput"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			inv, err := NewInProcess(tc.handler)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second on the worker that served the first
				_, err = inv.Run(context.Background(), &Invocation{Event: []byte(`{}`)})
				var fe *FunctionError
				if !errors.As(err, &fe) {
					t.Fatalf("got %v; want a *FunctionError", err)
				}
				if (tc.wantType != "" && fe.Type != tc.wantType) || !strings.Contains(fe.Message, tc.wantMsg) {
					t.Errorf("got %+v; want type %q and message with %q", fe, tc.wantType, tc.wantMsg)
				}
			}
		})
	}
}

func TestInProcessAbandonsAHandlerPastTheDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	inv, err := NewInProcess(func(context.Context, json.RawMessage) (any, error) {
		<-release
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := inv.Run(ctx, &Invocation{Event: []byte(`{}`)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want context.DeadlineExceeded", err)
	}
}

func TestNewInProcessRefusesBadHandlers(t *testing.T) {
	for name, h := range map[string]any{
		"nil":               nil,
		"not a func":        42,
		"three arguments":   func(context.Context, string, string) error { return nil },
		"first not context": func(string, string) error { return nil },
		"second not error":  func() (string, string) { return "", "" },
		"three results":     func() (int, int, error) { return 0, 0, nil },
	} {
		if _, err := NewInProcess(h); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestInProcessConcurrentAnswersStayApart: aws-lambda-go reuses its answer buffer between
// invocations; concurrent invocations must still each get their own answer.
func TestInProcessConcurrentAnswersStayApart(t *testing.T) {
	inv, err := NewInProcess(func(_ context.Context, e events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
		return events.IoTCoreCustomAuthorizerResponse{PrincipalID: e.Token}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				token := fmt.Sprintf("g%di%d", g, i)
				out, err := inv.Run(context.Background(), &Invocation{Event: []byte(`{"token":"` + token + `"}`)})
				var resp events.IoTCoreCustomAuthorizerResponse
				if err != nil || json.Unmarshal(out, &resp) != nil || resp.PrincipalID != token {
					errs <- fmt.Sprintf("asked %s, got %s (%v)", token, out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
