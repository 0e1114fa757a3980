package console_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotemu/iotemu/emulator"
	"github.com/iotemu/iotemu/emulator/clock"
	"github.com/iotemu/iotemu/emulator/customauth"
	"github.com/iotemu/iotemu/emulator/iotlog"
	"github.com/iotemu/iotemu/internal/testtool"
)

const (
	region   = "us-east-1"
	account  = "123456789012"
	authName = "console-auth"
	// wait bounds every wait on the browser or a device: generous, for a busy machine.
	wait = 30 * time.Second
)

func arn(resource string) string { return "arn:aws:iot:" + region + ":" + account + ":" + resource }

// authorize answers by client ID: "denied" gets a policy whose second statement denies
// iot:Connect, "expiring" must disconnect after 300 s, anyone else may connect for a day.
func authorize(_ context.Context, req events.IoTCoreCustomAuthorizerRequest) (events.IoTCoreCustomAuthorizerResponse, error) {
	id := req.ProtocolData.MQTT.ClientID
	sts := []events.IAMPolicyStatement{{Effect: "Allow", Action: []string{"iot:Connect"}, Resource: []string{arn("client/*")}}}
	disconnect := uint32(86400)
	switch id {
	case "denied":
		sts = append(sts, events.IAMPolicyStatement{Effect: "Deny", Action: []string{"iot:Connect"}, Resource: []string{arn("client/denied")}})
	case "expiring":
		disconnect = 300
	}
	return events.IoTCoreCustomAuthorizerResponse{
		IsAuthenticated: true, PrincipalID: "principal" + strings.ReplaceAll(id, "-", ""), DisconnectAfterInSeconds: disconnect, RefreshAfterInSeconds: 3600,
		PolicyDocuments: []*events.IAMPolicyDocument{{Version: "2012-10-17", Statement: sts}},
	}, nil
}

// browser is one headless Chromium for the whole test, and what its pages logged as errors.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	path := testtool.Require(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	listen := func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, fmt.Sprint(a.Value)+a.Description)
				}
				msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			msg = fmt.Sprintf("exception: %s at %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber)
			if ex := ev.ExceptionDetails.Exception; ex != nil {
				msg += " " + ex.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				msg = fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(listen))
	b.ctx = ctx
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// run runs actions with the test's bound on waiting.
func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, wait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		if png, serr := chromedp.Run(b.ctx, chromedp.CaptureScreenshot()); serr == nil {
			_ = os.WriteFile(filepath.Join(os.TempDir(), "iotemu-console-failure.png"), png, 0o644)
		}
		t.Fatalf("%s: %v (the page as it was: %s)", what, err, filepath.Join(os.TempDir(), "iotemu-console-failure.png"))
	}
}

// page opens a console route and waits until the page says it is drawn.
func (b *browser) page(t *testing.T, base, route string) {
	t.Helper()
	b.run(t, "open "+route, chromedp.Navigate(base+"/"+route), chromedp.WaitVisible(chromedp.CSS(`#page[data-ready="1"]`)))
}

