#!/usr/bin/env python3
"""Crash soak: kill -9 the aerosol server at random moments under load and check that nothing
acknowledged is lost.

Drives the `aerosol` binary as a black box, against one data directory, with:

* publishers: REST publishes; every event answered {"ok":true} is recorded;
* subscribers: event streams that reconnect with Last-Event-ID after every crash;
* simulated devices (`aerosol device simulate`), restarted whenever their connection ends, as
  Device OS reconnects; every publish the server ACKed is recorded from their output;
* a webhook on the `soak/hook` prefix to a local receiver that records every delivery;

and kills the server with SIGKILL at random moments, restarting it each time (and now and then
killing the restart too, during start-up and recovery). At the end it checks that

1. the whole log, replayed from Last-Event-ID 0, has strictly increasing ids and holds every
   acknowledged REST event, each publisher's in the order they were acknowledged, and at least as
   many events of each device run as the device saw ACKed;
2. every subscriber saw every acknowledged event of its prefix, in increasing id order, across
   all of its reconnections;
3. every acknowledged event matching the webhook was delivered to the receiver at least once;
4. every device reconnected after the last restart (ACKed publishes, shown online);
5. the server came back after every kill (ready within the limit);
6. memory did not grow run over run: the server's RSS a few seconds after each start, with the
   load running, is compared first third against last third (see check_memory).

Prints a summary; exits 1 on any violation, 2 on a setup failure. Binds 127.0.0.1 only, on free
ports, and ends every process it started (also on failure or Ctrl-C). Standard library only.

    python3 Tests/Soak/crash_soak.py                  # 10 minutes, .build/debug/aerosol
    python3 Tests/Soak/crash_soak.py --minutes 2      # what CI runs
    python3 Tests/Soak/crash_soak.py --minutes 60 --binary .build/release/aerosol --keep
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

EMAIL = "soak@example.com"
PASSWORD = "soak-password-1234"
HOOK_PREFIX = "soak/hook"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def die_with_parent():
    """In a child: SIGKILL when the thread of the soak that started it ends, even if the soak
    itself is killed with SIGKILL (Linux prctl PR_SET_PDEATHSIG), so no process outlives it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SetupError(Exception):
    pass


class Server:
    """The aerosol server process: started, killed with SIGKILL and restarted on one data dir."""

    def __init__(self, binary, data_dir, work, port, device_port):
        self.binary, self.data_dir, self.work = binary, data_dir, work
        self.port, self.device_port = port, device_port
        self.process = None
        self.starts = 0
        self.early_kills = 0
        self.ready_seconds = []

    def arguments(self):
        return [
            self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--device-port", str(self.device_port), "--udp-device-port", "0", "--data-dir", self.data_dir,
            "--allow-private-webhooks", "--webhook-rate-limit", "0", "--sync", "full",
            # Load from one address: the limits per client address would refuse it.
            "--rate-limits", "off",
            "--log-level", "warning",
        ]

    def start(self, ready_within=60):
        self.starts += 1
        log_file = open(os.path.join(self.work, f"server-{self.starts}.log"), "wb")
        args = self.arguments()
        started = time.monotonic()
        self.process = subprocess.Popen(
            args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent
        )
        log_file.close()
        while time.monotonic() - started < ready_within:
            if self.process.poll() is not None:
                return False
            try:
                status, _ = http_request("GET", self.url("/healthz"), timeout=1)
                if status == 200:
                    self.ready_seconds.append(time.monotonic() - started)
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def start_and_kill_early(self, delay):
        """Starts the server and kills it `delay` seconds later, ready or not (a crash during
        start-up and recovery)."""
        self.starts += 1
        self.early_kills += 1
        with open(os.path.join(self.work, f"server-{self.starts}.log"), "wb") as log_file:
            self.process = subprocess.Popen(
                self.arguments(), stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        time.sleep(delay)
        self.kill()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def rss_kib(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.work, f"server-{self.starts}.log"), errors="replace") as file:
                return "".join(file.readlines()[-lines:])
        except OSError:
            return ""


