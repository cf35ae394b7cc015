"""Tests for the UDP/DTLS device test peer (particle_udp_device.py).

1. The worked vectors (``--self-test``): key schedule and records of the UDP notes, the ClientHello,
   the Goodbye example, the TCP notes' CoAP examples and option-length pitfall, the Hello layout, OTA vectors.
2. Loopback runs against ``StubServer`` below: a *minimal* DTLS 1.2 + CoAP server written here only to exercise the
   device peer (handshake, resumption, requests, OTA). It is not an oracle for the server: the real oracle for the
   peer is Aerosol's Swift server, which the Swift test suite drives this peer against. The stub deliberately
   shares no DTLS code with the peer (own PRF, own record protection); it reuses only the CoAP codec, which the
   vectors check independently.

Only 127.0.0.1 is used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import queue
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import particle_udp_device as peer  # noqa: E402
from particle_udp_device import CoAPMessage, CON, NON, ACK, RST  # noqa: E402

PEER = os.path.join(HERE, "particle_udp_device.py")


# ----------------------------------------------------------------------------------------------
# Minimal server stub (independent DTLS code)
# ----------------------------------------------------------------------------------------------


def _p_sha256(secret: bytes, label: bytes, seed: bytes, n: int) -> bytes:
    seed = label + seed
    a, out = seed, b""
    while len(out) < n:
        a = hmac.new(secret, a, "sha256").digest()
        out += hmac.new(secret, a + seed, "sha256").digest()
    return out[:n]


def _hs(t: int, seq: int, body: bytes) -> bytes:
    n = len(body).to_bytes(3, "big")
    return bytes([t]) + n + seq.to_bytes(2, "big") + b"\0\0\0" + n + body


class StubServer(threading.Thread):
    """Just enough of the server side of the UDP notes to drive the device peer: HelloVerifyRequest, ServerHello with
    an 8-byte CID, ServerKeyExchange signed with the server key, CertificateRequest, ServerHelloDone; checks the
    client's CertificateVerify and Finished; CID records in, plain records out; ACKs device CONs and answers GET /t.
    Knobs make it misbehave the ways the device must refuse (Certificate message, no CID, wrong signing key)."""

    def __init__(self, server_key, *, hello_verify=True, send_certificate=False, cid_len=8, sign_key=None,
                 auto_ack=True):
        super().__init__(daemon=True)
        self.key = server_key
        self.sign_key = sign_key or server_key
        self.hello_verify = hello_verify
        self.send_certificate = send_certificate
        self.cid_len = cid_len
        self.auto_ack = auto_ack
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.handshakes: dict = {}      # addr -> state
        self.sessions: dict = {}        # cid -> state
        self.inbox: list = []           # (record type, addr, CoAPMessage, session)
        self.datagrams: list = []       # (addr, bytes) – everything received
        self.cond = threading.Condition()
        self.cursor = 0
        self.running = True
        self.rst_next = False
        self.start()

    def stop(self):
        self.running = False
        self.join(2)
        self.sock.close()

    def run(self):
        while self.running:
            try:
                data, addr = self.sock.recvfrom(65535)
            except (socket.timeout, OSError):
                continue
            with self.cond:
                self.datagrams.append((addr, data))
            try:
                self._datagram(data, addr)
            except Exception as e:  # keep the stub alive, record the problem
                with self.cond:
                    self.inbox.append(("error", addr, repr(e), None))
                    self.cond.notify_all()

    # -- records ---------------------------------------------------------------------------------------
    def _records(self, data):
        i = 0
        while i + 13 <= len(data):
            t = data[i]
            epoch = int.from_bytes(data[i + 3:i + 5], "big")
            seq = int.from_bytes(data[i + 5:i + 11], "big")
            j = i + 11
            cid = b""
            if t in (25, 253):
                cid = data[j:j + 8]
                j += 8
            n = int.from_bytes(data[j:j + 2], "big")
            yield t, epoch, seq, cid, data[j + 2:j + 2 + n]
            i = j + 2 + n

    def _open_cid(self, s, epoch, seq, cid, frag):
        es = epoch.to_bytes(2, "big") + seq.to_bytes(6, "big")
        ct = frag[8:]
        aad = es + b"\x19\xfe\xfd" + cid + bytes([len(cid)]) + (len(ct) - 8).to_bytes(2, "big")
        inner = AESCCM(s["ckey"], 8).decrypt(s["civ"] + frag[:8], ct, aad).rstrip(b"\0")
        return inner[-1], inner[:-1]

    def _seal(self, s, ctype, payload):
        seq = s["out"]
        s["out"] += 1
        es = (1).to_bytes(2, "big") + seq.to_bytes(6, "big")
        aad = es + bytes([ctype]) + b"\xfe\xfd" + len(payload).to_bytes(2, "big")
        ct = AESCCM(s["skey"], 8).encrypt(s["siv"] + es, payload, aad)
        return bytes([ctype]) + b"\xfe\xfd" + es + (8 + len(ct)).to_bytes(2, "big") + es + ct

    def _plain(self, st, ctype, payload):
        rec = bytes([ctype]) + b"\xfe\xfd\x00\x00" + st["seq0"].to_bytes(6, "big") + len(payload).to_bytes(2, "big") + payload
        st["seq0"] += 1
        return rec

    # -- handshake -------------------------------------------------------------------------------------
    def _datagram(self, data, addr):
        for t, epoch, seq, cid, frag in self._records(data):
            if t == 22 and epoch == 0:
                self._handshake(frag, addr)
            elif t == 20:
                pass
            elif t == 25 and epoch == 1 and addr in self.handshakes and self.handshakes[addr].get("keys"):
                self._client_finished(self.handshakes[addr], cid, seq, frag, addr)
            elif t in (25, 253) and cid in self.sessions:
                s = self.sessions[cid]
                ctype, plain = self._open_cid(s, epoch, seq, cid, frag)
                s["addr"] = addr
                if ctype == 23:
                    self._coap(s, t, addr, plain)
            elif t == 22 and epoch == 1 and addr in self.handshakes and self.handshakes[addr].get("keys"):
                self._client_finished(self.handshakes[addr], b"", seq, frag, addr)   # no CID negotiated

    def _handshake(self, frag, addr):
        i = 0
        while i < len(frag):
            mtype = frag[i]
            n = int.from_bytes(frag[i + 1:i + 4], "big")
            mseq = int.from_bytes(frag[i + 4:i + 6], "big")
            body = frag[i + 12:i + 12 + n]
            raw = _hs(mtype, mseq, body)
            i += 12 + n
            if mtype == 1:
                self._client_hello(body, mseq, raw, addr)
            elif addr in self.handshakes:
                st = self.handshakes[addr]
                st["transcript"].append(raw)
                if mtype == 11:
                    st["client_spki"] = body[3:]
                elif mtype == 16:
                    st["client_point"] = body[1:]
                    st["cv_transcript"] = b"".join(st["transcript"])
                elif mtype == 15:
                    sig = body[4:]
                    pub = serialization.load_der_public_key(st["client_spki"])
                    pub.verify(sig, st["cv_transcript"], ec.ECDSA(hashes.SHA256()))
                    st["cv_ok"] = True
                if mtype == 16:
                    peer_pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), st["client_point"])
                    pms = st["eph"].exchange(ec.ECDH(), peer_pub)
                    ms = _p_sha256(pms, b"master secret", st["cr"] + st["sr"], 48)
                    kb = _p_sha256(ms, b"key expansion", st["sr"] + st["cr"], 40)
                    st["keys"] = {"ms": ms, "ckey": kb[:16], "skey": kb[16:32], "civ": kb[32:36], "siv": kb[36:40],
                                  "out": 0}

    def _client_hello(self, body, mseq, raw, addr):
        cr = body[2:34]
        sid_len = body[34]
        cl = body[35 + sid_len]
        cookie = body[36 + sid_len:36 + sid_len + cl]
        st = self.handshakes.get(addr)
        if st is None or st.get("cr") != cr:
            st = {"seq0": 0, "cr": cr, "client_hello_bodies": []}
            self.handshakes[addr] = st
        st["client_hello_bodies"].append(body)
        want_cookie = hashlib.sha256(cr).digest()[:16]
        if self.hello_verify and cookie != want_cookie:
            hvr = b"\xfe\xff" + bytes([len(want_cookie)]) + want_cookie
            self.sock.sendto(self._plain(st, 22, _hs(3, 0, hvr)), addr)
            return
        st["sr"] = os.urandom(32)
        st["eph"] = ec.generate_private_key(ec.SECP256R1())
        st["cid"] = os.urandom(8)
        seq = mseq
        exts = b"\xff\x01\x00\x01\x00" + b"\x00\x0b\x00\x02\x01\x00"
        if self.cid_len:
            c = st["cid"][: self.cid_len]
            exts += b"\x00\xfe" + (len(c) + 1).to_bytes(2, "big") + bytes([len(c)]) + c
            st["cid"] = c
        exts += b"\x00\x13\x00\x01\x02\x00\x14\x00\x01\x02"
        sh = b"\xfe\xfd" + st["sr"] + b"\x00" + b"\xc0\xae\x00" + len(exts).to_bytes(2, "big") + exts
        msgs = [_hs(2, seq, sh)]
        seq += 1
        if self.send_certificate:
            spki = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
            msgs.append(_hs(11, seq, len(spki).to_bytes(3, "big") + spki))
            seq += 1
        point = st["eph"].public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        params = b"\x03\x00\x17" + bytes([len(point)]) + point
        sig = self.sign_key.sign(cr + st["sr"] + params, ec.ECDSA(hashes.SHA256()))
        msgs.append(_hs(12, seq, params + b"\x04\x03" + len(sig).to_bytes(2, "big") + sig))
        seq += 1
        msgs.append(_hs(13, seq, b"\x01\x40\x00\x02\x04\x03\x00\x00"))
        seq += 1
        msgs.append(_hs(14, seq, b""))
        seq += 1
        st["out_seq"] = seq
        st["transcript"] = [raw] + msgs
        st.pop("keys", None)
        self.sock.sendto(b"".join(self._plain(st, 22, m) for m in msgs), addr)

    def _client_finished(self, st, cid, seq, frag, addr):
        k = st["keys"]
        if cid:
            ctype, fin = self._open_cid(k, 1, seq, cid, frag)
        else:
            es = (1).to_bytes(2, "big") + seq.to_bytes(6, "big")
            aad = es + b"\x16\xfe\xfd" + (len(frag) - 16).to_bytes(2, "big")
            ctype, fin = 22, AESCCM(k["ckey"], 8).decrypt(k["civ"] + frag[:8], frag[8:], aad)
        assert ctype == 22 and fin[0] == 20
        want = _p_sha256(k["ms"], b"client finished", hashlib.sha256(b"".join(st["transcript"])).digest(), 12)
        assert fin[12:] == want, "client Finished mismatch"
        st["transcript"].append(fin)
        sv = _p_sha256(k["ms"], b"server finished", hashlib.sha256(b"".join(st["transcript"])).digest(), 12)
        session = dict(k, cid=cid, addr=addr, device_spki=st.get("client_spki"), cv_ok=st.get("cv_ok"))
        out = self._plain(st, 20, b"\x01") + self._seal(session, 22, _hs(20, st["out_seq"], sv))
        self.sessions[cid] = session
        del self.handshakes[addr]
        self.sock.sendto(out, addr)
        with self.cond:
            self.inbox.append(("handshake", addr, None, session))
            self.cond.notify_all()

    # -- CoAP -----------------------------------------------------------------------------------------
    def _coap(self, s, rtype, addr, plain):
        msg = CoAPMessage.decode(plain)
        with self.cond:
            self.inbox.append((rtype, addr, msg, s))
            self.cond.notify_all()
        if msg.type == CON and self.auto_ack:
            if self.rst_next:
                self.rst_next = False
                self.send(s, CoAPMessage(RST, 0, msg.mid))
            elif msg.uri_path[:1] == ["t"]:
                self.send(s, CoAPMessage(ACK, 0x45, msg.mid, msg.token, [], struct.pack(">I", int(time.time()))))
            else:
                self.send(s, CoAPMessage(ACK, 0, msg.mid))

    def send(self, s, msg):
        self.sock.sendto(self._seal(s, 23, msg.encode()), s["addr"])

    def session(self):
        return next(iter(self.sessions.values()))

    def wait(self, pred, timeout=10.0, what="message"):
        """Next inbox entry after the cursor that satisfies pred(kind, addr, msg)."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(self.cursor, len(self.inbox)):
                    e = self.inbox[i]
                    if e[0] == "error":
                        raise AssertionError(f"stub error: {e[2]}")
                    if pred(*e[:3]):
                        self.cursor = i + 1
                        return e
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"stub: no {what} within {timeout}s; inbox: "
                                         f"{[(e[0], e[2].describe() if hasattr(e[2], 'describe') else e[2]) for e in self.inbox[self.cursor:]]}")
                self.cond.wait(left)

    def wait_path(self, path, timeout=10.0):
        return self.wait(lambda k, a, m: m is not None and hasattr(m, "uri_path") and "/".join(m.uri_path) == path,
                         timeout, f"request /{path}")


