package scenarios

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// httpsClient publishes over HTTPS, as `curl -X POST https://ENDPOINT/topics/TOPIC` does, on
// one keep-alive connection (so that enableCachingForHttp has something to cache on).
type httpsClient struct {
	d      *device
	client *http.Client
}

func newHTTPSClient(d *device) *httpsClient {
	tr := &http.Transport{
		// The device's own TLS dial: the SNI and ALPN it offers are exactly the file's.
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&tls.Dialer{Config: d.tls}).DialContext(ctx, "tcp", d.addr)
		},
		MaxIdleConnsPerHost: 1,
	}
	return &httpsClient{d: d, client: &http.Client{Transport: tr, Timeout: connectTimeout}}
}

// httpsResult is what an HTTPS publish returns.
type httpsResult struct {
	status  int
	message string // the "message" member of AWS's JSON answer
}

// publish POSTs a message to /topics/TOPIC.
func (h *httpsClient) publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (httpsResult, error) {
	q := []string{fmt.Sprintf("qos=%d", qos)}
	if retain {
		q = append(q, "retain=true")
	}
	if h.d.def.CredentialsIn == "query" {
		if cq := h.d.creds.query(); cq != "" {
			q = append(q, cq)
		}
	}
	u := "https://" + h.d.host + "/topics/" + url.PathEscape(topic) + "?" + strings.Join(q, "&")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return httpsResult{}, err
	}
	for k, v := range h.d.def.Headers {
		req.Header.Set(k, v)
	}
	if h.d.def.CredentialsIn != "query" {
		h.d.creds.header(req.Header)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return httpsResult{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Message string `json:"message"`
	}
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &body)
	return httpsResult{status: resp.StatusCode, message: body.Message}, nil
}

func (h *httpsClient) close() { h.client.CloseIdleConnections() }
