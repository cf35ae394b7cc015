#!/usr/bin/env python3
"""Three Aerosol nodes on one PostgreSQL database behind nginx, as deploy/nginx-cluster.conf sets it up.

Starts three `aerosol serve` processes on one database (the first node's secret and device keys
copied to the others, as docs/cluster.md says), runs Debian's nginx with the site file
deploy/nginx-cluster.conf (its ports, upstream servers and certificate paths replaced by the
test's own; every other line as shipped), and checks through nginx, over https: publishes spread
over the nodes all reach one stream, in log order, byte for byte as SSE; a stream resumed with
Last-Event-ID misses nothing; and with one node stopped, nginx sends the requests to the others.
Run by .ci/deploy-test when AEROSOL_TEST_POSTGRES_URL names an empty database.
"""

import argparse
import base64
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import behind_nginx  # noqa: E402  (the single-node test's helpers)
from behind_nginx import EMAIL, PASSWORD, fail, free_port, read_until  # noqa: E402


def site_config(run, node_ports, https_port, http_port, cert, key):
    upstreams = {f"server 10.0.0.1{index + 1}:8080 ": f"server 127.0.0.1:{port} " for index, port in enumerate(node_ports)}
    return behind_nginx.nginx_config(run, "nginx-cluster.conf", upstreams, https_port, http_port, cert, key)


