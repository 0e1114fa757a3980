#!/usr/bin/env python3
"""A device on AWS's own C runtime (awscrt, Debian's python3-awscrt) that connects to an AWS IoT
data endpoint with custom authentication, as AWS's Python device SDK does, through an HTTP
CONNECT proxy (the endpoint's name need not resolve; it is still the SNI). It subscribes,
publishes, and waits for its own message; or, with --expect refused, checks that the connection
is refused. Exit status 0 when what happened is what was expected."""

import argparse
import sys
import threading
import urllib.parse

from awscrt import http, io, mqtt

WAIT = 10  # seconds for each step


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--proxy", required=True, help="HOST:PORT of an HTTP CONNECT proxy")
    p.add_argument("--ca", required=True, help="CA certificate file")
    p.add_argument("--transport", choices=["mqtt", "wss"], default="mqtt")
    p.add_argument("--authorizer", required=True)
    p.add_argument("--token-key", default="token")
    p.add_argument("--token", required=True)
    p.add_argument("--signature", required=True, help="base64, as the signer produced it")
    p.add_argument("--client-id", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--expect", choices=["connected", "refused"], default="connected")
    a = p.parse_args()

    elg = io.EventLoopGroup(1)
    bootstrap = io.ClientBootstrap(elg, io.DefaultHostResolver(elg))
    tls = io.TlsContextOptions()
    tls.override_default_trust_store_from_path(None, a.ca)
    proxy_host, proxy_port = a.proxy.rsplit(":", 1)
    creds = {
        "x-amz-customauthorizer-name": a.authorizer,
        a.token_key: a.token,
        "x-amz-customauthorizer-signature": a.signature,
    }
    username, transform = None, None
    if a.transport == "mqtt":
        # MQTT over TLS on 443 with ALPN mqtt: the credentials in the username's query string,
        # followed by the metrics AWS's Python SDK appends.
        tls.alpn_list = ["mqtt"]
        username = "device?" + urllib.parse.urlencode(creds) + "&SDK=PythonV2&Version=1.0.0"
    else:
        # MQTT over WebSockets: the credentials in the upgrade request's headers.
        # awscrt calls it with the keyword argument transform_args.
        def transform(transform_args):
            for k, v in creds.items():
                transform_args.http_request.headers.set(k, v)
            transform_args.set_done()

    conn = mqtt.Connection(
        client=mqtt.Client(bootstrap, io.ClientTlsContext(tls)),
        host_name=a.endpoint,
        port=443,
        client_id=a.client_id,
        username=username,
        clean_session=True,
        keep_alive_secs=30,
        use_websockets=a.transport == "wss",
        websocket_handshake_transform=transform,
        proxy_options=http.HttpProxyOptions(proxy_host, int(proxy_port)),
    )
    try:
        conn.connect().result(WAIT)
    except Exception as e:  # the connection was refused: what kind depends on the transport
        print(f"refused: {e!r}")
        return 0 if a.expect == "refused" else 1
    if a.expect == "refused":
        print("connected, but a refusal was expected")
        return 1
    print("connected")

    received = threading.Event()
    got = []

    def on_message(topic, payload, **kwargs):
        got.append((topic, payload))
        received.set()

    sub, _ = conn.subscribe(a.topic, mqtt.QoS.AT_LEAST_ONCE, on_message)
    print(f"subscribed: {sub.result(WAIT)}")
    pub, _ = conn.publish(a.topic, b"hello from awscrt", mqtt.QoS.AT_LEAST_ONCE)
    pub.result(WAIT)
    print("published")
    if not received.wait(WAIT):
        print("the message did not come back")
        return 1
    print(f"received {got[0][1].decode()!r} on {got[0][0]}")
    conn.disconnect().result(WAIT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