def http_request(method, url, body=None, headers=None, timeout=10):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Api:
    def __init__(self, server):
        self.server, self.token = server, None

    def call(self, method, path, fields=None, json_body=None, timeout=10):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = None
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body), "application/json"
        elif fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, data = http_request(method, self.server.url(path), body, headers, timeout)
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, data

    def login(self):
        basic = base64.b64encode(b"particle:particle").decode()
        body = urllib.parse.urlencode({"grant_type": "password", "username": EMAIL, "password": PASSWORD})
        status, data = http_request(
            "POST", self.server.url("/oauth/token"), body,
            {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 200:
            raise SetupError(f"login failed: {status} {data[:200]!r}")
        self.token = json.loads(data)["access_token"]


class Receiver:
    """The webhook target: records every delivery's event name and data."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fields = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                key = (fields.get("event", [""])[0], fields.get("data", [""])[0])
                with receiver.lock:
                    receiver.seen[key] = receiver.seen.get(key, 0) + 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the server was killed while waiting for the answer: it will retry

            def log_message(self, *args):
                pass

        class QuietServer(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # connections cut by a killed server are expected

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def deliveries(self):
        with self.lock:
            return dict(self.seen)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Publisher(threading.Thread):
    """Publishes over REST one event at a time; records the acknowledged ones in order."""

    def __init__(self, api, index, stop):
        super().__init__(daemon=True)
        self.api, self.index, self.stop = api, index, stop
        self.acked = []  # (name, data) in acknowledgement order
        self.failed = 0

    def run(self):
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            name = f"{HOOK_PREFIX}/p{self.index}" if sequence % 2 else f"soak/plain/p{self.index}"
            data = f"p{self.index}-{sequence}"
            try:
                status, body = self.api.call("POST", "/v1/devices/events", {"name": name, "data": data}, timeout=5)
                if status == 200 and isinstance(body, dict) and body.get("ok") is True:
                    self.acked.append((name, data))
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
                time.sleep(0.05)
            time.sleep(0.03)


class Subscriber(threading.Thread):
    """An event stream that reconnects with Last-Event-ID; records the events it received."""

    def __init__(self, server, api, prefix, stop):
        super().__init__(daemon=True)
        self.server, self.api, self.prefix, self.stop = server, api, prefix, stop
        self.events = []  # (id, name, data, coreid)
        # From the start of the log, so that events published before the first connection
        # was up count too; afterwards the last id received.
        self.last_id = 0
        self.connections = 0
        self.order_violations = []
        self.lock = threading.Lock()

    def run(self):
        while not self.stop.is_set():
            try:
                self.stream()
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)

    def stream(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=12)
        headers = {"Authorization": f"Bearer {self.api.token}", "Accept": "text/event-stream"}
        headers["Last-Event-ID"] = str(self.last_id)
        try:
            connection.request("GET", f"/v1/devices/events/{self.prefix}", headers=headers)
            response = connection.getresponse()
            if response.status != 200:
                return
            self.connections += 1
            name, data, event_id = None, [], None
            while not self.stop.is_set():
                line = response.readline()
                if not line:
                    return
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if data and event_id is not None:
                        self.received(int(event_id), name, "\n".join(data))
                    name, data, event_id = None, [], None
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        name = value
                    elif field == "data":
                        data.append(value)
                    elif field == "id":
                        event_id = value
        finally:
            connection.close()

    def received(self, event_id, name, data):
        with self.lock:
            if event_id <= self.last_id:
                self.order_violations.append((self.last_id, event_id))
            self.last_id = event_id
            try:
                payload = json.loads(data)
            except ValueError:
                payload = {}
            self.events.append((event_id, name, payload.get("data"), payload.get("coreid")))


class Device(threading.Thread):
    """One simulated device: `aerosol device simulate` run again whenever it exits."""

    def __init__(self, binary, work, identity, key_file, server, blob, stop):
        super().__init__(daemon=True)
        self.binary, self.work, self.id, self.key_file = binary, work, identity, key_file
        self.server, self.blob, self.stop = server, blob, stop
        self.runs = []  # [marker, started_at, acked count, time of the last ACK]
        self.process = None
        self.lock = threading.Lock()

    def run(self):
        run = 0
        while not self.stop.is_set():
            run += 1
            marker = f"{self.id[-6:]}-run{run}"
            args = [
                self.binary, "device", "simulate", "--id", self.id, "--key", self.key_file,
                "--server-key", self.blob, "--host", "127.0.0.1", "--port", str(self.server.device_port),
                "--publish", f"{HOOK_PREFIX}/dev={marker}", "--interval", "1.5",
            ]
            entry = [marker, time.monotonic(), 0, None]
            with self.lock:
                if self.stop.is_set():
                    return
                self.runs.append(entry)
                self.process = subprocess.Popen(
                    args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
                    preexec_fn=die_with_parent,
                )
            for line in self.process.stdout:
                # "published NAME=DATA" alone means the server ACKed it (after it was durable).
                if line.strip() == f"published {HOOK_PREFIX}/dev={marker}":
                    entry[2] += 1
                    entry[3] = time.monotonic()
            self.process.wait()
            time.sleep(0.5)

    def terminate(self):
        with self.lock:
            if self.process and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()


def read_whole_log(server, api, until_name, timeout=120):
    """Every event of the account from Last-Event-ID 0, until the sentinel event arrives."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    events = []
    deadline = time.monotonic() + timeout
    try:
        connection.request(
            "GET", "/v1/devices/events?last_event_id=0", headers={"Authorization": f"Bearer {api.token}"}
        )
        response = connection.getresponse()
        if response.status != 200:
            raise SetupError(f"log stream answered {response.status}")
        name, data, event_id = None, [], None
        while time.monotonic() < deadline:
            line = response.readline()
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if line == "":
                if data and event_id is not None:
                    payload = json.loads("\n".join(data))
                    events.append((int(event_id), name, payload.get("data"), payload.get("coreid")))
                    if name == until_name:
                        return events, True
                name, data, event_id = None, [], None
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
    finally:
        connection.close()
    return events, False


def setup_devices(binary, work, server, api, blob, count):
    """Generates, provisions and claims `count` device identities through the simulator's fleet
    mode, then writes each private key to a file for the single-device simulator."""
    keys_file = os.path.join(work, "device-keys.txt")
    args = [
        binary, "device", "simulate", "--count", str(count), "--keys", keys_file, "--server-key", blob,
        "--host", "127.0.0.1", "--port", str(server.device_port), "--api-url", server.url(""),
        "--token", api.token,
    ]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent
    )
    output = []
    try:
        deadline = time.monotonic() + 180
        for line in process.stdout:
            output.append(line)
            if "provisioned and claimed" in line or time.monotonic() > deadline:
                break
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if not any("provisioned and claimed" in line for line in output):
        raise SetupError("could not provision the devices:\n" + "".join(output[-20:]))
    devices = []
    with open(keys_file) as file:
        for index, line in enumerate(file):
            identity, key = line.split()
            path = os.path.join(work, f"device-{index}.der")
            with open(path, "wb") as out:
                out.write(base64.b64decode(key))
            devices.append((identity, path))
    return devices[:count]


def check_memory(samples, tolerance_ratio=1.5, tolerance_kib=48 * 1024):
    """RSS after each start + warm-up must not grow run over run: the median of the last third of
    the samples may exceed the median of the first third by at most 50 % plus 48 MiB (SQLite's
    cache filling as the database grows, allocator slack). A leak that survives restarts (state
    reloaded at start that grows with every crash) shows up as a steady climb far past that."""
    values = [value for value in samples if value]
    if len(values) < 3:
        return None, f"only {len(values)} samples"
    third = max(1, len(values) // 3)
    first, last = statistics.median(values[:third]), statistics.median(values[-third:])
    limit = first * tolerance_ratio + tolerance_kib
    verdict = f"first third median {first / 1024:.1f} MiB, last third {last / 1024:.1f} MiB, limit {limit / 1024:.1f} MiB"
    return last <= limit, verdict


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="how long to crash the server (default 10)")
    parser.add_argument("--binary", default=".build/debug/aerosol", help="the aerosol binary")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the kill moments")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--min-gap", type=float, default=4, help="least seconds between a start and its kill")
    parser.add_argument("--max-gap", type=float, default=14, help="most seconds between a start and its kill")
    parser.add_argument("--early-kills", type=float, default=0.25,
                        help="share of restarts that are killed again during start-up (default 0.25)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (it is kept on failure)")
    options = parser.parse_args()

    binary = os.path.abspath(options.binary)
    if not os.access(binary, os.X_OK):
        print(f"no aerosol binary at {binary}: build it first (swift build)", file=sys.stderr)
        return 2
    seed = options.seed if options.seed is not None else random.randrange(1 << 32)
    chaos = random.Random(seed)
    work = tempfile.mkdtemp(prefix="aerosol-soak-")
    data_dir = os.path.join(work, "data")
    log(f"crash soak: {options.minutes} min, seed {seed}, work dir {work}")

    stop = threading.Event()
    stop_devices = threading.Event()
    stop_subscribers = threading.Event()
    server = Server(binary, data_dir, work, free_port(), free_port())
    receiver = Receiver()
    threads, devices, subscribers, publishers = [], [], [], []
    violations = []
    ok = False

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        subprocess.run(
            [binary, "user", "create", EMAIL, "--password-stdin", "--data-dir", data_dir],
            input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        )
        blob = os.path.join(work, "server_key.der")
        subprocess.run(
            [binary, "keys", "server", "--address", "127.0.0.1", "--output", blob, "--data-dir", data_dir],
            check=True, capture_output=True,
        )
        if not server.start():
            raise SetupError("the server did not start:\n" + server.log_tail())
        api = Api(server)
        api.login()
        status, hook = api.call(
            "POST", "/v1/webhooks", json_body={"event": HOOK_PREFIX, "url": f"http://127.0.0.1:{receiver.port}/hook"}
        )
        if status not in (200, 201):
            raise SetupError(f"webhook creation answered {status}: {hook}")
        hook_id = hook["id"]
        identities = setup_devices(binary, work, server, api, blob, options.devices)
        log(f"set up: http {server.port}, devices {server.device_port}, receiver {receiver.port}, "
            f"{len(identities)} devices provisioned and claimed")

        for prefix in ["soak", HOOK_PREFIX]:
            subscriber = Subscriber(server, api, prefix, stop_subscribers)
            subscribers.append(subscriber)
        for index in range(options.publishers):
            publishers.append(Publisher(api, index, stop))
        for identity, key_file in identities:
            devices.append(Device(binary, work, identity, key_file, server, blob, stop_devices))
        threads = subscribers + publishers + devices
        for thread in threads:
            thread.start()

        rss = []
        kills = 0
        last_start = time.monotonic()
        end = time.monotonic() + options.minutes * 60
        while time.monotonic() < end:
            time.sleep(3)  # warm-up: the load is running again
            rss.append(server.rss_kib())
            time.sleep(max(0.0, chaos.uniform(options.min_gap, options.max_gap) - 3))
            if time.monotonic() >= end:
                break
            server.kill()
            kills += 1
            if chaos.random() < options.early_kills:
                # Now and then the restart is killed too, during start-up and recovery.
                server.start_and_kill_early(chaos.uniform(0.02, 0.5))
            if not server.start():
                violations.append(f"the server did not come back after kill {kills}:\n{server.log_tail()}")
                raise SetupError("server down")
            last_start = time.monotonic()
            log(f"kill {kills}: back in {server.ready_seconds[-1]:.2f} s (RSS after the previous start {rss[-1] or 0} KiB)")

        # Let the devices reconnect and publish after the last restart, then stop the load.
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            if all(any(at and at > last_start for *_, at in d.runs) for d in devices):
                break
            time.sleep(0.5)
        status, device_list = api.call("GET", "/v1/devices")
        online = {d["id"]: d.get("online") for d in device_list} if status == 200 else {}
        stop.set()
        for publisher in publishers:
            publisher.join()
        stop_devices.set()
        for device in devices:
            device.terminate()
        for device in devices:
            device.join(timeout=15)

        status, _ = api.call("POST", "/v1/devices/events", {"name": "soak/end", "data": "end"})
        if status != 200:
            violations.append(f"the sentinel publish answered {status}")
        log_events, complete = read_whole_log(server, api, "soak/end")
        if not complete:
            violations.append("the whole log did not reach the sentinel event")

        # 1. The log: ids strictly increasing; every acknowledged event, in order per publisher.
        ids = [event[0] for event in log_events]
        if any(b <= a for a, b in zip(ids, ids[1:])):
            violations.append("log ids are not strictly increasing")
        positions = {}
        for position, (event_id, name, data, _) in enumerate(log_events):
            positions.setdefault((name, data), []).append(event_id)
        acked_total = 0
        for publisher in publishers:
            previous = 0
            for name, data in publisher.acked:
                acked_total += 1
                found = positions.get((name, data))
                if not found:
                    violations.append(f"acknowledged event {name}={data} is missing from the log")
                    continue
                if found[0] <= previous:
                    violations.append(f"acknowledged event {name}={data} is out of order in the log")
                previous = found[0]
        device_acked = 0
        for device in devices:
            for marker, _, acked, _ in device.runs:
                device_acked += acked
                logged = len(positions.get((f"{HOOK_PREFIX}/dev", marker), []))
                if logged < acked:
                    violations.append(f"device run {marker}: {acked} publishes ACKed, {logged} in the log")

        # 2. Subscribers saw every acknowledged event of their prefix (given time to catch up).
        expected = {(n, d) for p in publishers for n, d in p.acked}
        newest = {
            s.prefix: max([i for i, n, _, _ in log_events if n.startswith(s.prefix + "/") and n != "soak/end"] or [0])
            for s in subscribers
        }
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(s.last_id < newest[s.prefix] for s in subscribers):
            time.sleep(0.5)
        stop_subscribers.set()
        for subscriber in subscribers:
            with subscriber.lock:
                seen = {(name, data) for _, name, data, _ in subscriber.events}
                orders = list(subscriber.order_violations)
            wanted = {(n, d) for n, d in expected if n.startswith(subscriber.prefix + "/")}
            missing = wanted - seen
            if missing:
                violations.append(
                    f"subscriber {subscriber.prefix}: {len(missing)} acknowledged events never received, "
                    f"e.g. {sorted(missing)[:3]}"
                )
            if orders:
                violations.append(f"subscriber {subscriber.prefix}: ids went backwards {orders[:3]}")

        # 3. Webhook deliveries: every acknowledged matching event reached the receiver.
        hook_wanted = {(n, d) for n, d in expected if n.startswith(HOOK_PREFIX + "/")}
        for device in devices:
            for marker, _, acked, _ in device.runs:
                if acked:
                    hook_wanted.add((f"{HOOK_PREFIX}/dev", marker))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            undelivered = hook_wanted - set(receiver.deliveries())
            if not undelivered:
                break
            time.sleep(1)
        undelivered = hook_wanted - set(receiver.deliveries())
        if undelivered:
            violations.append(
                f"webhook: {len(undelivered)} of {len(hook_wanted)} acknowledged events never delivered, "
                f"e.g. {sorted(undelivered)[:3]}"
            )
        status, delivery_log = api.call("GET", f"/v1/webhooks/{hook_id}/deliveries")
        attempts = len(delivery_log.get("deliveries", [])) if status == 200 and isinstance(delivery_log, dict) else 0
        duplicates = sum(count - 1 for count in receiver.deliveries().values() if count > 1)

        # 4. Devices came back after the last restart.
        for device in devices:
            if not any(at and at > last_start for *_, at in device.runs):
                violations.append(f"device {device.id} published nothing after the last restart")
            if not online.get(device.id):
                violations.append(f"device {device.id} was not online after the last restart")

        # 6. Memory run over run.
        memory_ok, memory_verdict = check_memory(rss)
        if memory_ok is False:
            violations.append(f"server memory grew run over run: {memory_verdict}")

        log("summary:")
        log(f"  server: {server.starts} starts, {kills + server.early_kills} kills with SIGKILL "
            f"({server.early_kills} during start-up), ready in "
            f"{min(server.ready_seconds):.2f}-{max(server.ready_seconds):.2f} s")
        log(f"  REST: {acked_total} events acknowledged, {sum(p.failed for p in publishers)} publishes "
            f"failed or unanswered (server down)")
        log(f"  devices: {len(devices)}, {sum(len(d.runs) for d in devices)} simulator runs, "
            f"{device_acked} publishes ACKed")
        log(f"  log: {len(log_events)} events replayed from id 0, ids {ids[0] if ids else '-'}..{ids[-1] if ids else '-'}")
        log(f"  subscribers: " + ", ".join(
            f"{s.prefix} {len(s.events)} events over {s.connections} connections" for s in subscribers))
        log(f"  webhook: {len(hook_wanted)} acknowledged matching events, {len(receiver.deliveries())} distinct "
            f"delivered, {duplicates} duplicate deliveries (at least once), {attempts} attempts in the delivery log")
        shown = [str(v // 1024) for v in rss if v]
        if len(shown) > 20:
            shown = shown[:10] + ["…"] + shown[-10:]
        log(f"  memory (RSS after each start, MiB: {' '.join(shown)}): {memory_verdict}")
        if violations:
            log(f"FAILED: {len(violations)} violations")
            for violation in violations[:50]:
                log(f"  - {violation}")
            return 1
        log("passed: nothing acknowledged was lost")
        ok = True
        return 0
    except SetupError as error:
        for violation in violations:
            log(f"  - {violation}")
        log(f"setup failed: {error}")
        return 1 if violations else 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop.set()
        stop_devices.set()
        stop_subscribers.set()
        for device in devices:
            device.terminate()
        server.kill()
        receiver.stop()
        if ok and not options.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work directory kept: {work}")


if __name__ == "__main__":
    sys.exit(main())