# ----------------------------------------------------------------------------------------------
# Driving the peer as the Swift tests will: a subprocess, JSON lines
# ----------------------------------------------------------------------------------------------


class DeviceProcess:
    def __init__(self, tmp_path, server_port, server_spki_file, *extra, key_name="device.der"):
        self.args = [sys.executable, PEER, "--server", f"127.0.0.1:{server_port}", "--server-key", server_spki_file,
                     "--device-key", str(tmp_path / key_name), "--short-timers", "--keepalive", "0", *extra]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.lines: list = []
        self.q: queue.Queue = queue.Queue()
        self.cursor = 0
        self.result_cursor = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.expect("ready")

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(json.loads(line))
        self.q.put(None)

    def send(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def expect(self, type_, timeout=15.0, _cursor="cursor", **match):
        """Next line of `type_` with the given fields, after the previous match (results keep their own cursor,
        so waiting for a command's result does not skip the observations before it)."""
        end = time.monotonic() + timeout
        while True:
            for i in range(getattr(self, _cursor), len(self.lines)):
                ln = self.lines[i]
                if ln.get("type") == type_ and all(ln.get(k) == v for k, v in match.items()):
                    setattr(self, _cursor, i + 1)
                    return ln
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"device: no {type_} {match}; last lines: {self.lines[-15:]}; "
                                     f"stderr: {self.proc.stderr.read() if self.proc.poll() is not None else ''}")
            try:
                item = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if item is None:
                raise AssertionError(f"device exited; lines: {self.lines[-15:]}; stderr: {self.proc.stderr.read()}")
            self.lines.append(item)

    def run(self, timeout=20.0, **cmd):
        """Send a command and return its result line (asserting ok unless ok=False is expected by the caller)."""
        self.send(**cmd)
        return self.expect("result", timeout, _cursor="result_cursor", cmd=cmd["cmd"])

    def seen(self, type_, **match):
        while not self.q.empty():
            item = self.q.get()
            if item is not None:
                self.lines.append(item)
        return [ln for ln in self.lines if ln.get("type") == type_ and all(ln.get(k) == v for k, v in match.items())]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send(cmd="quit")
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def server_key(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    blob = peer.make_server_key_blob(spki, "127.0.0.1", 5684)
    path = tmp_path / "server_key.der"
    path.write_bytes(blob)
    return key, str(path)


@pytest.fixture
def stub(server_key):
    s = StubServer(server_key[0])
    yield s
    s.stop()


@pytest.fixture
def device(tmp_path, stub, server_key):
    procs = []

    def make(*extra, key_name="device.der"):
        d = DeviceProcess(tmp_path, stub.port, server_key[1], *extra, key_name=key_name)
        procs.append(d)
        return d
    yield make
    for d in procs:
        d.close()


# ----------------------------------------------------------------------------------------------
# 1. Vectors
# ----------------------------------------------------------------------------------------------


def test_self_test_vectors():
    failed = [(n, d) for n, ok, d in peer.self_test() if not ok]
    assert not failed, failed


def test_self_test_command_line():
    r = subprocess.run([sys.executable, PEER, "--self-test"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ", 0 failed" in r.stdout


# ----------------------------------------------------------------------------------------------
# 2. Handshake against the stub (library level)
# ----------------------------------------------------------------------------------------------


def _client(stub, server_pub, **kw):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.connect(("127.0.0.1", stub.port))
    key = ec.generate_private_key(ec.SECP256R1())
    return peer.DTLSClient(sock, key, server_pub, timer_scale=0.05, **kw), key, sock


def test_handshake_with_hello_verify_and_cid(stub, server_key):
    client, key, sock = _client(stub, server_key[0].public_key())
    result = client.run()
    sock.close()
    assert result.hello_verify
    s = stub.session()
    assert result.session.cid == s["cid"] and len(s["cid"]) == 8
    assert s["cv_ok"], "CertificateVerify checked by the stub"
    assert s["device_spki"] == peer.spki_der(key.public_key())
    assert result.session.out_ctr == 1, "Finished used epoch 1 sequence 0"
    keys = result.session.keys()
    assert keys.client_key == s["ckey"] and keys.server_iv == s["siv"]


def test_client_hello_on_the_wire(stub, server_key):
    client, _, sock = _client(stub, server_key[0].public_key(), client_random=bytes(range(32)))
    client.run()
    sock.close()
    first = stub.datagrams[0][1]
    body = peer.client_hello_body(bytes(range(32)))
    assert first == bytes.fromhex("16fefd0000000000000000") + (12 + 91).to_bytes(2, "big") + \
        bytes.fromhex("0100005b000000000000005b") + body
    second = stub.datagrams[1][1]
    assert second[13] == 1 and second[17:19] == b"\x00\x01", "the ClientHello with cookie has message_seq 1"
    assert second[5:11] == (1).to_bytes(6, "big"), "record sequence 1"


def test_refuses_server_certificate_message(server_key):
    s = StubServer(server_key[0], send_certificate=True)
    try:
        client, _, sock = _client(s, server_key[0].public_key())
        with pytest.raises(peer.HandshakeError, match="Certificate"):
            client.run()
        sock.close()
    finally:
        s.stop()


def test_requires_8_byte_cid(server_key):
    s = StubServer(server_key[0], cid_len=0)
    try:
        client, _, sock = _client(s, server_key[0].public_key())
        with pytest.raises(peer.HandshakeError, match="connection ID"):
            client.run()
        sock.close()
    finally:
        s.stop()


def test_rejects_wrong_server_key(server_key):
    s = StubServer(server_key[0], sign_key=ec.generate_private_key(ec.SECP256R1()))
    try:
        client, _, sock = _client(s, server_key[0].public_key())
        with pytest.raises(peer.HandshakeError, match="signature"):
            client.run()
        sock.close()
    finally:
        s.stop()


def test_handshake_timeout_with_no_server():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))        # bound, never answers
    sock.connect(dead.getsockname())
    client = peer.DTLSClient(sock, ec.generate_private_key(ec.SECP256R1()),
                             ec.generate_private_key(ec.SECP256R1()).public_key(), timer_scale=0.01)
    t0 = time.monotonic()
    with pytest.raises(peer.HandshakeError, match="timeout"):
        client.run()
    # sends at 0, 3, 9, 21 s; the 24 s step expires at 45 s (mbedTLS handshake_timeout 3000..24000)
    assert client.transmissions == 4
    assert time.monotonic() - t0 < 5
    sock.close()
    dead.close()


# ----------------------------------------------------------------------------------------------
# 3. The command-line peer end to end against the stub
# ----------------------------------------------------------------------------------------------


def _connect(stub, dev):
    r = dev.run(cmd="connect")
    assert r["ok"], r
    return r


def test_full_connect_sequence(stub, device):
    dev = device("--variable", "temp:double:21.5", "--function", "led:len", "--subscribe", "srv/")
    r = _connect(stub, dev)
    assert r["resumed"] is False and r["hello_sent"] is True and len(r["cid"]) == 16
    kind, addr, hello, s = stub.wait_path("h")
    assert hello.type == CON and hello.token == b""
    p = hello.payload
    assert len(p) == 32 and p[4:6] == b"\x00\xf6" and p[9] == 12
    assert p[10:22].hex() == dev.ready["device_id"]
    assert struct.unpack(">HHIH", p[22:32]) == (6200, 1152, 1536000, 512)
    assert s["device_spki"].hex() == dev.ready["public_key_der"]
    _, _, sysd, _ = stub.wait(lambda k, a, m: m and m.uri_path == ["d"] and m.opt(15) == [b"\x01"])
    assert len(sysd.token) == 1 and json.loads(sysd.payload)["p"] == 12
    stub.wait_path("t")
    stub.wait_path("E/particle/device/updates/enabled")
    stub.wait_path("E/particle/device/updates/forced")
    _, _, appd, _ = stub.wait(lambda k, a, m: m and m.uri_path == ["d"] and m.opt(15) == [b"\x02"])
    assert json.loads(appd.payload) == {"f": ["led"], "v": {"temp": 9}}
    stub.wait(lambda k, a, m: m and m.uri_path == ["e", "particle"] and m.opt(15) == [b"u"])
    stub.wait(lambda k, a, m: m and m.uri_path == ["e", "spark"] and m.opt(15) == [b"u"])
    stub.wait(lambda k, a, m: m and m.uri_path == ["e", "srv/"] and not m.opt(15))
    t = dev.expect("time")
    assert abs(t["skew"]) < 5
    assert not dev.seen("violation")


def test_variables_functions_events_ping(stub, device):
    dev = device("--variable", "temp:double:21.5", "--function", "led:len", "--subscribe", "srv/")
    _connect(stub, dev)
    s = stub.session()
    stub.send(s, CoAPMessage(CON, 0x01, 0x1003, b"\x08", [(11, b"v"), (11, b"temp")]))
    stub.wait(lambda k, a, m: m and m.type == ACK and m.mid == 0x1003 and m.code == 0)
    _, _, resp, _ = stub.wait(lambda k, a, m: m and m.token == b"\x08" and m.code == 0x45)
    assert resp.type == CON and resp.payload == struct.pack("<d", 21.5)
    dev.expect("variable_request", name="temp", found=True)
    arg = b"x" * 14                                          # the option-length pitfall length
    stub.send(s, CoAPMessage(CON, 0x02, 0x1004, b"\x09", [(11, b"f"), (11, b"led"), (15, arg)]))
    _, _, fr, _ = stub.wait(lambda k, a, m: m and m.token == b"\x09" and m.code == 0x44)
    assert fr.type == CON and fr.payload == struct.pack(">i", 14)
    assert dev.expect("function_call", name="led")["arg_length"] == 14
    stub.send(s, CoAPMessage(CON, 0x02, 0x1005, b"", [(11, b"e"), (11, b"srv/ping")], b"hi"))
    stub.wait(lambda k, a, m: m and m.type == ACK and m.mid == 0x1005)
    ev = dev.expect("event", name="srv/ping")
    assert ev["data"] == "hi" and ev["con"] and ev["subscribed"]
    # duplicate server CON: cached ACK, not processed again
    stub.send(s, CoAPMessage(CON, 0x02, 0x1005, b"", [(11, b"e"), (11, b"srv/ping")], b"hi"))
    dev.expect("duplicate", mid=0x1005)
    stub.send(s, CoAPMessage(CON, 0x00, 0x1006))
    stub.wait(lambda k, a, m: m and m.type == ACK and m.mid == 0x1006)
    r = dev.run(cmd="ping")
    assert r["ok"] and r["code"] == "0.00"
    r = dev.run(cmd="publish", name="temp", data="21.5", ttl=120)
    assert r["ok"]
    _, _, pub, _ = stub.wait_path("E/temp")
    assert pub.type == CON and pub.first(14) == (120).to_bytes(3, "big") and pub.payload == b"21.5"
    stub.send(s, CoAPMessage(CON, 0x01, 0x1007, b"\x0a", [(11, b"d")]))          # no flags query
    _, _, nak, _ = stub.wait(lambda k, a, m: m and m.mid == 0x1007)
    assert nak.type == ACK and nak.code == 0x80
    assert len(dev.seen("event", name="srv/ping")) == 1


def test_resume_from_new_port_with_253_marker(stub, device):
    dev = device()
    first = _connect(stub, dev)
    dev.run(cmd="disconnect")
    stub.cursor = len(stub.inbox)
    r = dev.run(cmd="connect")
    assert r["ok"] and r["resumed"] and not r["hello_sent"] and r["local_port"] != first["local_port"]
    kind, addr, ping, _ = stub.wait(lambda k, a, m: m is not None and not isinstance(m, str))
    assert kind == 253 and ping.type == CON and ping.code == 0 and addr[1] == r["local_port"]
    kind2, _, ev, _ = stub.wait_path("E/particle/device/updates/enabled")
    assert kind2 == 25, "records are CID records again once the device received something"
    dev.expect("resume_confirmed")
    assert not [e for e in stub.inbox[stub.cursor - 2:] if e[2] is not None and hasattr(e[2], "uri_path")
                and e[2].uri_path == ["h"]]
    assert len([e for e in stub.inbox if e[0] == "handshake"]) == 1


def test_goodbye_sleep_and_resume(stub, device):
    dev = device()
    _connect(stub, dev)
    r = dev.run(cmd="goodbye", cloud_reason=6, sleep=600)
    assert r["ok"] and r["acked"] and r["payload_hex"] == "0506d804"
    _, _, gb, _ = stub.wait_path("x")
    assert gb.type == CON and gb.payload == bytes.fromhex("0506d804")
    assert dev.run(cmd="connect")["resumed"]
    stub.cursor = len(stub.inbox)
    r = dev.run(cmd="sleep", seconds=0.2, timeout=30)
    assert r["ok"] and r["resumed"] and r["goodbye"]["payload_hex"] == "0506" + "01"
    dev.expect("sleeping")
    _, _, gb, _ = stub.wait_path("x")
    assert gb.payload == bytes.fromhex("050601")
    assert len([e for e in stub.inbox if e[0] == "handshake"]) == 1


def test_session_file_survives_process_restart(stub, device, tmp_path):
    sf = str(tmp_path / "session.json")
    dev = device("--session-file", sf)
    _connect(stub, dev)
    dev.close()
    dev2 = device("--session-file", sf)
    assert dev2.ready["session_loaded"]
    r = dev2.run(cmd="connect")
    assert r["ok"] and r["resumed"]
    assert len([e for e in stub.inbox if e[0] == "handshake"]) == 1


def test_resume_with_changed_state_sends_hello(stub, device):
    dev = device()
    _connect(stub, dev)
    dev.run(cmd="set", system_version=6300)
    dev.run(cmd="disconnect")
    stub.cursor = len(stub.inbox)
    r = dev.run(cmd="connect")
    assert r["resumed"] and r["hello_sent"]
    kind, _, hello, _ = stub.wait(lambda k, a, m: m is not None and hasattr(m, "uri_path"))
    assert kind == 253 and hello.uri_path == ["h"]
    assert struct.unpack(">H", hello.payload[22:24])[0] == 6300


def test_unanswered_resume_falls_back_to_handshake(stub, device):
    dev = device("--timer-scale", "0.02")
    _connect(stub, dev)
    dev.run(cmd="disconnect")
    stub.sessions.clear()                    # "server restarted and lost its sessions"
    r = dev.run(cmd="connect", timeout=30)
    assert r["ok"] and not r["resumed"] and r["fallback"]
    dev.expect("con_timeout", kind="resume_ping")
    dev.expect("session_discarded")


def test_rst_and_key_change_discard_the_session(stub, device):
    dev = device()
    _connect(stub, dev)
    stub.rst_next = True
    dev.run(cmd="ping")
    dev.expect("session_discarded", reason="Received RST message")
    r = dev.run(cmd="connect")
    assert not r["resumed"]
    s = stub.sessions[bytes.fromhex(r["cid"])]
    stub.send(s, CoAPMessage(CON, 0x03, 0x2001, b"\x01", [(11, b"k"), (15, b"\x01")]))
    stub.wait(lambda k, a, m: m and m.type == ACK and m.mid == 0x2001)
    dev.expect("session_discarded", reason="key change (/k)")


def test_unacknowledged_con_discards_session(stub, device):
    dev = device("--timer-scale", "0.02")
    _connect(stub, dev)
    stub.auto_ack = False
    r = dev.run(cmd="publish", name="lost", data="x", timeout=30)
    assert not r["ok"]
    assert len([e for e in stub.inbox if e[2] is not None and hasattr(e[2], "uri_path")
                and e[2].uri_path == ["E", "lost"]]) == 4, "sent once, retransmitted 3 times"
    dev.expect("session_discarded")


# ----------------------------------------------------------------------------------------------
# 4. Firmware update, device side
# ----------------------------------------------------------------------------------------------


def _coap_entries(stub, pred):
    return [e for e in stub.inbox if e[2] is not None and hasattr(e[2], "uri_path") and pred(e[2])]


def _after_reboot(stub, dev, module, flags):
    """The device says Goodbye (system reset, reason update), resumes (253) and sends a Hello describing the new
    module."""
    dev.expect("rebooting", applied=True)
    _, _, gb, _ = stub.wait_path("x")
    assert gb.payload == peer.goodbye_payload(cloud_reason=5, reset_reason=70) == bytes.fromhex("030546")
    kind, _, hello, _ = stub.wait_path("h")
    assert kind == 253
    assert hello.payload[4:6] == (flags | 1).to_bytes(2, "big"), "flag 0x01: previous OTA succeeded"
    rep = peer.inspect_module(module, 12)
    assert struct.unpack(">H", hello.payload[2:4])[0] == rep["product_version"]
    _, _, sysd, _ = stub.wait(lambda k, a, m: m and m.uri_path == ["d"] and m.opt(15) == [b"\x01"])
    users = [m for m in json.loads(sysd.payload)["m"] if m["f"] == "u"]
    assert users[0]["u"].lower() == rep["sha256"]
    stub.wait_path("E/spark/device/last_reset")
    assert dev.expect("connected")["resumed"]


def test_legacy_fast_ota_with_missed_chunk(stub, device):
    dev = device("--flags", "0x76")
    _connect(stub, dev)
    dev.run(cmd="ota", drop_chunk=2)
    module = peer.build_test_module(body=os.urandom(2600), product_version=7)
    s = stub.session()
    begin = struct.pack(">BHIBI", 1, 512, len(module), 0, 0)
    stub.send(s, CoAPMessage(CON, 0x02, 0x3001, b"\x07", [(11, b"u")], begin))
    stub.wait(lambda k, a, m: m and m.type == ACK and m.mid == 0x3001 and m.code == 0)
    _, _, ready, _ = stub.wait(lambda k, a, m: m and m.token == b"\x07" and m.code == 0x44)
    assert ready.type == CON and ready.payload == b"\x01", "UpdateReady: fast OTA accepted"
    chunks = [module[i:i + 512] for i in range(0, len(module), 512)]

    def send_chunk(i, mid):
        stub.send(s, CoAPMessage(NON, 0x02, mid, b"\x08", [(11, b"c"), (15, peer.crc32(chunks[i]).to_bytes(4, "big")),
                                                           (15, i.to_bytes(2, "big"))], chunks[i]))
    for i in range(len(chunks)):
        send_chunk(i, 0x3100 + i)
    dev.expect("ota_chunk", index=len(chunks) - 1)
    stub.send(s, CoAPMessage(CON, 0x03, 0x3002, b"\x09", [(11, b"u")]))
    _, _, nak, _ = stub.wait(lambda k, a, m: m and m.mid == 0x3002)
    assert nak.type == ACK and nak.code == 0x80
    _, _, missed, _ = stub.wait(lambda k, a, m: m and m.uri_path == ["c"] and m.code == 0x01)
    assert missed.type == CON and missed.payload == b"\x00\x02"
    send_chunk(2, 0x3200)
    dev.expect("ota_chunk", index=2)
    stub.send(s, CoAPMessage(CON, 0x03, 0x3003, b"\x0a", [(11, b"u")]))
    _, _, done, _ = stub.wait(lambda k, a, m: m and m.mid == 0x3003)
    assert done.type == ACK and done.code == 0x44 and done.payload == b'{"r":0}'
    c = dev.expect("ota_complete")
    assert c["crc32_ok"] and c["sha256_ok"] and c["result"] == 0
    _after_reboot(stub, dev, module, 0x76)


def test_legacy_normal_ota_with_corrupted_chunk(stub, device):
    dev = device("--flags", "0x76")
    _connect(stub, dev)
    dev.run(cmd="ota", corrupt_chunk=1, fast=False)
    module = peer.build_test_module(body=os.urandom(1200))
    s = stub.session()
    stub.send(s, CoAPMessage(CON, 0x02, 0x3001, b"\x07", [(11, b"u")], struct.pack(">BHIBI", 1, 512, len(module), 0, 0)))
    _, _, ready, _ = stub.wait(lambda k, a, m: m and m.token == b"\x07" and m.code == 0x44)
    assert ready.payload == b"\x00", "fast OTA refused by configuration"
    chunks = [module[i:i + 512] for i in range(0, len(module), 512)]
    i, mid = 0, 0x3300
    codes = []
    while i < len(chunks):
        tk = bytes([0x20 + mid % 200])
        stub.send(s, CoAPMessage(CON, 0x02, mid, tk, [(11, b"c"), (15, peer.crc32(chunks[i]).to_bytes(4, "big"))], chunks[i]))
        _, _, r, _ = stub.wait(lambda k, a, m: m and m.token == tk and m.code in (0x44, 0x80))
        codes.append(r.code)
        if r.code == 0x44:
            i += 1
        mid += 1
    assert codes == [0x44, 0x80, 0x44, 0x44], "chunk 1 got 4.00 (CRC) and was resent"
    stub.send(s, CoAPMessage(CON, 0x03, 0x3003, b"\x0a", [(11, b"u")]))
    _, _, done, _ = stub.wait(lambda k, a, m: m and m.mid == 0x3003)
    assert done.payload == b'{"r":0}'
    _after_reboot(stub, dev, module, 0x76)


def test_v3_ota_with_gap_disconnect_and_resume(stub, device):
    dev = device()
    _connect(stub, dev)
    dev.run(cmd="ota", drop_chunk=1, disconnect_after_chunk=3)
    module = peer.build_test_module(body=os.urandom(4500), product_version=9)
    sha = hashlib.sha256(module).digest()
    s = stub.session()
    u = peer.uint_bytes

    def start(mid, tk):
        stub.send(s, CoAPMessage(CON, 0x02, mid, tk, [(11, b"S"), (2057, u(len(module))), (2061, sha), (2065, u(512))]))
        stub.wait(lambda k, a, m: m and m.type == ACK and m.mid == mid and m.code == 0)
        _, _, created, _ = stub.wait(lambda k, a, m: m and m.token == tk and m.code == 0x41)
        assert created.type == CON and peer.uint_value(created.first(2053)) == 256
        return peer.uint_value(created.first(2057))

    def chunk(idx, offset, mid):
        a = offset + (idx - 1) * 512
        stub.send(s, CoAPMessage(NON, 0x02, mid, b"", [(11, b"C"), (2049, u(idx))], module[a:a + 512]))

    assert start(0x4001, b"\x61") == 0
    for idx in range(1, 5):
        chunk(idx, 0, 0x4100 + idx)
    assert dev.expect("ota_interrupted")["bytes_held"] == 512
    dev.expect("disconnected", reason="ota disconnect_after_chunk")
    _, _, gap_ack, _ = stub.wait(lambda k, a, m: m and m.uri_path == ["A"] and m.payload)
    assert gap_ack.type == NON and peer.uint_value(gap_ack.first(2049)) == 1
    assert gap_ack.payload == b"\x02\x00\x00\x00", "selective ACK: chunk 3 received past the gap at 2"
    assert dev.run(cmd="connect")["resumed"]
    s = stub.session()
    offset = start(0x4002, b"\x62")
    assert offset == 512, "File-Size in the 2.01 = bytes held from the interrupted transfer"
    count = math.ceil((len(module) - offset) / 512)
    for idx in range(1, count + 1):
        chunk(idx, offset, 0x4200 + idx)
    stub.wait(lambda k, a, m: m and m.uri_path == ["A"] and peer.uint_value(m.first(2049)) == count)
    stub.send(s, CoAPMessage(CON, 0x02, 0x4003, b"\x63", [(11, b"F")]))
    _, _, fin, _ = stub.wait(lambda k, a, m: m and m.token == b"\x63" and m.code == 0x44)
    stats = json.loads(fin.payload)
    assert fin.type == CON and stats["recv_chunks"] == count
    c = dev.expect("ota_complete")
    assert c["ok"] and c["file_sha256_ok"]
    _after_reboot(stub, dev, module, 0xF6)


def test_v3_refusals(stub, device):
    dev = device()
    _connect(stub, dev)
    s = stub.session()
    u = peer.uint_bytes
    stub.send(s, CoAPMessage(CON, 0x02, 0x5001, b"\x71", [(11, b"S"), (2057, u(1000)), (2065, u(500))]))
    _, _, bad, _ = stub.wait(lambda k, a, m: m and m.mid == 0x5001)
    assert bad.type == ACK and bad.code == 0xA3 and json.loads(bad.payload) == {"code": -240, "message": "Invalid chunk size: 500"}
    dev.run(cmd="ota", refuse=True)
    stub.send(s, CoAPMessage(CON, 0x02, 0x5002, b"\x72", [(11, b"S"), (2057, u(1000)), (2065, u(512))]))
    _, _, err, _ = stub.wait(lambda k, a, m: m and m.token == b"\x72" and m.code == 0xA3)
    assert err.type == CON and json.loads(err.payload)["code"] == -1380
    dev.expect("disconnected", reason="ota error acknowledged")
    stub.send(s, CoAPMessage(NON, 0x02, 0x5003, b"", [(11, b"u")], b"\x00" * 12))   # legacy request: ignored


# ----------------------------------------------------------------------------------------------
# 5. Generations and options
# ----------------------------------------------------------------------------------------------


def test_pre_3_1_device_offers_no_cid(server_key):
    s = StubServer(server_key[0], cid_len=0)
    try:
        client, _, sock = _client(s, server_key[0].public_key(), offer_cid=False)
        result = client.run()
        sock.close()
        assert result.session.cid is None
        assert len(s.handshakes) == 0 and len(s.sessions) == 1
        assert len(s.datagrams[0][1]) == 13 + 12 + 86
    finally:
        s.stop()
    s = StubServer(server_key[0], cid_len=8)
    try:
        client, _, sock = _client(s, server_key[0].public_key(), offer_cid=False)
        with pytest.raises(peer.HandshakeError, match="unsolicited connection_id"):
            client.run()
        sock.close()
    finally:
        s.stop()


def test_protobuf_system_describe(stub, device):
    dev = device("--describe-format", "protobuf")
    _connect(stub, dev)
    _, _, sysd, _ = stub.wait(lambda k, a, m: m and m.uri_path == ["d"] and m.opt(15) == [b"\x01"])
    raw = sysd.encode()
    assert raw[:2] == b"\x41\x02" and raw[5:11] == bytes.fromhex("b164112a3101") and raw[11] == 0xFF
    assert sysd.payload[0] == 0x0A, "field 1 (firmware_modules), length-delimited"
    s = stub.session()
    stub.send(s, CoAPMessage(CON, 0x01, 0x6001, b"\x33", [(11, b"d"), (15, b"\x01")]))
    _, _, resp, _ = stub.wait(lambda k, a, m: m and m.token == b"\x33" and m.code == 0x45)
    assert resp.type == CON and resp.first(12) == b"\x2a" and resp.payload == sysd.payload


def test_keepalive_ping(stub, device):
    dev = device()
    _connect(stub, dev)
    dev.run(cmd="set", keepalive=0.5)
    dev.expect("keepalive_ping", timeout=5)
    stub.wait(lambda k, a, m: m and m.type == CON and m.code == 0 and not m.uri_path)
    r = dev.run(cmd="wait_for", type="keepalive_ping", timeout=5)
    assert r["ok"]
    assert not dev.seen("ping_timeout")


def test_print_key_and_blob(tmp_path, server_key):
    r = subprocess.run([sys.executable, PEER, "--device-key", str(tmp_path / "k.der"), "--print-key"],
                       capture_output=True, text=True, timeout=30)
    line = json.loads(r.stdout)
    assert line["type"] == "key" and len(bytes.fromhex(line["public_key_der"])) == 91
    assert len((tmp_path / "k.der").read_bytes()) == 121
    out = tmp_path / "blob.der"
    subprocess.run([sys.executable, PEER, "--server-key", server_key[1], "--server", "127.0.0.1:5684",
                    "--write-server-blob", str(out)], check=True, timeout=30)
    assert out.read_bytes() == (tmp_path / "server_key.der").read_bytes()