class Cluster(behind_nginx.Stack):
    def __init__(self, binary, work, database):
        super().__init__(binary, work)
        self.database = database
        self.nodes = []

    def start_node(self, index):
        data = os.path.join(self.work, f"node{index}")
        port = free_port()
        log = open(os.path.join(self.work, f"node{index}.log"), "w")
        process = subprocess.Popen(
            [
                self.binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--device-port", "0",
                "--udp-device-port", "0", "--data-dir", data, "--database", self.database,
                "--log-level", "notice", "--trusted-proxy", "127.0.0.1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.nodes.append((process, port, log))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                fail(f"node {index} exited with {process.returncode}; see {log.name}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        fail(f"node {index} was not ready within 60 s")

    def start_aerosol(self):
        first = os.path.join(self.work, "node1")
        subprocess.run(
            [self.binary, "user", "create", EMAIL, "--password", PASSWORD, "--data-dir", first, "--database", self.database],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.start_node(1)
        # Every node needs the first node's secret and device keys (docs/cluster.md).
        for index in (2, 3):
            data = os.path.join(self.work, f"node{index}")
            os.makedirs(data, mode=0o700)
            for name in ("server-secret.key", "server-key.pem", "server-key-ec.pem"):
                shutil.copy2(os.path.join(first, name), os.path.join(data, name))
            self.start_node(index)
        self.aerosol_port = self.nodes[0][1]

    def start_nginx(self, nginx):
        original = behind_nginx.site_config
        ports = [port for _, port, _ in self.nodes]
        behind_nginx.site_config = lambda run, _port, https, plain, cert, key: site_config(run, ports, https, plain, cert, key)
        try:
            super().start_nginx(nginx)
        finally:
            behind_nginx.site_config = original

    def published_on(self):
        """How many API publishes each node committed (from its own /metrics)."""
        counts = []
        for _, port, _ in self.nodes:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/metrics")
                text = connection.getresponse().read().decode()
                match = re.search(r'^aerosol_events_published_total\{source="api"\} (\d+)', text, flags=re.M)
                counts.append(int(match.group(1)) if match else 0)
            except OSError:
                counts.append(None)
        return counts

    def stop(self):
        if self.nginx and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        for process, _, log in self.nodes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()


def publish(connection, token, name, data):
    body = urllib.parse.urlencode({"name": name, "data": data})
    connection.request(
        "POST", "/v1/devices/events", body,
        {"Authorization": f"Bearer {token}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = connection.getresponse()
    if answer.status != 200 or answer.read() != b'{"ok":true}':
        fail(f"publishing through nginx answered {answer.status}")


def frames(text):
    """The event frames of a stream read raw (read_until reads the chunked body as it comes)."""
    text = re.sub(r"\r\n[0-9a-fA-F]+\r\n", "", text)
    return [frame.strip("\n") for frame in text.split("\n\n") if frame.strip("\n").startswith("event: ")]


def check(cluster):
    api = cluster.https()
    basic = base64.b64encode(b"particle:particle").decode()
    body = urllib.parse.urlencode({"grant_type": "password", "username": EMAIL, "password": PASSWORD})
    api.request("POST", "/oauth/token", body, {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    answer = api.getresponse()
    text = answer.read().decode()
    token = re.search(r'"access_token":"([0-9a-f]+)"', text)
    if answer.status != 200 or not token:
        fail(f"/oauth/token answered {answer.status} {text}")
    token = token.group(1)

    stream = cluster.https(timeout=15)
    stream.request("GET", "/v1/devices/events/cluster", headers={"Authorization": f"Bearer {token}"})
    events = stream.getresponse()
    if events.status != 200 or events.getheader("Content-Type") != "text/event-stream":
        fail(f"the stream answered {events.status}")
    read_until(events, ":ok", 10)
    # One connection per publish: least_conn spreads them over the nodes.
    for count in range(1, 13):
        publish(cluster.https(), token, "cluster/n", str(count))
    received = read_until(events, "id: 12\n", 10)
    got = frames(received)
    expected = [
        f'event: cluster/n\ndata: {{"data":"{count}","ttl":60,"published_at":"T","coreid":"api"}}\nid: {count}'
        for count in range(1, 13)
    ]
    normalized = [re.sub(r'"published_at":"[^"]+"', '"published_at":"T"', frame) for frame in got]
    if normalized != expected:
        fail(f"the stream through nginx got {normalized!r}")
    spread = cluster.published_on()
    if sum(1 for count in spread if count) < 2:
        fail(f"the publishes did not spread over the nodes: {spread}")
    print(f"cluster behind nginx: 12 publishes over the nodes ({spread}) reached one stream in order")

    # Resume from id 6 on whichever node nginx picks.
    resumed = cluster.https(timeout=15)
    resumed.request("GET", "/v1/devices/events/cluster", headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "6"})
    replay = resumed.getresponse()
    ids = re.findall(r"^id: (\d+)$", read_until(replay, "id: 12\n", 10), flags=re.M)
    if ids != [str(count) for count in range(7, 13)]:
        fail(f"the resumed stream got ids {ids}")
    print("cluster behind nginx: Last-Event-ID 6 resumed with 7…12")

    # One node stops: nginx sends requests to the others, and the open stream (if it was not on
    # that node) keeps receiving.
    process, _, _ = cluster.nodes[2]
    process.terminate()
    process.wait(timeout=15)
    for count in range(13, 19):
        publish(cluster.https(), token, "cluster/n", str(count))
    follow = cluster.https(timeout=15)
    follow.request("GET", "/v1/devices/events/cluster", headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "12"})
    ids = re.findall(r"^id: (\d+)$", read_until(follow.getresponse(), "id: 18\n", 10), flags=re.M)
    if ids != [str(count) for count in range(13, 19)]:
        fail(f"after a node stopped, the stream got ids {ids}")
    print("cluster behind nginx: with one node stopped, publishes and streams go on through the others")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the aerosol binary")
    parser.add_argument("--database", required=True, help="postgres:// URL of an empty database")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx", help="the nginx binary")
    arguments = parser.parse_args()
    work = tempfile.mkdtemp(prefix="aerosol-cluster-")
    cluster = Cluster(os.path.abspath(arguments.binary), work, arguments.database)
    try:
        cluster.start_aerosol()
        cluster.start_nginx(arguments.nginx)
        check(cluster)
    finally:
        cluster.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