// screenshot saves the viewport (1280x800) as dir/name.png.
func (b *browser) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	b.run(t, "settle before "+name, chromedp.Sleep(150*time.Millisecond))
	ctx, cancel := context.WithTimeout(b.ctx, wait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// screenshotDir is where the screenshots go: $IOTEMU_SCREENSHOTS, else a directory under the
// system's temporary directory that outlives the test, so they can be looked at.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("IOTEMU_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "iotemu-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newKey(t *testing.T) (*rsa.PrivateKey, string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// startEmulator starts an emulator on a virtual clock with its admin endpoint (and so the
// console), one authorizer backed by authorize, and returns the key that signs its tokens.
func startEmulator(t *testing.T) (*emulator.Emulator, *rsa.PrivateKey) {
	t.Helper()
	key, pub := newKey(t)
	emu := emulator.NewTestWithOptions(t, emulator.Config{
		AccountID: account, Region: region,
		Listen:    emulator.Listen{Admin: "127.0.0.1:0"},
		Functions: []emulator.Function{{Name: "auth-fn", Kind: emulator.KindGo, Handler: authorize}},
		Authorizers: []emulator.Authorizer{{
			Name: authName, FunctionARN: "arn:aws:lambda:" + region + ":" + account + ":function:auth-fn",
			TokenKeyName: "token", TokenSigningPublicKeys: map[string]string{"k1": pub},
		}},
	}, emulator.Options{Clock: clock.NewVirtual(time.Now())})
	return emu, key
}

// connect connects an MQTT 3.1.1 device signing its token with key; lost receives the error
// when the server closes the connection.
func connect(t *testing.T, emu *emulator.Emulator, clientID string, key *rsa.PrivateKey) (lost chan error, err error) {
	t.Helper()
	sig, err := customauth.Sign(key, "tok")
	if err != nil {
		t.Fatal(err)
	}
	lost = make(chan error, 1)
	c := pahov3.NewClient(pahov3.NewClientOptions().
		AddBroker("tls://" + emu.Addr(emulator.Port443).String()).
		SetClientID(clientID).
		SetUsername("dev?x-amz-customauthorizer-name=" + authName + "&token=tok&x-amz-customauthorizer-signature=" + url.QueryEscape(sig)).
		SetTLSConfig(emu.ClientTLSConfig()).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(wait).
		SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err }))
	tok := c.Connect()
	if !tok.WaitTimeout(wait) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return lost, nil
}

func waitEvent(t *testing.T, emu *emulator.Emulator, match func(iotlog.Event) bool) iotlog.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	e, err := emu.Logs().WaitEvent(ctx, match)
	if err != nil {
		t.Fatalf("wait for an event: %v", err)
	}
	return e
}

// TestConsoleInBrowser drives the console in one headless Chromium: against a running
// emulator with real devices (testLive), and over a store of 10,000 events and 1,000
// connections (testLoad). No page may log an error.
func TestConsoleInBrowser(t *testing.T) {
	b := startBrowser(t)
	t.Run("live", func(t *testing.T) { testLive(t, b) })
	t.Run("load", func(t *testing.T) { testLoad(t, b) })
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("a console page logged: %s", e)
	}
}

