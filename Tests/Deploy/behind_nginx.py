#!/usr/bin/env python3
"""Aerosol behind nginx with TLS, as deploy/nginx.conf sets it up.

Starts `aerosol serve` on a free loopback port, makes a self-signed certificate with openssl,
runs Debian's nginx with the site file deploy/nginx.conf (its ports, upstream and certificate
paths replaced by the test's own; every other line as shipped), and checks through nginx, over
https with that certificate:

1. plain http answers 301 to https;
2. an access token from /oauth/token;
3. an event stream opened through the proxy gets `:ok`, and an event published (through the
   proxy) reaches it at once: nginx does not buffer the stream;
4. the console sign-in sets its session cookie `Secure` (X-Forwarded-Proto from nginx);
5. SIGTERM to Aerosol with the stream still open ends it promptly and cleanly.

Binds 127.0.0.1 only. Standard library only (plus the openssl and nginx binaries).

    python3 Tests/Deploy/behind_nginx.py --binary .build/debug/aerosol
"""

import argparse
import base64
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMAIL = "ops@example.com"
PASSWORD = "correct horse battery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fail(message):
    print(f"behind nginx: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def replace_once(text, old, new):
    """Replaces a line of the shipped site file; fails if the file no longer has it."""
    if text.count(old) < 1:
        fail(f"deploy/nginx.conf no longer contains {old!r}")
    return text.replace(old, new)


def site_config(run, aerosol_port, https_port, http_port, cert, key):
    return nginx_config(run, "nginx.conf", {"server 127.0.0.1:8080;": f"server 127.0.0.1:{aerosol_port};"}, https_port, http_port, cert, key)


def nginx_config(run, site_file, upstreams, https_port, http_port, cert, key):
    """An nginx.conf around deploy/<site_file>, with the test's upstream servers (`upstreams`:
    shipped line → the test's), ports and certificate; every other line as shipped."""
    with open(os.path.join(ROOT, "deploy", site_file), encoding="utf-8") as file:
        site = file.read()
    for shipped, used in upstreams.items():
        site = replace_once(site, shipped, used)
    site = replace_once(site, "    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n")
    site = replace_once(site, "    listen 443 ssl;\n", f"    listen 127.0.0.1:{https_port} ssl;\n")
    site = re.sub(r"^\s*listen \[::\].*\n", "", site, flags=re.M)
    site = replace_once(site, "/etc/ssl/aerosol/fullchain.pem", cert)
    site = replace_once(site, "/etc/ssl/aerosol/privkey.pem", key)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {run}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
daemon off;
events {{ worker_connections 256; }}
http {{
    access_log off;
{temp}
{site}
}}
"""


class Stack:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.aerosol = None
        self.nginx = None

    def start_aerosol(self):
        data = os.path.join(self.work, "data")
        subprocess.run(
            [self.binary, "user", "create", EMAIL, "--password", PASSWORD, "--data-dir", data],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.aerosol_port = free_port()
        self.aerosol_log = open(os.path.join(self.work, "aerosol.log"), "w")
        self.aerosol = subprocess.Popen(
            [
                self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.aerosol_port),
                "--device-port", "0", "--udp-device-port", "0", "--data-dir", data, "--log-level", "notice", "--trusted-proxy", "127.0.0.1",
            ],
            stdout=self.aerosol_log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.aerosol.poll() is not None:
                fail(f"aerosol exited with {self.aerosol.returncode}; see {self.aerosol_log.name}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.aerosol_port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        fail("aerosol did not answer /healthz within 60 s")

    def start_nginx(self, nginx):
        run = os.path.join(self.work, "nginx")
        os.makedirs(run)
        os.chmod(self.work, 0o755)
        cert, key = os.path.join(run, "cert.pem"), os.path.join(run, "key.pem")
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", key, "-out", cert,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.cert = cert
        self.https_port, self.http_port = free_port(), free_port()
        config = os.path.join(run, "nginx.conf")
        with open(config, "w", encoding="utf-8") as file:
            file.write(site_config(run, self.aerosol_port, self.https_port, self.http_port, cert, key))
        subprocess.run([nginx, "-t", "-q", "-p", run, "-c", config, "-e", os.path.join(run, "error.log")], check=True)
        self.nginx = subprocess.Popen([nginx, "-p", run, "-c", config, "-e", os.path.join(run, "error.log")])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        fail("nginx did not listen within 20 s")

    def https(self, timeout=10):
        context = ssl.create_default_context(cafile=self.cert)
        return http.client.HTTPSConnection("127.0.0.1", self.https_port, context=context, timeout=timeout)

    def stop(self):
        # SIGTERM: nginx's master stops its workers (SIGKILL would leave them running).
        for process in (self.nginx, self.aerosol):
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def read_until(response, marker, seconds):
    """Reads the stream's lines until one contains `marker`; returns what was read."""
    text = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = response.fp.readline()
        if not line:
            break
        text += line.decode("utf-8")
        if marker in text:
            return text
    fail(f"{marker!r} did not come through nginx within {seconds} s; read {text!r}")


def check(stack):
    # 1. http → https
    plain = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
    plain.request("GET", "/v1/devices")
    redirect = plain.getresponse()
    if redirect.status != 301 or not redirect.getheader("Location", "").startswith("https://"):
        fail(f"plain http answered {redirect.status} {redirect.getheader('Location')}")
    print("behind nginx: http redirects to https")

    # The metrics stay on the inside: refused through the proxy, served on Aerosol's own port.
    outside = stack.https()
    outside.request("GET", "/metrics")
    refused = outside.getresponse()
    refused.read()
    if refused.status != 403:
        fail(f"GET /metrics through nginx answered {refused.status}, expected 403")
    inside = http.client.HTTPConnection("127.0.0.1", stack.aerosol_port, timeout=10)
    inside.request("GET", "/metrics")
    metrics = inside.getresponse()
    if metrics.status != 200 or b"# TYPE aerosol_http_requests_total counter" not in metrics.read():
        fail(f"GET /metrics on Aerosol's port answered {metrics.status}")
    print("behind nginx: /metrics is refused outside (403) and served inside")

    # 2. a token
    api = stack.https()
    basic = base64.b64encode(b"particle:particle").decode()
    body = urllib.parse.urlencode({"grant_type": "password", "username": EMAIL, "password": PASSWORD})
    api.request(
        "POST", "/oauth/token", body,
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = api.getresponse()
    text = answer.read().decode()
    token = re.search(r'"access_token":"([0-9a-f]+)"', text)
    if answer.status != 200 or not token:
        fail(f"/oauth/token answered {answer.status} {text}")
    token = token.group(1)
    print("behind nginx: signed in over https")

    # 3. a stream, and an event through it at once
    stream = stack.https(timeout=15)
    stream.request("GET", "/v1/devices/events/deploy", headers={"Authorization": f"Bearer {token}"})
    events = stream.getresponse()
    if events.status != 200 or events.getheader("Content-Type") != "text/event-stream":
        fail(f"the stream answered {events.status} {events.getheader('Content-Type')}")
    read_until(events, ":ok", 10)
    published = time.monotonic()
    api.request(
        "POST", "/v1/devices/events", "name=deploy%2Fcheck&data=through+nginx",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    ack = api.getresponse()
    if ack.status != 200 or ack.read() != b'{"ok":true}':
        fail(f"publishing through nginx answered {ack.status}")
    frame = read_until(events, "id: ", 5)
    if "event: deploy/check\n" not in frame or '"data":"through nginx"' not in frame:
        fail(f"the stream got {frame!r}")
    print(f"behind nginx: event delivered through the proxy in {1000 * (time.monotonic() - published):.0f} ms")

    # 4. the console's cookie is Secure behind https
    console = stack.https()
    console.request("GET", "/console/login")
    page = console.getresponse()
    page.read()
    nonce = re.search(r"aerosol_login=([^;]+)", page.getheader("Set-Cookie", ""))
    if page.status != 200 or not nonce:
        fail(f"/console/login answered {page.status} {page.getheader('Set-Cookie')}")
    form = urllib.parse.urlencode({"csrf_token": nonce.group(1), "email": EMAIL, "password": PASSWORD})
    console.request(
        "POST", "/console/login", form,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"aerosol_login={nonce.group(1)}"},
    )
    signed = console.getresponse()
    signed.read()
    cookies = [value for key, value in signed.getheaders() if key.lower() == "set-cookie"]
    session = [cookie for cookie in cookies if cookie.startswith("aerosol_session=")]
    if signed.status not in (302, 303) or not session or "Secure" not in session[0]:
        fail(f"the console sign-in answered {signed.status} with cookies {cookies}")
    print("behind nginx: console session cookie is Secure")

    # 5. SIGTERM with the stream open through nginx
    stack.aerosol.send_signal(signal.SIGTERM)
    try:
        code = stack.aerosol.wait(timeout=10)
    except subprocess.TimeoutExpired:
        fail("aerosol was still running 10 s after SIGTERM with a stream open through nginx")
    if code != 0:
        fail(f"aerosol exited with {code} after SIGTERM")
    read_until(events, ":closed shutdown", 5)
    print("behind nginx: SIGTERM closed the stream (:closed shutdown) and the server exited 0")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the aerosol binary")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx", help="the nginx binary")
    options = parser.parse_args()
    work = tempfile.mkdtemp(prefix="aerosol-deploy-")
    stack = Stack(os.path.abspath(options.binary), work)
    try:
        stack.start_aerosol()
        stack.start_nginx(options.nginx)
        check(stack)
    finally:
        stack.stop()
    shutil.rmtree(work, ignore_errors=True)
    print("behind nginx: passed")


if __name__ == "__main__":
    main()