// testLive: a refused device appears live, its explanation marks the failing step or the
// deciding statement, and the authorizer's status and the clock change from the pages with
// the effect devices see.
func testLive(t *testing.T, b *browser) {
	emu, key := startEmulator(t)
	otherKey, _ := newKey(t)
	base := "http://" + emu.AdminAddr().String()
	shots := screenshotDir(t)

	// A good device first, so the Monitor tab and the current connections have something.
	if _, err := connect(t, emu, "good", key); err != nil {
		for _, tr := range emu.Logs().Traces() {
			t.Log(iotlog.FormatTrace(tr))
		}
		t.Fatalf("good device: %v", err)
	}

	b.page(t, base, "#/connections")
	b.run(t, "see the good device", chromedp.WaitVisible(chromedp.CSS(`#current tr td[title]`)))

	// A refused device (bad signature) appears on the live page.
	refusedAt := time.Now()
	if _, err := connect(t, emu, "badsig", otherKey); err == nil {
		t.Fatal("a device with a bad signature connected")
	}
	refused := time.Now()
	b.run(t, "the refused device appears", chromedp.WaitVisible(chromedp.CSS(`#attempts tr[data-client="badsig"]`)))
	t.Logf("refused device on the page %v after its connection was refused (%v after it began connecting)", time.Since(refused).Round(time.Millisecond), time.Since(refusedAt).Round(time.Millisecond))
	b.screenshot(t, shots, "1-connections")

	// Its explanation marks the signature step.
	b.run(t, "open its explanation", chromedp.Click(chromedp.CSS(`#attempts tr[data-client="badsig"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#page[data-page="attempt"][data-ready="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#steps .step.failed[data-step="signature"]`)))
	b.screenshot(t, shots, "2-attempt-bad-signature")

	// A policy denial marks the deciding statement (the second of the first document).
	if _, err := connect(t, emu, "denied", key); err == nil {
		t.Fatal("a device whose policy denies iot:Connect connected")
	}
	denied := waitEvent(t, emu, func(e iotlog.Event) bool { return e.ClientID == "denied" && e.Status == iotlog.StatusFailure })
	b.page(t, base, "#/attempt/"+denied.TraceID)
	b.run(t, "the deciding statement is marked",
		chromedp.WaitVisible(chromedp.CSS(`[data-doc="policyDocuments[0]"] pre.stmt.decided.deny[data-statement="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#steps .step.failed[data-step="connect"]`)))
	marked, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("pre.stmt.decided").length`))
	if err != nil {
		t.Fatal(err)
	}
	if marked != 1 {
		t.Errorf("%d statements marked as deciding, want 1", marked)
	}
	b.screenshot(t, shots, "3-attempt-policy-denied")

	// Advancing the clock from the page disconnects a device whose disconnectAfterInSeconds ran out.
	lost, err := connect(t, emu, "expiring", key)
	if err != nil {
		t.Fatalf("expiring device: %v", err)
	}
	b.page(t, base, "#/clock")
	b.screenshot(t, shots, "4-clock")
	b.run(t, "advance the clock by 301s", chromedp.SetValue(chromedp.CSS(`#advance-by`), "301s"), chromedp.Click(chromedp.CSS(`#advance`)))
	select {
	case <-lost:
	case <-time.After(wait):
		t.Fatal("advancing the clock 301 s from the page did not disconnect the device with disconnectAfterInSeconds 300")
	}
	waitEvent(t, emu, func(e iotlog.Event) bool {
		return e.ClientID == "expiring" && e.EventType == iotlog.EventDisconnect && e.DisconnectReason == iotlog.DisconnectCustomAuthTTLExpiration
	})

	// Functions, Monitor and Permissions, and the logs.
	b.page(t, base, "#/functions")
	b.run(t, "charts", chromedp.WaitVisible(chromedp.CSS(`canvas[data-chart="Invocations"]`)))
	b.screenshot(t, shots, "5-functions-monitor")
	b.run(t, "permissions tab", chromedp.Click(chromedp.CSS(`button[data-tab="permissions"]`)), chromedp.WaitVisible(chromedp.CSS(`#add-perm`)))
	b.screenshot(t, shots, "6-functions-permissions")
	// Remove AWS IoT's permission from the page, then add it back.
	b.run(t, "remove the permission", chromedp.Click(chromedp.CSS(`button.remove-perm`)),
		chromedp.WaitVisible(chromedp.CSS(`#add-perm`)), chromedp.WaitNotPresent(chromedp.CSS(`button.remove-perm`)))
	if perms, err := emu.Permissions("auth-fn"); err != nil || len(perms) != 0 {
		t.Fatalf("after Remove on the page the function's policy is %+v (%v), want empty", perms, err)
	}
	b.run(t, "add the permission", chromedp.Click(chromedp.CSS(`#add-perm`)), chromedp.WaitVisible(chromedp.CSS(`button.remove-perm`)))
	if perms, err := emu.Permissions("auth-fn"); err != nil || len(perms) != 1 || perms[0].Principal != "iot.amazonaws.com" {
		t.Fatalf("after Add permission on the page the function's policy is %+v (%v), want AWS IoT's permission", perms, err)
	}
	b.page(t, base, "#/logs")
	b.run(t, "query results", chromedp.WaitVisible(chromedp.CSS(`#results table`)))
	b.screenshot(t, shots, "7-logs")

	// Toggling the authorizer INACTIVE from the page refuses the next connect.
	b.page(t, base, "#/authorizers")
	b.screenshot(t, shots, "8-authorizers")
	b.run(t, "set the authorizer INACTIVE", chromedp.Click(chromedp.CSS(`button.toggle-status[data-name="`+authName+`"]`)),
		chromedp.WaitVisible(chromedp.Search(`//tr[@data-authorizer="`+authName+`"]/td[contains(@class,"status")][text()="INACTIVE"]`)))
	if _, err := connect(t, emu, "after-inactive", key); err == nil {
		t.Fatal("a device connected through an authorizer set INACTIVE on the authorizers page")
	}
	waitEvent(t, emu, func(e iotlog.Event) bool {
		return e.ClientID == "after-inactive" && e.EventType == iotlog.EventAuthNError
	})
	t.Logf("screenshots in %s", shots)
}
