#!/usr/bin/env python3
"""An independent Particle Gen3/Gen4 device speaking the UDP/DTLS device protocol.

This is a *test peer* for Aerosol's device gateway. It is written from the protocol notes only
(never from the server's code), so that a misreading on the server side cannot pass both sides.

Layers (each class says which protocol rule it implements):

* keys and key files ........ ``load_device_key``, ``load_server_key``, ``make_server_key_blob``
* key schedule .............. ``prf``, ``derive_master_secret``, ``derive_key_block`` (TLS 1.2 PRF, no EMS)
* ``RecordLayer`` ........... AES-128-CCM-8 records: the device's CID records (draft-05 AAD, inner plaintext
                              padded to 16), the server's plain records, replay window, resume markers
* ``DTLSClient`` ............ the DTLS 1.2 client handshake exactly as Device OS runs it (raw public keys,
                              no server Certificate, HelloVerifyRequest, connection ID extension 254)
* ``CoAPMessage``/``CoAPDevice`` the device's CoAP behaviour over DTLS: Hello, Describe, events,
                              subscriptions, variables, functions, time, ping, Goodbye, key change, RST,
                              CON retransmission and duplicate detection, session resumption
* ``OTAReceiver`` ........... firmware update, legacy (UpdateBegin/Chunk/UpdateDone/ChunkMissed) and v3
                              (UpdateStart/UpdateChunk/UpdateAck/UpdateFinish), module CRC-32/SHA-256 checks

Driving it from a test (one process = one device)
--------------------------------------------------

    particle_udp_device.py --server 127.0.0.1:PORT --server-key server.der --device-key dev.der \
        [--device-id HEX24] [--session-file s.json] [--short-timers] [--keepalive 0] [--trace] \
        [--variable temp:double:21.5] [--function led:len] [--subscribe srv/] [--flags 0x00F6] \
        [--device-os 6.2.0] [--describe-format json|protobuf] [--platform-id 12] [--product-version N]

``--server-key`` takes the 320-byte UDP blob, a SPKI DER or a PEM file; ``--device-key`` is created (SEC1 DER) if
missing. The first stdout line is ``{"type":"ready","device_id":…,"public_key_der":<SPKI hex>,"public_key_pem":…}``
(provision that key); ``--print-key`` prints only that and exits. ``--self-test`` checks the worked vectors.

Commands: one JSON object per stdin line (or ``--do JSON``, run first; ``--no-stdin`` exits after them; EOF on stdin
exits). Each command ends with ``{"type":"result","cmd":…,"id":<echoed>,"ok":true|false,…}``; while a command waits
the device keeps answering the server. Commands and their result fields:

    {"cmd":"connect","resume":"auto|never|require","fallback":true,"server":"127.0.0.1:PORT"}
                                  → resumed, hello_sent, fallback, cid, local_port
    {"cmd":"disconnect","keep_session":true}    (alias "drop": close the socket, no Goodbye)
    {"cmd":"reconnect"}                         drop + connect: resumes from a new source port (253 marker)
    {"cmd":"publish","name":"temp","data":"21.5","ttl":60,"public":false,"con":true,"content_format":null}
                                  → code, mid, rtt_ms   ("data_hex" for binary data)
    {"cmd":"subscribe","prefix":"srv/","scope":null|"u"}     → code
    {"cmd":"variable","name":"temp","type":"bool|int|string|double","value":21.5}   add or change
    {"cmd":"function","name":"led","return":1|"len","publish":{"name":…,"data":…}}  add or change
    {"cmd":"describe","which":"system|application"}         push a Describe → code
    {"cmd":"ping"}  {"cmd":"time"} → unix
    {"cmd":"goodbye","cloud_reason":6,"reset_reason":null,"sleep":600,"network_reason":null,"disconnect":true}
                                  → acked, payload_hex
    {"cmd":"sleep","seconds":2}   Goodbye (cloud 6 + duration), drop, sleep, resume → like connect
    {"cmd":"restart","reason":"user","keep_session":true,"connect":false}   device reset (retained session kept)
    {"cmd":"ota","refuse":false,"fast":true,"drop_chunk":N,"corrupt_chunk":N,"corrupt_stored_chunk":N,
           "disconnect_after_chunk":N}      OTA behaviour (chunk numbers are 0-based positions in the file)
    {"cmd":"set","updates_enabled":true,"updates_forced":false,"system_version":6300,"product_version":3,
           "flags":246,"max_message_size":1152,"keepalive":25,"ignore_server_cons":N,"describe_format":"json",…}
    {"cmd":"send","hex":"40000001"}             raw CoAP inside a DTLS record
    {"cmd":"wait","seconds":1}   {"cmd":"wait_for","type":"event","match":{"name":"x"},"timeout":10} → line
    {"cmd":"session"}  {"cmd":"forget_session"}  {"cmd":"status"}  {"cmd":"quit","goodbye":false}

Observation lines (stdout, ``"type"``): handshake, handshake_failed, session_resumed, resume_confirmed,
hello_sent, hello_acked, server_hello, connected, disconnected, session_discarded, resume_failed, con_timeout,
rst, time, event, variable_request, function_call, describe_request, signal, key_change, ping (from the server),
keepalive_ping, ping_timeout, duplicate, dropped, publish_acked, subscribe_acked, describe_acked, goodbye_sent,
ota_begin, ota_chunk, ota_chunks_missing, ota_complete (crc32_ok, sha256_ok, sha256, …), ota_refused,
ota_interrupted, ota_cancelled, rebooting, rebooted, and ``violation`` whenever the server breaks a rule the device
depends on (a test should assert there is none). ``--trace`` adds coap_in/coap_out (with the record type byte and
local port), retransmit and dtls_flight lines.

Only the Python standard library and the ``cryptography`` package are used.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import hmac
import itertools
import json
import math
import os
import random
import select
import socket
import struct
import sys
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def u16(n: int) -> bytes:
    return (n & 0xFFFF).to_bytes(2, "big")


def u24(n: int) -> bytes:
    return n.to_bytes(3, "big")


def u48(n: int) -> bytes:
    return n.to_bytes(6, "big")


def crc32(data: bytes) -> int:
    """Standard reflected CRC-32 (zlib), as used for OTA chunks and module checksums."""
    return zlib.crc32(data) & 0xFFFFFFFF


def uint_bytes(n: int) -> bytes:
    """CoAP uint option value: minimal big-endian, zero is the empty string."""
    return b"" if n == 0 else n.to_bytes((n.bit_length() + 7) // 8, "big")


def uint_value(b: bytes) -> int:
    return int.from_bytes(b, "big") if b else 0


def leb128(n: int) -> bytes:
    """Unsigned LEB128, the varint of the Goodbye payload."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def goodbye_payload(cloud_reason: Optional[int] = None, reset_reason: Optional[int] = None,
                    sleep_duration: Optional[int] = None, network_reason: Optional[int] = None) -> bytes:
    """Goodbye payload: flags varint, then cloud reason, reset reason, sleep seconds,
    network reason, each present only if its flag bit (0, 1, 2, 3) is set."""
    flags = 0
    body = b""
    for bit, value in enumerate((cloud_reason, reset_reason, sleep_duration, network_reason)):
        if value is not None:
            flags |= 1 << bit
            body += leb128(value)
    return leb128(flags) + body


class PeerError(Exception):
    """A protocol failure the device would also treat as fatal for the operation."""


class HandshakeError(PeerError):
    pass


# ----------------------------------------------------------------------------------------------
# Keys
# ----------------------------------------------------------------------------------------------

SPKI_P256_HEADER = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
SERVER_BLOB_SIZE = 320
SERVER_BLOB_ADDRESS_OFFSET = 192
SERVER_BLOB_PORT_OFFSET = 258


def load_device_key(path: Optional[str], create: bool = True) -> ec.EllipticCurvePrivateKey:
    """Device private key: EC P-256, SEC1 DER as `openssl ec -outform DER` writes it (PKCS#8 and PEM
    are accepted too). A missing file is generated and written in SEC1 DER (121 bytes)."""
    if path and os.path.exists(path):
        data = open(path, "rb").read()
        if data.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(data, None)
        else:
            # The device takes the DER length from the outer SEQUENCE header, so padding is harmless.
            key = serialization.load_der_private_key(_der_prefix(data), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise PeerError("device key is not an EC P-256 key")
        return key
    if path and not create:
        raise PeerError(f"device key {path} not found")
    key = ec.generate_private_key(ec.SECP256R1())
    if path:
        with open(path, "wb") as f:
            f.write(device_key_der(key))
    return key


def device_key_der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def spki_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """SubjectPublicKeyInfo DER, 91 bytes for P-256 (26-byte header + 04 X Y)."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _der_prefix(data: bytes) -> bytes:
    """Cut a DER blob to the length announced by its outer SEQUENCE header (Device OS
    `determine_der_length`)."""
    if len(data) < 2 or data[0] != 0x30:
        return data
    n = data[1]
    if n < 0x80:
        return data[: 2 + n]
    k = n & 0x7F
    return data[: 2 + k + int.from_bytes(data[2: 2 + k], "big")]


def parse_server_key_blob(blob: bytes) -> dict:
    """The 320-byte UDP server key blob: SPKI at 0, 0xFF fill, address TLV at 192,
    port (big-endian) at 258."""
    if len(blob) < SERVER_BLOB_ADDRESS_OFFSET:
        raise PeerError("server key blob too short")
    spki = _der_prefix(blob)
    out: dict[str, Any] = {"spki": spki, "address": None, "port": None}
    if len(blob) >= SERVER_BLOB_ADDRESS_OFFSET + 2:
        kind, length = blob[192], blob[193]
        if kind == 0 and length == 4:
            out["address"] = socket.inet_ntoa(blob[194:198])
        elif kind == 1 and 0 < length <= 64:
            out["address"] = blob[194:194 + length].decode("ascii", "replace")
    if len(blob) >= SERVER_BLOB_PORT_OFFSET + 2:
        port = int.from_bytes(blob[258:260], "big")
        out["port"] = None if port in (0, 0xFFFF) else port
    return out


def make_server_key_blob(spki: bytes, host: Optional[str] = None, port: Optional[int] = None) -> bytes:
    """Build the 320-byte UDP server key blob (what `particle keys server` writes for UDP platforms)."""
    blob = bytearray(b"\xff" * SERVER_BLOB_SIZE)
    blob[: len(spki)] = spki
    if host is not None:
        try:
            addr = socket.inet_aton(host)
            tlv = bytes([0, 4]) + addr
        except OSError:
            name = host.encode("ascii")
            tlv = bytes([1, len(name)]) + name
        blob[192:192 + len(tlv)] = tlv
    if port is not None:
        blob[258:260] = u16(port)
    return bytes(blob)


def load_server_key(path: str) -> tuple[ec.EllipticCurvePublicKey, bytes]:
    """Server public key from a 320-byte UDP blob, a SPKI DER file or a PEM file. Returns (key, SPKI DER)."""
    data = open(path, "rb").read()
    if data.lstrip().startswith(b"-----"):
        key = serialization.load_pem_public_key(data)
    else:
        der = _der_prefix(data) if len(data) != SERVER_BLOB_SIZE else parse_server_key_blob(data)["spki"]
        key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise PeerError("server key is not an EC P-256 public key")
    return key, spki_der(key)


# ----------------------------------------------------------------------------------------------
# TLS 1.2 key schedule: PRF = P_SHA256, no extended master secret
# ----------------------------------------------------------------------------------------------


def prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """TLS 1.2 PRF (RFC 5246) with HMAC-SHA256."""
    seed = label + seed
    out = b""
    a = seed
    while len(out) < length:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:length]


def derive_master_secret(pre_master: bytes, client_random: bytes, server_random: bytes) -> bytes:
    return prf(pre_master, b"master secret", client_random + server_random, 48)


@dataclass
class KeyBlock:
    """client_write_key[16] ‖ server_write_key[16] ‖ client_write_IV[4] ‖ server_write_IV[4]."""
    client_key: bytes
    server_key: bytes
    client_iv: bytes
    server_iv: bytes


def derive_key_block(master: bytes, client_random: bytes, server_random: bytes) -> KeyBlock:
    kb = prf(master, b"key expansion", server_random + client_random, 40)
    return KeyBlock(kb[0:16], kb[16:32], kb[32:36], kb[36:40])


def finished_verify_data(master: bytes, label: bytes, transcript: bytes) -> bytes:
    return prf(master, label, hashlib.sha256(transcript).digest(), 12)


# ----------------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------------

CT_CCS, CT_ALERT, CT_HANDSHAKE, CT_APP, CT_CID = 20, 21, 22, 23, 25
CT_RESUME, CT_RESUME_OLD = 253, 254
DTLS_1_2 = b"\xfe\xfd"
CID_PADDING = 16


def ccm(key: bytes) -> AESCCM:
    return AESCCM(key, tag_length=8)


def inner_plaintext(content: bytes, content_type: int) -> bytes:
    """DTLSInnerPlaintext: content ‖ type ‖ zeros, total a multiple of 16 (MBEDTLS_SSL_CID_PADDING_GRANULARITY)."""
    inner = content + bytes([content_type])
    return inner + b"\x00" * ((-len(inner)) % CID_PADDING)


def parse_inner_plaintext(inner: bytes) -> tuple[int, bytes]:
    stripped = inner.rstrip(b"\x00")
    if not stripped:
        raise PeerError("inner plaintext has no content type")
    return stripped[-1], stripped[:-1]


def seal_cid_record(key: bytes, iv: bytes, epoch: int, seq: int, cid: bytes, content_type: int,
                    content: bytes, first_byte: int = CT_CID) -> bytes:
    """Device → server CID record: AAD is draft-05's epoch‖seq‖0x19‖fefd‖cid‖cid_len‖len(inner),
    always computed with 0x19 even when the first byte is rewritten to 253."""
    inner = inner_plaintext(content, content_type)
    es = u16(epoch) + u48(seq)
    aad = es + bytes([CT_CID]) + DTLS_1_2 + cid + bytes([len(cid)]) + u16(len(inner))
    ct = ccm(key).encrypt(iv + es, inner, aad)
    return bytes([first_byte]) + DTLS_1_2 + es + cid + u16(8 + len(ct)) + es + ct


def seal_plain_record(key: bytes, iv: bytes, epoch: int, seq: int, content_type: int, content: bytes,
                      first_byte: Optional[int] = None) -> bytes:
    """Ordinary DTLS 1.2 AEAD record, AAD = epoch‖seq‖type‖fefd‖len(plaintext)."""
    es = u16(epoch) + u48(seq)
    aad = es + bytes([content_type]) + DTLS_1_2 + u16(len(content))
    ct = ccm(key).encrypt(iv + es, content, aad)
    t = content_type if first_byte is None else first_byte
    return bytes([t]) + DTLS_1_2 + es + u16(8 + len(ct)) + es + ct


def open_plain_record(key: bytes, iv: bytes, content_type: int, epoch: int, seq: int, fragment: bytes) -> bytes:
    """Decrypt a plain AEAD record's fragment (explicit nonce ‖ ciphertext ‖ tag). Raises InvalidTag."""
    if len(fragment) < 16:
        raise InvalidTag()
    explicit, ct = fragment[:8], fragment[8:]
    es = u16(epoch) + u48(seq)
    aad = es + bytes([content_type]) + DTLS_1_2 + u16(len(ct) - 8)
    return ccm(key).decrypt(iv + explicit, ct, aad)


def open_cid_record(key: bytes, iv: bytes, epoch: int, seq: int, cid: bytes, fragment: bytes) -> tuple[int, bytes]:
    """Decrypt a CID record's fragment (used by the self-test and the test server stub)."""
    explicit, ct = fragment[:8], fragment[8:]
    es = u16(epoch) + u48(seq)
    aad = es + bytes([CT_CID]) + DTLS_1_2 + cid + bytes([len(cid)]) + u16(len(ct) - 8)
    return parse_inner_plaintext(ccm(key).decrypt(iv + explicit, ct, aad))


@dataclass
class Record:
    content_type: int
    epoch: int
    seq: int
    fragment: bytes
    cid: bytes = b""


def parse_records(datagram: bytes, cid_len: int = 0) -> list[Record]:
    """Split a datagram into records (several may share one datagram). Records of type 25/253 carry a
    CID of `cid_len` bytes (the device's own CID length is 0, so server records never have one)."""
    out = []
    i = 0
    while i + 13 <= len(datagram):
        t = datagram[i]
        epoch = int.from_bytes(datagram[i + 3:i + 5], "big")
        seq = int.from_bytes(datagram[i + 5:i + 11], "big")
        j = i + 11
        cid = b""
        if t in (CT_CID, CT_RESUME) and cid_len:
            cid = datagram[j:j + cid_len]
            j += cid_len
        if j + 2 > len(datagram):
            break
        length = int.from_bytes(datagram[j:j + 2], "big")
        j += 2
        if j + length > len(datagram):
            break
        out.append(Record(t, epoch, seq, datagram[j:j + length], cid))
        i = j + length
    return out


class ReplayWindow:
    """64-record anti-replay window as mbedTLS keeps it (`in_window_top`, `in_window`); the device
    persists it with the session since 3.1.0."""

    def __init__(self, top: int = 0, bits: int = 0):
        self.top = top
        self.bits = bits

    def check(self, seq: int) -> bool:
        if seq > self.top:
            return True
        offset = self.top - seq
        return offset < 64 and not (self.bits >> offset) & 1

    def update(self, seq: int) -> None:
        if seq > self.top:
            shift = seq - self.top
            self.bits = ((self.bits << shift) | 1) & 0xFFFFFFFFFFFFFFFF if shift < 64 else 1
            self.top = seq
        else:
            self.bits |= 1 << (self.top - seq)


@dataclass
class Session:
    """What the device keeps in retained RAM for resumption: master secret and randoms
    (keys are re-derived), CID, outgoing counter, incoming replay window, use counter, CoAP message id,
    and the app-state descriptor cached on ACKs."""
    master_secret: bytes
    client_random: bytes
    server_random: bytes
    cid: Optional[bytes]
    out_ctr: int = 0              # next epoch-1 sequence number to send
    window_top: int = 0
    window_bits: int = 0
    use_counter: int = 0
    persistent: bool = False      # set once the Hello of a full handshake was ACKed
    next_coap_id: int = 0
    keys_checksum: int = 0
    app_state: dict = field(default_factory=dict)

    def keys(self) -> KeyBlock:
        return derive_key_block(self.master_secret, self.client_random, self.server_random)

    def to_json(self) -> dict:
        return {
            "master_secret": self.master_secret.hex(), "client_random": self.client_random.hex(),
            "server_random": self.server_random.hex(), "cid": self.cid.hex() if self.cid is not None else None,
            "out_ctr": self.out_ctr, "window_top": self.window_top, "window_bits": self.window_bits,
            "use_counter": self.use_counter, "persistent": self.persistent, "next_coap_id": self.next_coap_id,
            "keys_checksum": self.keys_checksum, "app_state": self.app_state,
        }

    @staticmethod
    def from_json(d: dict) -> "Session":
        return Session(
            bytes.fromhex(d["master_secret"]), bytes.fromhex(d["client_random"]), bytes.fromhex(d["server_random"]),
            bytes.fromhex(d["cid"]) if d.get("cid") is not None else None, d.get("out_ctr", 0), d.get("window_top", 0),
            d.get("window_bits", 0), d.get("use_counter", 0), d.get("persistent", False), d.get("next_coap_id", 0),
            d.get("keys_checksum", 0), d.get("app_state", {}))


class RecordLayer:
    """Epoch-1 record protection for the device.

    Outgoing: CID records (type 25, draft-05 AAD, inner plaintext padded to 16) when the server issued a CID,
    else plain type-23 records (pre-3.1 devices). While `move_session` is set (a resumed session that has not
    received anything yet) the first byte is rewritten: 0x19 → 0xFD for Device OS ≥ 4.0 (marker "fd"), no
    marker for 3.1–3.3 ("none"), 0x17 → 0xFE plus a trailer of device ID ‖ 0x0C for < 3.1 ("fe").

    Incoming: plain AEAD records from the server, epoch 1 only, anti-replay window; records failing
    authentication are dropped silently (no bad-MAC limit)."""

    def __init__(self, session: Session, marker: str = "fd", device_id: bytes = b""):
        self.session = session
        self.keys = session.keys()
        self.window = ReplayWindow(session.window_top, session.window_bits)
        self.marker = marker
        self.device_id = device_id
        self.move_session = False
        self.epoch = 1

    def seal(self, content_type: int, content: bytes) -> bytes:
        s = self.session
        seq = s.out_ctr
        s.out_ctr += 1
        if s.cid:
            first = CT_RESUME if (self.move_session and self.marker == "fd") else CT_CID
            return seal_cid_record(self.keys.client_key, self.keys.client_iv, self.epoch, seq, s.cid,
                                   content_type, content, first)
        if self.move_session and self.marker == "fe" and content_type == CT_APP:
            rec = seal_plain_record(self.keys.client_key, self.keys.client_iv, self.epoch, seq, content_type,
                                    content, first_byte=CT_RESUME_OLD)
            return rec + self.device_id + bytes([len(self.device_id)])
        return seal_plain_record(self.keys.client_key, self.keys.client_iv, self.epoch, seq, content_type, content)

    def open(self, rec: Record) -> Optional[tuple[int, bytes]]:
        """Returns (content type, plaintext) or None if the record must be dropped."""
        if rec.epoch != self.epoch or rec.content_type not in (CT_APP, CT_ALERT, CT_HANDSHAKE):
            return None
        if not self.window.check(rec.seq):
            return None
        try:
            plain = open_plain_record(self.keys.server_key, self.keys.server_iv, rec.content_type, rec.epoch,
                                      rec.seq, rec.fragment)
        except InvalidTag:
            return None
        self.window.update(rec.seq)
        self.session.window_top, self.session.window_bits = self.window.top, self.window.bits
        return rec.content_type, plain


# ----------------------------------------------------------------------------------------------
# DTLS 1.2 handshake
# ----------------------------------------------------------------------------------------------

HS_HELLO_REQUEST, HS_CLIENT_HELLO, HS_SERVER_HELLO, HS_HELLO_VERIFY = 0, 1, 2, 3
HS_CERTIFICATE, HS_SERVER_KEY_EXCHANGE, HS_CERTIFICATE_REQUEST = 11, 12, 13
HS_SERVER_HELLO_DONE, HS_CERTIFICATE_VERIFY, HS_CLIENT_KEY_EXCHANGE, HS_FINISHED = 14, 15, 16, 20

SUITE_ECDHE_ECDSA_AES_128_CCM_8 = 0xC0AE
EXT_SIGNATURE_ALGORITHMS = bytes.fromhex("000d000a0008040304010303" "0301")
EXT_SUPPORTED_GROUPS = bytes.fromhex("000a000400020017")
EXT_EC_POINT_FORMATS = bytes.fromhex("000b00020100")
EXT_CONNECTION_ID = bytes.fromhex("00fe000100")        # draft extension 254, own CID length 0
EXT_CLIENT_CERT_TYPE = bytes.fromhex("001300020102")   # [RawPublicKey]
EXT_SERVER_CERT_TYPE = bytes.fromhex("001400020102")

ALERT_UNEXPECTED_MESSAGE, ALERT_HANDSHAKE_FAILURE, ALERT_ILLEGAL_PARAMETER, ALERT_DECRYPT_ERROR = 10, 40, 47, 51


def handshake_message(msg_type: int, msg_seq: int, body: bytes) -> bytes:
    """DTLS handshake header (12 bytes) as if unfragmented, which is also how it enters the transcript."""
    return bytes([msg_type]) + u24(len(body)) + u16(msg_seq) + b"\x00\x00\x00" + u24(len(body))


def client_hello_body(client_random: bytes, cookie: bytes = b"", offer_cid: bool = True) -> bytes:
    """ClientHello body byte for byte as Device OS sends it (91 bytes without cookie, 86 before 3.1.0)."""
    ext = EXT_SIGNATURE_ALGORITHMS + EXT_SUPPORTED_GROUPS + EXT_EC_POINT_FORMATS
    if offer_cid:
        ext += EXT_CONNECTION_ID
    ext += EXT_CLIENT_CERT_TYPE + EXT_SERVER_CERT_TYPE
    return (DTLS_1_2 + client_random + b"\x00" + bytes([len(cookie)]) + cookie
            + bytes.fromhex("0004c0ae00ff") + b"\x01\x00" + u16(len(ext)) + ext)


@dataclass
class HandshakeResult:
    session: Session
    records: RecordLayer
    hello_verify: bool
    server_spki_verified: bool


def _raw_point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


class DTLSClient:
    """The device's DTLS 1.2 client handshake.

    * Offers only TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (+ renegotiation SCSV), secp256r1, raw public keys,
      and (≥ 3.1.0) the draft connection-ID extension 254 with own CID length 0.
    * Answers a HelloVerifyRequest by repeating the ClientHello with the cookie (message_seq 1); the first
      ClientHello and the HelloVerifyRequest stay out of the Finished transcript.
    * Refuses a server Certificate message: after ServerHello the next message must be ServerKeyExchange,
      whose ECDSA signature is verified against the server key from the key blob.
    * Presents its key only if the server sent CertificateRequest: Certificate (RPK SPKI),
      ClientKeyExchange, CertificateVerify, ChangeCipherSpec, then Finished as a CID record.
    * Retransmits its last flight after 3 s, doubling, and gives up after the 24 s step;
      `timer_scale` shortens every timer for tests.
    * Aborts after a completed handshake if the server did not issue an 8-byte CID (Device OS ≥ 3.1).
    """

    def __init__(self, sock: socket.socket, device_key: ec.EllipticCurvePrivateKey,
                 server_key: ec.EllipticCurvePublicKey, *, offer_cid: bool = True, timer_scale: float = 1.0,
                 log: Callable[..., None] = lambda **kw: None, client_random: Optional[bytes] = None,
                 require_cid: Optional[bool] = None, marker: str = "fd", device_id: bytes = b""):
        self.sock = sock
        self.device_key = device_key
        self.server_key = server_key
        self.offer_cid = offer_cid
        self.require_cid = offer_cid if require_cid is None else require_cid
        self.scale = timer_scale
        self.log = log
        self.marker = marker
        self.device_id = device_id
        if client_random is None:
            # First 4 bytes: gmt_unix_time (MBEDTLS_HAVE_TIME), then 28 random bytes.
            client_random = struct.pack(">I", int(time.time()) & 0xFFFFFFFF) + os.urandom(28)
        self.client_random = client_random
        self.seq0 = 0                       # epoch-0 record sequence number
        self.out_msg_seq = 0
        self.next_in_seq = 0
        self.flight: list[tuple[int, int, bytes]] = []   # (epoch, content type, payload)
        self.ready: list[tuple] = []
        self.partial: dict[int, tuple[int, int, bytearray, set]] = {}
        self.future: dict[int, tuple[int, bytes]] = {}
        self.records: Optional[RecordLayer] = None
        self.ccs_received = False
        self.expect_finished = False
        self.timeout = 3.0
        self.deadline = 0.0
        self.transmissions = 0

    # -- sending -------------------------------------------------------------------------------

    def _record0(self, content_type: int, payload: bytes) -> bytes:
        rec = bytes([content_type]) + DTLS_1_2 + u16(0) + u48(self.seq0) + u16(len(payload)) + payload
        self.seq0 += 1
        return rec

    def _send_flight(self, new: bool) -> None:
        """Send the current flight packed into one datagram (as mbedTLS does); every transmission uses
        fresh record sequence numbers."""
        datagram = b""
        for epoch, ct, payload in self.flight:
            if epoch == 0:
                datagram += self._record0(ct, payload)
            else:
                assert self.records is not None
                datagram += self.records.seal(ct, payload)
        if new:
            self.timeout = 3.0
        self.transmissions += 1
        self.sock.send(datagram)
        self.log(type="dtls_flight", messages=[_flight_name(ct, p) for _, ct, p in self.flight],
                 retransmission=not new, bytes=len(datagram))
        self.deadline = time.monotonic() + self.timeout * self.scale

    def _alert(self, description: int) -> None:
        try:
            self.sock.send(self._record0(CT_ALERT, bytes([2, description])))
        except OSError:
            pass

    def _fail(self, reason: str, alert: Optional[int] = None) -> None:
        if alert is not None:
            self._alert(alert)
        raise HandshakeError(reason)

    # -- receiving -----------------------------------------------------------------------------

    def _next(self) -> tuple:
        """Next in-order item from the server: ("hs", type, body, raw) / ("ccs",) / ("alert", level, desc).
        Retransmits the last flight when the timer fires."""
        while True:
            if self.ready:
                return self.ready.pop(0)
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                if self.timeout >= 24.0:
                    self._fail("handshake timeout (no answer after the 24 s retransmission step)")
                self.timeout *= 2
                self._send_flight(new=False)
                continue
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            except ConnectionRefusedError:
                continue
            self._absorb(data)

    def _absorb(self, datagram: bytes) -> None:
        if len(datagram) <= 1:
            return
        for rec in parse_records(datagram):
            if rec.epoch == 0 and rec.content_type == CT_HANDSHAKE:
                self._absorb_handshake(rec.fragment)
            elif rec.epoch == 0 and rec.content_type == CT_CCS:
                if self.expect_finished and rec.fragment == b"\x01":
                    # Switch the read epoch now: the Finished usually follows in the same datagram.
                    self.ccs_received = True
                    self.ready.append(("ccs",))
            elif rec.epoch == 0 and rec.content_type == CT_ALERT and len(rec.fragment) >= 2:
                self.ready.append(("alert", rec.fragment[0], rec.fragment[1]))
            elif rec.epoch == 1 and self.records is not None and self.ccs_received:
                opened = self.records.open(rec)
                if opened is None:
                    self.log(type="dtls_drop", reason="epoch-1 record failed authentication or replayed")
                    continue
                ct, plain = opened
                if ct == CT_HANDSHAKE:
                    self._absorb_handshake(plain)
                elif ct == CT_ALERT and len(plain) >= 2:
                    self.ready.append(("alert", plain[0], plain[1]))
            elif rec.content_type == CT_CID:
                self.log(type="violation", detail="server sent a CID record; the device's own CID is empty "
                         "and it ignores such records")
            else:
                self.log(type="dtls_drop", reason=f"record type {rec.content_type} epoch {rec.epoch} ignored")

    def _absorb_handshake(self, data: bytes) -> None:
        i = 0
        while i + 12 <= len(data):
            msg_type = data[i]
            length = int.from_bytes(data[i + 1:i + 4], "big")
            msg_seq = int.from_bytes(data[i + 4:i + 6], "big")
            frag_off = int.from_bytes(data[i + 6:i + 9], "big")
            frag_len = int.from_bytes(data[i + 9:i + 12], "big")
            frag = data[i + 12:i + 12 + frag_len]
            i += 12 + frag_len
            if len(frag) != frag_len or frag_off + frag_len > length:
                self.log(type="dtls_drop", reason="malformed handshake fragment")
                return
            if msg_seq < self.next_in_seq:
                # The server repeated an old flight: our last flight was lost, send it again (RFC 6347).
                if self.expect_finished and self.flight:
                    self._send_flight(new=False)
                continue
            if frag_off == 0 and frag_len == length:
                body = bytes(frag)
            else:
                t, total, buf, got = self.partial.setdefault(msg_seq, (msg_type, length, bytearray(length), set()))
                buf[frag_off:frag_off + frag_len] = frag
                got.update(range(frag_off, frag_off + frag_len))
                if len(got) < total:
                    continue
                body = bytes(buf)
                del self.partial[msg_seq]
            self.future[msg_seq] = (msg_type, body)
            while self.next_in_seq in self.future:
                t, b = self.future.pop(self.next_in_seq)
                self.ready.append(("hs", t, b, handshake_message(t, self.next_in_seq, b) + b))
                self.next_in_seq += 1

    def _expect_hs(self) -> tuple[int, bytes, bytes]:
        item = self._next()
        if item[0] == "alert":
            self._fail(f"server sent alert level {item[1]} description {item[2]}")
        if item[0] != "hs":
            self._fail(f"unexpected {item[0]} during handshake", ALERT_UNEXPECTED_MESSAGE)
        return item[1], item[2], item[3]

    # -- the handshake -------------------------------------------------------------------------

    def run(self) -> HandshakeResult:
        # Flight 1: ClientHello (message_seq 0, no cookie).
        ch = handshake_message(HS_CLIENT_HELLO, 0, client_hello_body(self.client_random, b"", self.offer_cid))
        ch += client_hello_body(self.client_random, b"", self.offer_cid)
        self.flight = [(0, CT_HANDSHAKE, ch)]
        self.out_msg_seq = 1
        self._send_flight(new=True)
        transcript = [ch]
        hello_verify = False

        msg_type, body, raw = self._expect_hs()
        if msg_type == HS_HELLO_VERIFY:
            # server_version (fe ff or fe fd) ‖ cookie_len ‖ cookie.
            if len(body) < 3 or body[:2] not in (b"\xfe\xff", b"\xfe\xfd") or len(body) != 3 + body[2]:
                self._fail("malformed HelloVerifyRequest", ALERT_ILLEGAL_PARAMETER)
            cookie = body[3:]
            hello_verify = True
            self.log(type="dtls_hello_verify", cookie=cookie.hex())
            body2 = client_hello_body(self.client_random, cookie, self.offer_cid)
            ch = handshake_message(HS_CLIENT_HELLO, 1, body2) + body2
            self.flight = [(0, CT_HANDSHAKE, ch)]
            self.out_msg_seq = 2
            self._send_flight(new=True)
            transcript = [ch]          # the first ClientHello and the HVR are not in the transcript
            msg_type, body, raw = self._expect_hs()

        if msg_type != HS_SERVER_HELLO:
            self._fail(f"expected ServerHello, got handshake type {msg_type}", ALERT_UNEXPECTED_MESSAGE)
        transcript.append(raw)
        server_random, cid = self._parse_server_hello(body)

        msg_type, body, raw = self._expect_hs()
        if msg_type == HS_CERTIFICATE:
            # mbedTLS with certificate receive disabled: "server key exchange message must not be skipped".
            self._fail("server sent a Certificate message; the device accepts only raw public keys and "
                       "expects ServerKeyExchange right after ServerHello", ALERT_UNEXPECTED_MESSAGE)
        if msg_type != HS_SERVER_KEY_EXCHANGE:
            self._fail(f"expected ServerKeyExchange, got handshake type {msg_type}", ALERT_UNEXPECTED_MESSAGE)
        transcript.append(raw)
        server_point = self._verify_server_key_exchange(body, server_random)

        cert_requested = False
        msg_type, body, raw = self._expect_hs()
        if msg_type == HS_CERTIFICATE_REQUEST:
            # mbedTLS checks only the lengths of certificate_types / signature algorithms / CAs.
            if not self._certificate_request_ok(body):
                self._fail("malformed CertificateRequest", ALERT_ILLEGAL_PARAMETER)
            cert_requested = True
            transcript.append(raw)
            msg_type, body, raw = self._expect_hs()
        if msg_type != HS_SERVER_HELLO_DONE or body:
            self._fail(f"expected ServerHelloDone, got handshake type {msg_type}", ALERT_UNEXPECTED_MESSAGE)
        transcript.append(raw)
        if not cert_requested:
            self.log(type="violation", detail="server sent no CertificateRequest: the device does not present "
                     "its key")

        # Key agreement and keys.
        eph = ec.generate_private_key(ec.SECP256R1())
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_point)
        except ValueError:
            self._fail("invalid server ECDH point", ALERT_ILLEGAL_PARAMETER)
        pre_master = eph.exchange(ec.ECDH(), peer)
        master = derive_master_secret(pre_master, self.client_random, server_random)
        session = Session(master, self.client_random, server_random, cid)
        self.records = RecordLayer(session, self.marker, self.device_id)

        # Flight 3: Certificate, ClientKeyExchange, CertificateVerify, CCS, Finished.
        flight: list[tuple[int, int, bytes]] = []
        seq = self.out_msg_seq
        if cert_requested:
            spki = spki_der(self.device_key.public_key())
            cert = handshake_message(HS_CERTIFICATE, seq, u24(len(spki)) + spki) + u24(len(spki)) + spki
            seq += 1
            transcript.append(cert)
            flight.append((0, CT_HANDSHAKE, cert))
        point = _raw_point(eph.public_key())
        cke_body = bytes([len(point)]) + point
        cke = handshake_message(HS_CLIENT_KEY_EXCHANGE, seq, cke_body) + cke_body
        seq += 1
        transcript.append(cke)
        flight.append((0, CT_HANDSHAKE, cke))
        if cert_requested:
            sig = self.device_key.sign(b"".join(transcript), ec.ECDSA(hashes.SHA256()))
            cv_body = b"\x04\x03" + u16(len(sig)) + sig
            cv = handshake_message(HS_CERTIFICATE_VERIFY, seq, cv_body) + cv_body
            seq += 1
            transcript.append(cv)
            flight.append((0, CT_HANDSHAKE, cv))
        flight.append((0, CT_CCS, b"\x01"))
        verify = finished_verify_data(master, b"client finished", b"".join(transcript))
        fin = handshake_message(HS_FINISHED, seq, verify) + verify
        seq += 1
        transcript.append(fin)
        flight.append((1, CT_HANDSHAKE, fin))     # epoch 1, sequence 0, CID record when a CID was issued
        self.flight = flight
        self.out_msg_seq = seq
        self.expect_finished = True
        self._send_flight(new=True)

        # Server CCS then Finished (epoch 1, plain record type 22 inside AEAD).
        while True:
            item = self._next()
            if item[0] == "alert":
                self._fail(f"server sent alert level {item[1]} description {item[2]}")
            if item[0] == "ccs":
                continue
            if item[0] == "hs" and item[1] == HS_FINISHED and self.ccs_received:
                expected = finished_verify_data(master, b"server finished", b"".join(transcript))
                if not hmac.compare_digest(item[2], expected):
                    self._fail("server Finished verify_data mismatch", ALERT_DECRYPT_ERROR)
                break
            self._fail(f"unexpected handshake message {item[1]} while waiting for Finished",
                       ALERT_UNEXPECTED_MESSAGE)

        # Device OS ≥ 3.1 refuses to go on without an 8-byte CID ("Unable to get connection ID").
        if self.require_cid and (cid is None or len(cid) != 8):
            raise HandshakeError("Unable to get connection ID: the server did not issue an 8-byte CID "
                                 f"(got {'none' if cid is None else len(cid)})")
        return HandshakeResult(session, self.records, hello_verify, cert_requested)

    def _parse_server_hello(self, body: bytes) -> tuple[bytes, Optional[bytes]]:
        """ServerHello checks: DTLS 1.2, our suite, null compression; cert-type extensions of one byte
        each with RawPublicKey; CID extension only if offered (an unsolicited one is handshake_failure)."""
        try:
            if body[:2] != DTLS_1_2:
                self._fail(f"ServerHello version {body[:2].hex()} is not DTLS 1.2", ALERT_HANDSHAKE_FAILURE)
            server_random = body[2:34]
            sid_len = body[34]
            i = 35 + sid_len
            suite = int.from_bytes(body[i:i + 2], "big")
            compression = body[i + 2]
            i += 3
            if suite != SUITE_ECDHE_ECDSA_AES_128_CCM_8 or compression != 0:
                self._fail(f"ServerHello chose suite {suite:#06x} / compression {compression}",
                           ALERT_HANDSHAKE_FAILURE)
            exts: dict[int, bytes] = {}
            if i < len(body):
                total = int.from_bytes(body[i:i + 2], "big")
                i += 2
                end = i + total
                if end != len(body):
                    self._fail("ServerHello extension length mismatch", ALERT_ILLEGAL_PARAMETER)
                while i < end:
                    et = int.from_bytes(body[i:i + 2], "big")
                    el = int.from_bytes(body[i + 2:i + 4], "big")
                    exts[et] = body[i + 4:i + 4 + el]
                    i += 4 + el
        except IndexError:
            self._fail("truncated ServerHello", ALERT_ILLEGAL_PARAMETER)
        cid = None
        for et, ev in exts.items():
            if et == 0xFE:
                if not self.offer_cid:
                    self._fail("unsolicited connection_id extension", ALERT_HANDSHAKE_FAILURE)
                if not ev or ev[0] != len(ev) - 1 or ev[0] > 8:
                    self._fail("bad connection_id extension", ALERT_ILLEGAL_PARAMETER)
                cid = ev[1:]
            elif et in (0x13, 0x14):
                if len(ev) != 1 or ev[0] != 2:
                    self._fail(f"certificate type extension {et:#x} must be one byte RawPublicKey(2)",
                               ALERT_ILLEGAL_PARAMETER)
            elif et in (0x16, 0x17, 0x23):
                self._fail(f"ServerHello has extension {et:#x} the client did not offer", ALERT_HANDSHAKE_FAILURE)
            elif et in (0xFF01, 0x0B):
                pass
            else:
                self.log(type="dtls_note", detail=f"ServerHello extension {et:#06x} ignored")
        if 0x13 not in exts:
            self._fail("ServerHello lacks client_certificate_type=RawPublicKey; the device would fall back "
                       "to X.509, which it does not have", ALERT_HANDSHAKE_FAILURE)
        self.log(type="dtls_server_hello", cid=None if cid is None else cid.hex(),
                 extensions=[f"{e:04x}" for e in exts])
        return server_random, cid

    def _verify_server_key_exchange(self, body: bytes, server_random: bytes) -> bytes:
        """ServerECDHParams (named_curve secp256r1) and an ECDSA-SHA256 signature over
        client_random ‖ server_random ‖ params with the server's long-term key (the only server
        authentication)."""
        if len(body) < 4 or body[0] != 3 or body[1:3] != b"\x00\x17":
            self._fail("ServerKeyExchange is not named_curve secp256r1", ALERT_HANDSHAKE_FAILURE)
        plen = body[3]
        params = body[:4 + plen]
        rest = body[4 + plen:]
        if len(rest) < 4 or rest[:2] != b"\x04\x03":
            self._fail("ServerKeyExchange signature is not sha256/ecdsa", ALERT_HANDSHAKE_FAILURE)
        slen = int.from_bytes(rest[2:4], "big")
        sig = rest[4:4 + slen]
        if len(sig) != slen or len(rest) != 4 + slen:
            self._fail("ServerKeyExchange signature length mismatch", ALERT_ILLEGAL_PARAMETER)
        try:
            self.server_key.verify(sig, self.client_random + server_random + params, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            self._fail("ServerKeyExchange signature does not verify with the server key", ALERT_DECRYPT_ERROR)
        return params[4:]

    @staticmethod
    def _certificate_request_ok(body: bytes) -> bool:
        try:
            n = body[0]
            i = 1 + n
            m = int.from_bytes(body[i:i + 2], "big")
            i += 2 + m
            c = int.from_bytes(body[i:i + 2], "big")
            return i + 2 + c == len(body)
        except IndexError:
            return False


def _flight_name(ct: int, payload: bytes) -> str:
    if ct == CT_CCS:
        return "ChangeCipherSpec"
    names = {HS_CLIENT_HELLO: "ClientHello", HS_CERTIFICATE: "Certificate", HS_CLIENT_KEY_EXCHANGE:
             "ClientKeyExchange", HS_CERTIFICATE_VERIFY: "CertificateVerify", HS_FINISHED: "Finished"}
    return names.get(payload[0], f"type{payload[0]}")


# ----------------------------------------------------------------------------------------------
# CoAP
# ----------------------------------------------------------------------------------------------

CON, NON, ACK, RST = 0, 1, 2, 3
TYPE_NAMES = {CON: "CON", NON: "NON", ACK: "ACK", RST: "RST"}
EMPTY, GET, POST, PUT = 0x00, 0x01, 0x02, 0x03
CREATED, CHANGED, CONTENT, CONTINUE = 0x41, 0x44, 0x45, 0x5F
BAD_REQUEST, NOT_FOUND, INTERNAL_ERROR, SERVICE_UNAVAILABLE = 0x80, 0x84, 0xA0, 0xA3

OPT_URI_PATH, OPT_CONTENT_FORMAT, OPT_MAX_AGE, OPT_URI_QUERY = 11, 12, 14, 15
OPT_BLOCK2, OPT_BLOCK1, OPT_NO_RESPONSE = 23, 27, 258
# OTA v3 options
OPT_CHUNK_INDEX, OPT_WINDOW_SIZE, OPT_FILE_SIZE, OPT_FILE_SHA256 = 2049, 2053, 2057, 2061
OPT_CHUNK_SIZE, OPT_DISCARD_DATA, OPT_CANCEL_UPDATE, OPT_MODULE_FUNCTION = 2065, 2069, 2073, 2077


def code_str(code: int) -> str:
    return f"{code >> 5}.{code & 0x1F:02d}"


def _opt_nibble(n: int) -> tuple[int, bytes]:
    """Option delta/length nibble with its extension: 0–12 literal, 13 → one byte (n − 13),
    14 → two bytes (n − 269). A length of 13 or 14 is never a bare nibble (a classic pitfall)."""
    if n < 13:
        return n, b""
    if n < 269:
        return 13, bytes([n - 13])
    return 14, u16(n - 269)


def encode_options(options: list[tuple[int, bytes]]) -> bytes:
    out = b""
    prev = 0
    for number, value in sorted(options, key=lambda o: o[0]):   # stable: repeated options keep their order
        dn, dx = _opt_nibble(number - prev)
        ln, lx = _opt_nibble(len(value))
        out += bytes([dn << 4 | ln]) + dx + lx + value
        prev = number
    return out


class CoAPError(PeerError):
    pass


@dataclass
class CoAPMessage:
    type: int
    code: int
    mid: int
    token: bytes = b""
    options: list = field(default_factory=list)   # [(number, bytes)] in wire order
    payload: bytes = b""

    def encode(self) -> bytes:
        head = bytes([0x40 | self.type << 4 | len(self.token), self.code]) + u16(self.mid) + self.token
        body = encode_options(self.options)
        return head + body + (b"\xff" + self.payload if self.payload else b"")

    @staticmethod
    def decode(data: bytes) -> "CoAPMessage":
        if len(data) < 4:
            raise CoAPError("message shorter than 4 bytes")
        if data[0] >> 6 != 1:
            raise CoAPError("CoAP version is not 1")
        t = (data[0] >> 4) & 3
        tkl = data[0] & 0x0F
        if tkl > 8:
            raise CoAPError("token length > 8")
        i = 4 + tkl
        if i > len(data):
            raise CoAPError("truncated token")
        msg = CoAPMessage(t, data[1], int.from_bytes(data[2:4], "big"), data[4:i])
        number = 0
        while i < len(data):
            if data[i] == 0xFF:
                if i + 1 == len(data):
                    raise CoAPError("payload marker with empty payload")
                msg.payload = data[i + 1:]
                break
            dn, ln = data[i] >> 4, data[i] & 0x0F
            i += 1
            vals = []
            for nib in (dn, ln):
                if nib == 13:
                    if i >= len(data):
                        raise CoAPError("truncated option")
                    vals.append(data[i] + 13)
                    i += 1
                elif nib == 14:
                    if i + 2 > len(data):
                        raise CoAPError("truncated option")
                    vals.append(int.from_bytes(data[i:i + 2], "big") + 269)
                    i += 2
                elif nib == 15:
                    raise CoAPError("reserved option nibble 15")
                else:
                    vals.append(nib)
            number += vals[0]
            if i + vals[1] > len(data):
                raise CoAPError("option value runs past the message")
            msg.options.append((number, data[i:i + vals[1]]))
            i += vals[1]
        return msg

    def opt(self, number: int) -> list[bytes]:
        return [v for n, v in self.options if n == number]

    def first(self, number: int) -> Optional[bytes]:
        vals = self.opt(number)
        return vals[0] if vals else None

    @property
    def uri_path(self) -> list[str]:
        return [v.decode("utf-8", "replace") for v in self.opt(OPT_URI_PATH)]

    def describe(self) -> dict:
        return {"type": TYPE_NAMES[self.type], "code": code_str(self.code), "mid": self.mid,
                "token": self.token.hex(), "path": "/".join(self.uri_path),
                "query": [v.decode("utf-8", "replace") for v in self.opt(OPT_URI_QUERY)],
                "payload_hex": self.payload.hex()}


def empty_ack(mid: int) -> CoAPMessage:
    return CoAPMessage(ACK, EMPTY, mid)


# Variable types: code and value encoding.
VAR_TYPES = {"bool": 1, "int": 2, "int32": 2, "string": 4, "double": 9}


def encode_variable(kind: str, value: Any) -> bytes:
    if kind == "bool":
        return b"\x01" if value else b"\x00"
    if kind in ("int", "int32"):
        return struct.pack(">i", int(value))
    if kind == "double":
        return struct.pack("<d", float(value))        # little-endian, as Device OS sends it
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode("utf-8")


# ----------------------------------------------------------------------------------------------
# Minimal protobuf writer for the system Describe since Device OS 5.5.0
# ----------------------------------------------------------------------------------------------


def _pb_varint(n: int) -> bytes:
    return leb128(n)


def _pb_field(number: int, value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return _pb_varint(number << 3 | 2) + _pb_varint(len(value)) + bytes(value)
    return _pb_varint(number << 3) + _pb_varint(int(value))


MODULE_FUNCTION_LETTERS = {0: "n", 1: "r", 2: "b", 3: "m", 4: "s", 5: "u", 6: "_", 7: "c", 8: "a"}
LETTER_MODULE_FUNCTIONS = {v: k for k, v in MODULE_FUNCTION_LETTERS.items()}


# ----------------------------------------------------------------------------------------------
# Firmware modules and the device's own description
# ----------------------------------------------------------------------------------------------


@dataclass
class FirmwareModule:
    """One module as the system Describe lists it (JSON keys over TCP; protobuf over UDP)."""
    function: int                 # module function: 2 bootloader, 4 system part, 5 user part…
    index: int
    version: int
    sha256: bytes
    max_size: int
    dependencies: list = field(default_factory=list)   # [(function, index, version)]
    size: int = 0

    def json(self) -> dict:
        d: dict[str, Any] = {"s": self.max_size, "l": "m", "vc": 30, "vv": 30,
                             "f": MODULE_FUNCTION_LETTERS.get(self.function, "n"), "n": str(self.index),
                             "v": self.version,
                             "d": [{"f": MODULE_FUNCTION_LETTERS.get(f, "n"), "n": str(i), "v": v}
                                   for f, i, v in self.dependencies]}
        if self.function == 5:
            d["u"] = self.sha256.hex().upper()
        return d

    def protobuf(self) -> bytes:
        # FirmwareModule: 1 type (= module function, as the notes say), 2 index, 3 version, 4 store (0 = main),
        # 5 max_size, 6 checked_flags, 7 passed_flags, 8 hash, 9 dependencies {1 type, 2 index, 3 version}, 11 size.
        out = _pb_field(1, self.function) + _pb_field(2, self.index) + _pb_field(3, self.version)
        out += _pb_field(5, self.max_size) + _pb_field(6, 30) + _pb_field(7, 30) + _pb_field(8, self.sha256)
        for f, i, v in self.dependencies:
            out += _pb_field(9, _pb_field(1, f) + _pb_field(2, i) + _pb_field(3, v))
        if self.size:
            out += _pb_field(11, self.size)
        return out


def inspect_module(data: bytes, platform_id: Optional[int] = None) -> dict:
    """Validate a received firmware module as Device OS lays it out: prefix (at 0, 0x200, 0x184,
    0xC0 or 0x10C), `end − start + 4 == length`, CRC-32 (big-endian, over all but the last 4 bytes),
    SHA-256 over [0, len − 38) against the suffix, platform ID. Returns a report with `ok`, `code` (system
    error) and the module's identity."""
    r: dict[str, Any] = {"size": len(data), "crc32_ok": False, "sha256_ok": False, "ok": False,
                         "code": 0, "message": "", "file_sha256": hashlib.sha256(data).hexdigest()}
    if len(data) < 64:
        r.update(code=-1370, message="module too short")
        return r
    stored_crc = int.from_bytes(data[-4:], "big")
    r["crc32"] = f"{crc32(data[:-4]):08x}"
    r["crc32_ok"] = crc32(data[:-4]) == stored_crc
    suffix_size = int.from_bytes(data[-6:-4], "little")
    sha = data[-38:-6]
    r["sha256"] = sha.hex()
    r["sha256_ok"] = hashlib.sha256(data[:-38]).digest() == sha
    r["suffix_size"] = suffix_size
    if suffix_size >= 40:
        r["product_id"] = int.from_bytes(data[-44:-42], "little")
        r["product_version"] = int.from_bytes(data[-42:-40], "little")
    prefix_at = None
    for off in (0, 0x200, 0x184, 0xC0, 0x10C):
        if off + 24 > len(data):
            continue
        start, end = struct.unpack_from("<II", data, off)
        if start < end and end - start + 4 == len(data):
            prefix_at = off
            break
    if prefix_at is None:
        r.update(code=-1370, message="no module prefix with end - start + 4 == file length")
        return r
    p = data[prefix_at:prefix_at + 24]
    r.update(prefix_offset=prefix_at, flags=p[9], module_version=int.from_bytes(p[10:12], "little"),
             platform_id=int.from_bytes(p[12:14], "little"), function=p[14], index=p[15],
             dependencies=[[p[16 + 4 * k], p[17 + 4 * k], int.from_bytes(p[18 + 4 * k:20 + 4 * k], "little")]
                           for k in range(2) if p[16 + 4 * k]])
    if not r["crc32_ok"] or not r["sha256_ok"]:
        r.update(code=-1330, message="integrity check failed (" + ("CRC-32" if not r["crc32_ok"] else "SHA-256")
                 + " mismatch)")
        return r
    if suffix_size < 36 or suffix_size > len(data) - 28:
        r.update(code=-1370, message="invalid suffix size")
        return r
    if platform_id is not None and r["platform_id"] != platform_id:
        r.update(code=-1360, message=f"platform {r['platform_id']} is not {platform_id}")
        return r
    if r["function"] == 0:
        r.update(code=-1370, message="module function 0")
        return r
    r["ok"] = True
    return r


def build_test_module(platform_id: int = 12, body: bytes = b"\xaa" * 16, function: int = 5, index: int = 1,
                      module_version: int = 6, dependency: tuple = (4, 1, 5800), start: int = 0x000B4000,
                      product_id: Optional[int] = None, product_version: int = 3) -> bytes:
    """Build a module in the layout of the OTA notes (the vector with the defaults)."""
    total = 24 + len(body) + 40 + 4
    prefix = struct.pack("<IIBBHHBB", start, start + total - 4, 0, 0, module_version, platform_id, function, index)
    prefix += bytes([dependency[0], dependency[1]]) + struct.pack("<H", dependency[2]) + b"\x00" * 4
    head = prefix + body + struct.pack("<HHH", platform_id if product_id is None else product_id,
                                       product_version, 0)
    head += hashlib.sha256(head).digest() + struct.pack("<H", 40)
    return head + crc32(head).to_bytes(4, "big")


@dataclass
class DeviceProfile:
    """Static identity and capabilities: the Hello fields, Device OS generation switches,
    the Describe contents."""
    device_id: bytes
    platform_id: int = 12
    product_id: Optional[int] = None
    product_version: int = 0xFFFF
    device_os: tuple = (6, 2, 0)
    system_version: Optional[int] = None
    flags: Optional[int] = None
    max_message_size: int = 1152
    max_binary_size: int = 1536000
    ota_chunk_size: int = 512
    describe_format: str = "json"      # or "protobuf" (system Describe with Content-Format 42, ≥ 5.5.0)
    keepalive: float = 25.0            # Wi-Fi default; 0 disables keep-alive pings

    def __post_init__(self):
        if self.system_version is None:
            a, b, c = self.device_os
            self.system_version = a * 1000 + b * 100 + c
        if self.flags is None:
            self.flags = 0x00F6 if self.device_os >= (3, 0, 0) else 0x0036
        if self.product_id is None:
            self.product_id = self.platform_id

    @property
    def offers_cid(self) -> bool:
        return self.device_os >= (3, 1, 0)

    @property
    def resume_marker(self) -> str:
        if self.device_os >= (4, 0, 0):
            return "fd"
        return "none" if self.device_os >= (3, 1, 0) else "fe"

    @property
    def describe_token(self) -> bool:
        return self.device_os >= (3, 3, 0)

    @property
    def ota_v3(self) -> bool:
        return bool(self.flags & 0x80)


# ----------------------------------------------------------------------------------------------
# The device: CoAP over DTLS
# ----------------------------------------------------------------------------------------------

DROP = object()        # handler result: do not answer at all (no ACK), as if the message was never received
ACK_TIMEOUT = 4.0      # coap_channel.h ACK_TIMEOUT
MAX_RETRANSMIT = 3
DEDUPE_SPAN = 45.0     # MAX_TRANSMIT_SPAN: cached reply for duplicated server CONs
PING_TIMEOUT = 30.0
GOODBYE_WAIT = 60.0    # wait_confirmable


class Timer:
    __slots__ = ("when", "fn", "cancelled")

    def __init__(self, when: float, fn: Callable[[], None]):
        self.when, self.fn, self.cancelled = when, fn, False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: "Timer") -> bool:
        return self.when < other.when


@dataclass
class Outstanding:
    """A CON the device sent and is retransmitting until ACKed (coap_channel.h)."""
    msg: CoAPMessage
    kind: str
    on_ack: Optional[Callable[[CoAPMessage], None]] = None
    discard_on_timeout: bool = True
    separate: bool = False        # the answer may come as a separate response matched by token
    attempt: int = 0
    timer: Optional[Timer] = None
    acked: bool = False
    done: bool = False
    failed: Optional[str] = None
    response: Optional[CoAPMessage] = None
    sent_at: float = 0.0


class CoAPDevice:
    """A Particle device's cloud connection over DTLS.

    Connection: full handshake or resumption from retained session state (no datagram exchanged,
    `use_counter` < 3, records marked 253 until the first received record); then a CON Hello (and the full
    start-up sequence) on a full handshake or when the app-state descriptor changed, else one CON ping plus the
    update-flag events.

    Reliability: every device CON is retransmitted after 4 s × 2ⁿ × [1, 1.5), at most 3 times; the final
    timeout drops the connection *and discards the session*. Server CONs are ACKed and de-duplicated by message
    ID for 45 s (the cached reply is re-sent, the request not re-processed). While the Hello is unacknowledged,
    server CONs are dropped. Any RST discards the session.

    Everything observed is reported through `out(dict)` as one JSON object per line; protocol violations by the
    server get `{"type": "violation", ...}` so a test can assert there were none."""

    def __init__(self, profile: DeviceProfile, device_key: ec.EllipticCurvePrivateKey,
                 server_key: ec.EllipticCurvePublicKey, server_addr: tuple[str, int], *,
                 out: Callable[[dict], None], timer_scale: float = 1.0, session_file: Optional[str] = None,
                 trace: bool = False, reboot_reconnect: bool = True, bind_host: Optional[str] = None):
        self.profile = profile
        self.device_key = device_key
        self.server_key = server_key
        self.server_spki = spki_der(server_key)
        self.server_addr = server_addr
        self.out = out
        self.scale = timer_scale
        self.session_file = session_file
        self.trace = trace
        self.reboot_reconnect = reboot_reconnect
        self.bind_host = bind_host
        self.keys_checksum = crc32(self.server_spki + device_key_der(device_key))

        self.sock: Optional[socket.socket] = None
        self.session: Optional[Session] = None
        self.records: Optional[RecordLayer] = None
        self.connected = False
        self.hello_pending = False
        self.pending: dict[int, Outstanding] = {}
        self.by_token: dict[bytes, Outstanding] = {}
        self.dedupe: dict[int, tuple[float, Optional[bytes]]] = {}
        self.timers: list[Timer] = []
        self.deferred: list[Callable[[], None]] = []
        self._running_deferred = False
        self.token_counter = random.randrange(256)
        self.last_rx = self.last_tx = 0.0
        self.keepalive_timer: Optional[Timer] = None
        self.ping_sent_at: Optional[float] = None
        self.last_failure = ""
        self.ignore_server_cons = 0

        # Application and system state
        self.variables: dict[str, tuple[str, Any]] = {}
        self.functions: dict[str, dict] = {}
        self.subscriptions: list[tuple[str, Optional[str]]] = []
        self.updates_enabled = True
        self.updates_forced = False
        self.ota_success_flag = False
        self.last_reset_pending: Optional[str] = None
        self.time_synced = False
        self.claim_code: Optional[str] = None
        self.modules = self._default_modules()
        self.ota = OTAReceiver(self)
        self.load_session()

    # -- output ------------------------------------------------------------------------------------

    def emit(self, type: str, **fields: Any) -> None:
        obj = {"type": type}
        obj.update(fields)
        self.out(obj)

    def violation(self, detail: str, **fields: Any) -> None:
        self.emit("violation", detail=detail, **fields)

    # -- modules and descriptions --------------------------------------------------------------------

    def _default_modules(self) -> list[FirmwareModule]:
        p = self.profile

        def fake_hash(*parts: Any) -> bytes:
            return hashlib.sha256(repr(parts).encode()).digest()

        boot = 2000 + p.device_os[0] * 100 + p.device_os[1]
        return [
            FirmwareModule(2, 0, boot, fake_hash("b", boot), 49152),
            FirmwareModule(4, 1, p.system_version, fake_hash("s", p.system_version), 1048576, [(2, 0, boot)]),
            FirmwareModule(5, 1, 6, fake_hash("u", p.device_id), 262144, [(4, 1, p.system_version)]),
        ]

    def system_describe(self) -> tuple[bytes, bool]:
        """System Describe payload: protobuf SystemDescribe (Content-Format 42) or the JSON that TCP devices send."""
        if self.profile.describe_format == "protobuf":
            return b"".join(_pb_field(1, m.protobuf()) for m in self.modules), True
        doc = {"p": self.profile.platform_id, "m": [m.json() for m in self.modules]}
        return json.dumps(doc, separators=(",", ":")).encode(), False

    def app_describe(self) -> bytes:
        doc = {"f": list(self.functions), "v": {n: VAR_TYPES[k] for n, (k, _) in self.variables.items()}}
        return json.dumps(doc, separators=(",", ":")).encode()

    def system_describe_crc(self) -> int:
        """`compute_describe_system_checksum`: platform ID + Σ crc32(module SHA-256)."""
        return (self.profile.platform_id + sum(crc32(m.sha256) for m in self.modules)) & 0xFFFFFFFF

    def subscriptions_crc(self) -> int:
        return crc32(json.dumps(self.all_subscriptions()).encode())

    def all_subscriptions(self) -> list:
        return [["particle", "u"], ["spark", "u"]] + [[p, s] for p, s in self.subscriptions]

    def hello_flags(self) -> int:
        return self.profile.flags | (0x01 if self.ota_success_flag else 0)

    def hello_payload(self) -> bytes:
        """Hello payload: ≥ 3.0.0 the 32-byte layout; before, 22 bytes with a 1-byte flags field."""
        p = self.profile
        if p.device_os >= (3, 0, 0):
            return (struct.pack(">HHHHBB", p.product_id, p.product_version, self.hello_flags(), p.platform_id, 0,
                                len(p.device_id)) + p.device_id
                    + struct.pack(">HHIH", p.system_version, p.max_message_size, p.max_binary_size, p.ota_chunk_size))
        return struct.pack(">HHBBHH", p.product_id, p.product_version, 0, self.hello_flags() & 0xFF, p.platform_id,
                           len(p.device_id)) + p.device_id

    def hello_state(self) -> dict:
        """The Hello-related part of the AppStateDescriptor (flags 0x08–0x80)."""
        p = self.profile
        return {"protocol_flags": self.hello_flags(), "system_version": p.system_version,
                "max_message_size": p.max_message_size, "max_binary_size": p.max_binary_size,
                "ota_chunk_size": p.ota_chunk_size}

    def app_state_changed(self) -> list[str]:
        cached = self.session.app_state if self.session else {}
        changed = [k for k, v in self.hello_state().items() if cached.get(k) != v]
        if cached.get("system_describe_crc") != self.system_describe_crc():
            changed.append("system_describe_crc")
        return changed

    # -- event loop --------------------------------------------------------------------------------

    def schedule(self, delay: float, fn: Callable[[], None]) -> Timer:
        t = Timer(time.monotonic() + delay, fn)
        heapq.heappush(self.timers, t)
        return t

    def defer(self, fn: Callable[[], None]) -> None:
        self.deferred.append(fn)

    def step(self, max_wait: float, extra_fds: tuple = ()) -> list:
        """One turn of the loop: run deferred actions, wait for a datagram (or an extra fd) until the next timer,
        handle what arrived, fire due timers. Returns the extra fds that are readable."""
        if self.deferred and not self._running_deferred:
            self._running_deferred = True
            try:
                while self.deferred:
                    self.deferred.pop(0)()
            finally:
                self._running_deferred = False
        now = time.monotonic()
        while self.timers and self.timers[0].cancelled:
            heapq.heappop(self.timers)
        wait = max_wait
        if self.timers:
            wait = min(wait, max(0.0, self.timers[0].when - now))
        fds = ([self.sock] if self.sock else []) + list(extra_fds)
        if fds:
            readable, _, _ = select.select(fds, [], [], wait)
        else:
            time.sleep(wait)
            readable = []
        if self.sock is not None and self.sock in readable:
            self._read_socket()
        now = time.monotonic()
        while self.timers and (self.timers[0].cancelled or self.timers[0].when <= now):
            t = heapq.heappop(self.timers)
            if not t.cancelled:
                t.fn()
        return [fd for fd in readable if fd in extra_fds]

    def run_until(self, predicate: Callable[[], bool], timeout: Optional[float] = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not predicate():
            if end is not None and time.monotonic() >= end:
                return False
            self.step(0.25 if end is None else max(0.0, min(0.25, end - time.monotonic())))
        return True

    # -- socket and records ------------------------------------------------------------------------

    def open_socket(self) -> None:
        """A new UDP socket (new ephemeral source port), connect()ed so that only the server's address and
        port are accepted."""
        self.close_socket()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.bind_host or ("127.0.0.1" if self.server_addr[0].startswith("127.") else ""), 0))
        s.connect(self.server_addr)
        self.sock = s

    def close_socket(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    @property
    def local_port(self) -> Optional[int]:
        return self.sock.getsockname()[1] if self.sock else None

    def _read_socket(self) -> None:
        assert self.sock is not None
        self.sock.setblocking(False)
        try:
            while self.sock is not None:
                try:
                    data = self.sock.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionRefusedError:
                    continue   # ICMP port unreachable: the device sees nothing
                self._on_datagram(data)
        finally:
            if self.sock is not None:
                self.sock.setblocking(True)

    def _on_datagram(self, data: bytes) -> None:
        if len(data) <= 1:
            # "ignore 0 and 1 byte UDP packets which are used to keep alive the connection"
            if self.trace:
                self.emit("keepalive_byte", hex=data.hex())
            return
        if self.records is None:
            return
        for rec in parse_records(data):
            if rec.content_type in (CT_CID, CT_RESUME):
                self.violation("server sent a CID record; the device's own CID is empty and it ignores them")
                continue
            if rec.epoch == 0:
                if self.trace:
                    self.emit("record_dropped", reason="epoch 0 record after the handshake", content_type=rec.content_type)
                continue
            opened = self.records.open(rec)
            if opened is None:
                if self.trace:
                    self.emit("record_dropped", reason="authentication failed, replayed or not epoch 1", seq=rec.seq)
                continue
            ct, plain = opened
            if self.records.move_session:
                # cancel_move_session: the first decrypted record ends the 253 marking and resets use_counter.
                self.records.move_session = False
                if self.session:
                    self.session.use_counter = 0
                self.emit("resume_confirmed")
            self.save_session()
            if len(plain) > self.profile.max_message_size:
                # "bad message length": mbedtls_ssl_read fails and the device resets its session.
                self.violation("record larger than the max message size from Hello", size=len(plain),
                               max=self.profile.max_message_size)
                self.discard_session("record exceeds the max message size")
                return
            if ct == CT_ALERT:
                level, desc = (plain + b"\0\0")[:2]
                self.emit("alert", level=level, description=desc)
                if desc == 0 or level == 2:
                    self.discard_session("close_notify" if desc == 0 else f"fatal alert {desc}")
                    return
                continue
            if ct == CT_HANDSHAKE:
                continue        # a retransmitted server Finished; nothing to do
            self._on_coap(plain)
            if self.records is None:
                return

    def _send_raw_coap(self, raw: bytes) -> None:
        if self.sock is None or self.records is None:
            return
        rec = self.records.seal(CT_APP, raw)
        try:
            self.sock.send(rec)
        except OSError as e:
            self.emit("send_error", error=str(e))
        self.last_tx = time.monotonic()
        self.save_session()
        if self.trace:
            self.emit("coap_out", hex=raw.hex(), record_type=rec[0], **{"local_port": self.local_port})

    def send_message(self, msg: CoAPMessage) -> None:
        self._send_raw_coap(msg.encode())

    # -- message ids and tokens --------------------------------------------------------------------

    def new_mid(self) -> int:
        assert self.session is not None
        self.session.next_coap_id = (self.session.next_coap_id + 1) & 0xFFFF
        return self.session.next_coap_id

    def new_token(self) -> bytes:
        self.token_counter = (self.token_counter + 1) & 0xFF
        return bytes([self.token_counter])

    # -- confirmable messages ------------------------------------------------------------------------

    def send_con(self, msg: CoAPMessage, kind: str, on_ack: Optional[Callable[[CoAPMessage], None]] = None,
                 discard_on_timeout: bool = True, separate: bool = False) -> Outstanding:
        o = Outstanding(msg, kind, on_ack, discard_on_timeout, separate, sent_at=time.monotonic())
        self.pending[msg.mid] = o
        if msg.token:
            self.by_token[msg.token] = o
        self.send_message(msg)
        self._arm_retransmit(o)
        return o

    def _arm_retransmit(self, o: Outstanding) -> None:
        t = ACK_TIMEOUT * (2 ** o.attempt)
        t += t * random.randrange(256) / 512.0           # × [1.0, 1.5)
        o.timer = self.schedule(t * self.scale, lambda: self._retransmit(o))

    def _retransmit(self, o: Outstanding) -> None:
        if o.acked or o.done or self.pending.get(o.msg.mid) is not o:
            return
        if o.attempt >= MAX_RETRANSMIT:
            o.failed = "timeout"
            self.pending.pop(o.msg.mid, None)
            self.by_token.pop(o.msg.token, None)
            self.emit("con_timeout", kind=o.kind, mid=o.msg.mid)
            self.last_failure = f"{o.kind} was not acknowledged"
            if o.discard_on_timeout:
                self.discard_session(f"CoAP message timeout ({o.kind})")
            return
        o.attempt += 1
        if self.trace:
            self.emit("retransmit", kind=o.kind, mid=o.msg.mid, attempt=o.attempt)
        self.send_message(o.msg)
        self._arm_retransmit(o)

    def _finish(self, o: Outstanding, response: CoAPMessage) -> None:
        o.done = True
        o.response = response
        if o.timer:
            o.timer.cancel()
        self.pending.pop(o.msg.mid, None)
        if o.msg.token and self.by_token.get(o.msg.token) is o:
            del self.by_token[o.msg.token]
        if o.on_ack:
            o.on_ack(response)

    # -- incoming CoAP -----------------------------------------------------------------------------

    def _on_coap(self, raw: bytes) -> None:
        try:
            msg = CoAPMessage.decode(raw)
        except CoAPError as e:
            self.violation(f"undecodable CoAP message: {e}", hex=raw.hex())
            return
        self.last_rx = time.monotonic()
        self.ping_sent_at = None
        if self.trace:
            self.emit("coap_in", hex=raw.hex(), **msg.describe())
        if msg.type == ACK:
            self._on_ack(msg, raw)
            return
        if msg.type == RST:
            # CoAPMessageStore::receive: "Received RST message; discarding session".
            self.emit("rst", mid=msg.mid)
            self.discard_session("Received RST message")
            return
        if len(msg.token) > 1:
            self.violation("Unsupported token length (the device accepts 0 or 1)", token=msg.token.hex())
            return
        if msg.type == CON:
            if self.hello_pending:
                self.emit("dropped", reason="server CON while the Hello is not yet acknowledged",
                          mid=msg.mid)
                return
            if self.ignore_server_cons > 0:
                self.ignore_server_cons -= 1
                self.emit("dropped", reason="ignore_server_cons", mid=msg.mid)
                return
            cached = self.dedupe.get(msg.mid)
            if cached and cached[0] > time.monotonic():
                self.emit("duplicate", mid=msg.mid)
                if cached[1] is not None:
                    self._send_raw_coap(cached[1])
                return
        if msg.code >= 0x40:
            self._on_separate_response(msg)
            return
        try:
            reply, after = self._handle_request(msg, raw)
        except Exception as e:          # keep the peer alive; report it
            self.emit("internal_error", error=repr(e))
            reply, after = None, []
        if reply is DROP:
            return
        if isinstance(reply, CoAPMessage) and reply.type == RST:
            self.send_message(reply)
        elif msg.type == CON:
            ack = reply if isinstance(reply, CoAPMessage) else empty_ack(msg.mid)
            ack_raw = ack.encode()
            self.dedupe[msg.mid] = (time.monotonic() + DEDUPE_SPAN, ack_raw)
            self._send_raw_coap(ack_raw)
        for fn in after:
            fn()

    def _on_ack(self, msg: CoAPMessage, raw: bytes) -> None:
        o = self.pending.get(msg.mid)
        if o is None:
            if self.trace:
                self.emit("ack_unmatched", mid=msg.mid)
            return
        o.acked = True
        if o.timer:
            o.timer.cancel()
        self.pending.pop(msg.mid, None)
        if msg.code == EMPTY and o.separate:
            return          # the response will come separately, matched by token
        self._finish(o, msg)

    def _on_separate_response(self, msg: CoAPMessage) -> None:
        o = self.by_token.get(msg.token) if msg.token else None
        if msg.type == CON:
            ack = empty_ack(msg.mid).encode()
            self.dedupe[msg.mid] = (time.monotonic() + DEDUPE_SPAN, ack)
            self._send_raw_coap(ack)
        if o is not None and o.separate:
            self._finish(o, msg)
            return
        if msg.code == CONTENT:
            self.violation("unsolicited 2.05: the device treats every 2.05 as a time response")
        else:
            self.violation(f"unexpected response {code_str(msg.code)} with no matching request", mid=msg.mid)

    def _handle_request(self, msg: CoAPMessage, raw: bytes) -> tuple[Any, list]:
        if msg.code == EMPTY:
            if msg.type == CON:
                self.emit("ping", source="server", mid=msg.mid)
            return None, []
        tkl = len(msg.token)
        if msg.options and msg.options[0][0] == OPT_URI_PATH and len(msg.options[0][1]) == 1:
            letter = chr(msg.options[0][1][0])
        else:
            self.violation("the first option of a server request must be a one-byte Uri-Path (b1 <letter>)",
                           hex=raw.hex())
            letter = chr(raw[5 + tkl]) if len(raw) > 5 + tkl else ""
        code, v3 = msg.code, self.profile.ota_v3
        if letter == "v" and code == GET:
            return self._variable(msg)
        if letter == "f" and code == POST:
            return self._function(msg)
        if letter == "d" and code == GET:
            return self._describe_request(msg)
        if letter in ("e", "E"):
            return self._event(msg)
        if letter == "s" and code == PUT:
            on = raw[8] if len(raw) > 8 else None     # Signal reads its flag at fixed offset 8
            self.emit("signal", on=bool(on), raw_flag=on)
            return None, []
        if letter == "k" and code == PUT:
            flag = raw[7 + tkl] if len(raw) > 7 + tkl else None   # handle_key_change reads byte 7 + tkl
            self.emit("key_change", flag=flag)
            if flag == 1:
                return None, [lambda: self.defer(lambda: self.discard_session("key change (/k)"))]
            return None, []
        if letter == "h" and code == POST:
            self.ota_success_flag = False
            self.emit("server_hello", con=msg.type == CON)
            return None, []
        if letter in ("u", "c"):
            if v3:
                self.emit("ignored", reason="legacy OTA request on an OTA v3 device", path="/".join(msg.uri_path))
                return DROP, []
            if letter == "u" and code == POST:
                return self.ota.update_begin(msg, raw)
            if letter == "u" and code == PUT:
                return self.ota.update_done(msg, raw)
            if letter == "c" and code == POST:
                return self.ota.chunk(msg, raw)
        if letter in ("S", "C", "F") and code == POST:
            if not v3:
                self.emit("ignored", reason="OTA v3 request on a legacy-OTA device", path=letter)
                return DROP, []
            return {"S": self.ota.v3_start, "C": self.ota.v3_chunk, "F": self.ota.v3_finish}[letter](msg, raw)
        if letter == "M":
            self.emit("server_moved", payload_hex=msg.payload.hex())
            return None, []
        self.violation("request the device does not handle", code=code_str(code), path="/".join(msg.uri_path))
        return None, []

    # -- server requests ---------------------------------------------------------------------------

    def _separate(self, code: int, token: bytes, payload: bytes, kind: str, options: Optional[list] = None,
                  on_ack: Optional[Callable[[CoAPMessage], None]] = None) -> Callable[[], None]:
        """A separate response: CON over UDP, retransmitted like any device CON."""
        def send() -> None:
            if self.connected:
                self.send_con(CoAPMessage(CON, code, self.new_mid(), token, options or [], payload), kind, on_ack)
        return send

    def _variable(self, msg: CoAPMessage) -> tuple[Any, list]:
        name = "/".join(msg.uri_path[1:])
        var = self.variables.get(name)
        self.emit("variable_request", name=name, found=var is not None)
        if var is None:
            return CoAPMessage(ACK, NOT_FOUND, msg.mid, msg.token), []
        kind, value = var
        return None, [self._separate(CONTENT, msg.token, encode_variable(kind, value), "variable_response")]

    def _function(self, msg: CoAPMessage) -> tuple[Any, list]:
        name = "/".join(msg.uri_path[1:])
        queries = msg.opt(OPT_URI_QUERY)
        arg = queries[0] if queries else b""
        fn = self.functions.get(name)
        self.emit("function_call", name=name, arg=arg.decode("utf-8", "replace"), arg_hex=arg.hex(),
                  arg_length=len(arg), found=fn is not None, queries=len(queries))
        if len(arg) > (1024 if self.profile.device_os >= (3, 0, 0) else 622):
            return CoAPMessage(ACK, BAD_REQUEST, msg.mid, msg.token), []
        if fn is None:
            return CoAPMessage(ACK, NOT_FOUND, msg.mid, msg.token), []
        ret = fn.get("return", 0)
        value = len(arg) if ret == "len" else int(ret)
        after = []
        if fn.get("publish"):
            ev = fn["publish"]
            after.append(lambda: self.publish(ev.get("name", name), ev.get("data", arg.decode("utf-8", "replace"))))
        after.append(self._separate(CHANGED, msg.token, struct.pack(">i", value), "function_response"))
        return None, after

    def _describe_request(self, msg: CoAPMessage) -> tuple[Any, list]:
        q = msg.first(OPT_URI_QUERY)
        if not q:
            self.emit("describe_request", flags=None)
            return CoAPMessage(ACK, BAD_REQUEST, msg.mid, msg.token), []     # ≥ 3.3.0: flags are mandatory
        flags = q[0]
        self.emit("describe_request", flags=flags)
        options: list = []
        if flags & 1 and self.profile.describe_format == "protobuf":
            payload, _ = self.system_describe()
            options = [(OPT_CONTENT_FORMAT, b"\x2a")]
        else:
            doc: dict = {}
            if flags & 1:
                doc.update(json.loads(self.system_describe()[0]))
            if flags & 2:
                doc.update(json.loads(self.app_describe()))
            payload = json.dumps(doc, separators=(",", ":")).encode() if doc else b""
        return None, [self._separate(CONTENT, msg.token, payload, "describe_response", options)]

    def _event(self, msg: CoAPMessage) -> tuple[Any, list]:
        name = "/".join(msg.uri_path[1:])
        subscribed = [p for p, _ in [("particle", None), ("spark", None)] + self.subscriptions if name.startswith(p)]
        self.emit("event", name=name, data=msg.payload.decode("utf-8", "replace"), data_hex=msg.payload.hex(),
                  con=msg.type == CON, subscribed=bool(subscribed), path_letter=msg.uri_path[0] if msg.uri_path else "")
        if name == "particle/device/updates/forced":
            self.updates_forced = msg.payload == b"true"
        elif name == "particle/device/updates/pending":
            self.emit("update_pending", pending=msg.payload == b"true")
        return None, []

    # -- connection lifecycle ------------------------------------------------------------------------

    def connect(self, resume: str = "auto", fallback: bool = True, server: Optional[tuple[str, int]] = None) -> dict:
        """Connect as Device OS does. `resume`: "auto" (resume a usable session, else handshake),
        "never" (always handshake), "require" (fail if no usable session). With `fallback`, a resumed session
        that the server does not answer (CoAP timeout → session discarded) is followed by a full handshake."""
        if self.connected:
            raise PeerError("already connected")
        if server:
            self.server_addr = server
        fell_back = False
        while True:
            self.last_failure = ""
            resumed = self._establish(resume)
            hello = self._begin(resumed)
            if self.connected:
                break
            if resumed and fallback and resume != "require":
                self.emit("resume_failed", reason=self.last_failure)
                resume, fell_back = "never", True
                continue
            raise PeerError(self.last_failure or "connection failed")
        self._arm_keepalive()
        result = {"resumed": resumed, "hello_sent": hello, "fallback": fell_back,
                  "cid": self.session.cid.hex() if self.session and self.session.cid else None,
                  "local_port": self.local_port}
        self.emit("connected", **result)
        return result

    def usable_session(self) -> Optional[str]:
        """Why the retained session cannot be resumed, or None if it can (`SessionPersist::restore`)."""
        s = self.session
        if s is None:
            return "no session"
        if not s.persistent:
            return "session never became persistent (Hello of the full handshake not acknowledged)"
        if s.keys_checksum != self.keys_checksum:
            return "server key or device key changed"
        if s.use_counter >= 3:
            return "session resumed 3 times without receiving anything (MAXIMUM_SESSION_USES)"
        return None

    def _establish(self, resume: str) -> bool:
        self.open_socket()
        why_not = self.usable_session()
        if resume == "require" and why_not:
            self.close_socket()
            raise PeerError(f"cannot resume: {why_not}")
        if resume != "never" and why_not is None:
            s = self.session
            assert s is not None
            s.use_counter += 1
            self.records = RecordLayer(s, self.profile.resume_marker, self.profile.device_id)
            self.records.move_session = True
            self.save_session()
            self.emit("session_resumed", use_counter=s.use_counter, cid=s.cid.hex() if s.cid else None,
                      out_ctr=s.out_ctr, local_port=self.local_port, marker=self.profile.resume_marker)
            return True
        if self.session is not None and why_not and resume != "never" and self.session.persistent:
            self.emit("session_discarded", reason=why_not)
        self.session = None
        self.records = None
        client = DTLSClient(self.sock, self.device_key, self.server_key, offer_cid=self.profile.offers_cid,
                            timer_scale=self.scale, log=lambda **kw: self.emit(**kw) if (self.trace or
                            kw.get("type") in ("violation", "dtls_hello_verify")) else None,
                            marker=self.profile.resume_marker, device_id=self.profile.device_id)
        try:
            result = client.run()
        except HandshakeError as e:
            self.close_socket()
            self.emit("handshake_failed", reason=str(e))
            raise
        s = result.session
        s.keys_checksum = self.keys_checksum
        s.next_coap_id = random.randrange(0x10000)
        self.session = s
        self.records = result.records
        self.save_session()
        self.emit("handshake", cid=s.cid.hex() if s.cid else None, hello_verify=result.hello_verify,
                  local_port=self.local_port, out_ctr=s.out_ctr)
        return False

    def _begin(self, resumed: bool) -> bool:
        """`Protocol::begin` plus the system's start-up messages. Returns whether a Hello was sent."""
        self.connected = True
        self.pending.clear()
        self.by_token.clear()
        self.dedupe.clear()
        self.last_rx = self.last_tx = time.monotonic()
        changed = self.app_state_changed() if resumed else ["full handshake"]
        batch: list[Outstanding] = []
        if changed:
            if resumed:
                self.emit("app_state_changed", fields=changed)
                assert self.session is not None
                self.session.app_state = {}
            if not self._hello(resumed):
                return True
            batch += self._startup_full()
        else:
            # "Skipping HELLO message": one CON ping, then the update-flag events.
            o = self.send_con(CoAPMessage(CON, EMPTY, self.new_mid()), "resume_ping")
            self.run_until(lambda: o.done or o.failed is not None or not self.connected)
            if not self.connected:
                return False
            batch += self._startup_resumed()
        self.run_until(lambda: not self.connected or all(o.done or o.failed for o in batch))
        return bool(changed)

    def _hello(self, resumed: bool) -> bool:
        msg = CoAPMessage(CON, POST, self.new_mid(), b"", [(OPT_URI_PATH, b"h")], self.hello_payload())
        self.hello_pending = True
        o = self.send_con(msg, "hello")
        self.emit("hello_sent", mid=msg.mid, flags=self.hello_flags(), payload_hex=msg.payload.hex())
        self.run_until(lambda: o.done or o.failed is not None or not self.connected)
        self.hello_pending = False
        if not self.connected or not o.done:
            return False
        assert self.session is not None
        if not resumed:
            self.session.persistent = True      # notify_established → make_persistent
        self.session.app_state.update(self.hello_state())
        self.save_session()
        self.emit("hello_acked", code=code_str(o.response.code) if o.response else None)
        return True

    def _startup_full(self) -> list[Outstanding]:
        """order of issue after a Hello: system Describe, claim code, time, last_reset,
        update flags, application Describe, subscriptions."""
        batch = [self.push_describe(1)]
        if self.claim_code:
            batch.append(self.publish("spark/device/claim/code", self.claim_code))
        batch.append(self.request_time())
        batch += self._reset_and_update_flag_events()
        batch.append(self.push_describe(2))
        batch += self.send_subscriptions()
        return [o for o in batch if o is not None]

    def _startup_resumed(self) -> list[Outstanding]:
        """"Equal": update flags (+ last_reset after a reset), time only if the clock is not set, and the
        application Describe / subscriptions only if their CRCs differ from what the server ACKed."""
        batch = self._reset_and_update_flag_events()
        if not self.time_synced:
            batch.append(self.request_time())
        cached = self.session.app_state if self.session else {}
        if cached.get("app_describe_crc") != crc32(self.app_describe()):
            batch.append(self.push_describe(2))
        if cached.get("subscriptions_crc") != self.subscriptions_crc():
            batch += self.send_subscriptions()
        return [o for o in batch if o is not None]

    def _reset_and_update_flag_events(self) -> list:
        batch = []
        if self.last_reset_pending:
            batch.append(self.publish("spark/device/last_reset", self.last_reset_pending))
            self.last_reset_pending = None
        batch.append(self.publish("particle/device/updates/enabled", "true" if self.updates_enabled else "false"))
        batch.append(self.publish("particle/device/updates/forced", "true" if self.updates_forced else "false"))
        return batch

    def disconnect(self, reason: str, keep_session: bool = True) -> None:
        """Close the connection. The retained session stays unless `keep_session` is false."""
        was = self.connected or self.sock is not None
        for o in list(self.pending.values()):
            if o.timer:
                o.timer.cancel()
            if not o.done and not o.failed:
                o.failed = "disconnected"
        self.pending.clear()
        self.by_token.clear()
        self.hello_pending = False
        if self.keepalive_timer:
            self.keepalive_timer.cancel()
            self.keepalive_timer = None
        self.ota.on_disconnect()
        self.close_socket()
        self.connected = False
        if not keep_session:
            self.session = None
            self.records = None
        self.save_session()
        if was:
            self.last_failure = self.last_failure or reason
            self.emit("disconnected", reason=reason, session_kept=self.session is not None)

    def discard_session(self, reason: str) -> None:
        """DISCARD_SESSION / reset_session: drop the connection and the DTLS session (full handshake next)."""
        self.last_failure = reason
        self.emit("session_discarded", reason=reason)
        self.disconnect(reason, keep_session=False)

    # -- keep-alive -------------------------------------------------------------------------

    def _arm_keepalive(self) -> None:
        if self.keepalive_timer:
            self.keepalive_timer.cancel()
        if self.profile.keepalive > 0:
            self.keepalive_timer = self.schedule(0.2, self._keepalive_tick)

    def _keepalive_tick(self) -> None:
        if not self.connected:
            return
        now = time.monotonic()
        if self.ping_sent_at is not None and now - self.ping_sent_at >= PING_TIMEOUT * self.scale:
            self.ping_sent_at = None
            self.emit("ping_timeout")
            self.disconnect("ping timeout", keep_session=True)
            return
        if self.ping_sent_at is None and now - max(self.last_rx, self.last_tx) >= self.profile.keepalive:
            self.ping_sent_at = now
            self.emit("keepalive_ping")
            self.send_con(CoAPMessage(CON, EMPTY, self.new_mid()), "keepalive_ping")
        self.keepalive_timer = self.schedule(0.2, self._keepalive_tick)

    # -- device-originated messages ------------------------------------------------------------------

    def _require_connected(self) -> None:
        if not self.connected:
            raise PeerError("not connected")

    def push_describe(self, flags: int) -> Outstanding:
        """Device-initiated Describe: CON POST /d?<flags>, 1-byte token since 3.3.0, system part as
        protobuf with Content-Format 42 when configured (≥ 5.5.0). The CRC is cached when the server ACKs."""
        self._require_connected()
        if flags == 1:
            payload, pb = self.system_describe()
            crc_key, crc = "system_describe_crc", self.system_describe_crc()
        else:
            payload, pb = self.app_describe(), False
            crc_key, crc = "app_describe_crc", crc32(payload)
        opts = [(OPT_URI_PATH, b"d")]
        if pb:
            opts.append((OPT_CONTENT_FORMAT, b"\x2a"))
        opts.append((OPT_URI_QUERY, bytes([flags])))
        token = self.new_token() if self.profile.describe_token else b""
        if len(payload) + 16 > self.profile.max_message_size:
            self.emit("warning", detail="Describe larger than the max message size; this peer does not send "
                      "blockwise Describe", size=len(payload))

        def acked(m: CoAPMessage) -> None:
            if self.session and m.code < 0x80:
                self.session.app_state[crc_key] = crc
                self.save_session()
            self.emit("describe_acked", flags=flags, code=code_str(m.code))
        return self.send_con(CoAPMessage(CON, POST, self.new_mid(), token, opts, payload), f"describe{flags}", acked)

    def request_time(self) -> Outstanding:
        """CON GET /t with a token; the reply is read at bytes 6–9."""
        self._require_connected()

        def answered(m: CoAPMessage) -> None:
            raw = m.encode()
            if m.code != CONTENT or len(raw) < 10 or raw[5] != 0xFF:
                self.violation("time reply must be 2.05 with a 1-byte token, no options and a 4-byte payload",
                               hex=raw.hex())
                return
            unix = int.from_bytes(raw[6:10], "big")
            self.time_synced = True
            self.emit("time", unix=unix, skew=round(unix - time.time(), 3))
        return self.send_con(CoAPMessage(CON, GET, self.new_mid(), self.new_token(), [(OPT_URI_PATH, b"t")]),
                             "time", answered, separate=True)

    def publish(self, name: str, data: Any = b"", ttl: int = 60, public: bool = False, con: bool = True,
                content_format: Optional[int] = None) -> Optional[Outstanding]:
        """Event (the protocol notes, UDP): POST /E/<name> (one Uri-Path for the whole name), CON over UDP
        unless NO_ACK; Max-Age written as 3 bytes only when ttl ≠ 60; Content-Format for binary data."""
        self._require_connected()
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        opts = [(OPT_URI_PATH, b"e" if public else b"E"), (OPT_URI_PATH, name.encode("utf-8"))]
        if content_format is not None:
            opts.append((OPT_CONTENT_FORMAT, uint_bytes(content_format)))
        if ttl != 60:
            opts.append((OPT_MAX_AGE, ttl.to_bytes(3, "big")))
        msg = CoAPMessage(CON if con else NON, POST, self.new_mid(), b"", opts, payload)
        if not con:
            self.send_message(msg)
            return None

        def acked(m: CoAPMessage) -> None:
            self.emit("publish_acked", name=name, code=code_str(m.code), mid=m.mid)
        return self.send_con(msg, "event", acked)

    def send_subscriptions(self, only: Optional[list] = None) -> list[Outstanding]:
        """CON GET /e/<prefix>[?u] without token. The subscriptions CRC is cached when the last
        outstanding one is ACKed and none was refused."""
        subs = only if only is not None else self.all_subscriptions()
        state = {"left": len(subs), "refused": False}
        out = []
        for prefix, scope in subs:
            opts = [(OPT_URI_PATH, b"e"), (OPT_URI_PATH, prefix.encode("utf-8"))]
            if scope:
                opts.append((OPT_URI_QUERY, scope.encode()))

            def acked(m: CoAPMessage, prefix: str = prefix) -> None:
                state["left"] -= 1
                state["refused"] |= m.code >= 0x80
                self.emit("subscribe_acked", prefix=prefix, code=code_str(m.code))
                if state["left"] == 0 and not state["refused"] and self.session:
                    self.session.app_state["subscriptions_crc"] = self.subscriptions_crc()
                    self.save_session()
            out.append(self.send_con(CoAPMessage(CON, GET, self.new_mid(), b"", opts), "subscribe", acked))
        return out

    def ping(self) -> Outstanding:
        self._require_connected()
        return self.send_con(CoAPMessage(CON, EMPTY, self.new_mid()), "ping")

    def goodbye(self, cloud_reason: Optional[int] = None, reset_reason: Optional[int] = None,
                sleep: Optional[int] = None, network_reason: Optional[int] = None, disconnect: bool = True) -> dict:
        """Goodbye: CON POST /x with the LEB128 payload; wait for the ACK (wait_confirmable, 60 s), then
        disconnect keeping the session."""
        self._require_connected()
        payload = goodbye_payload(cloud_reason, reset_reason, sleep, network_reason)
        o = self.send_con(CoAPMessage(CON, POST, self.new_mid(), b"", [(OPT_URI_PATH, b"x")], payload), "goodbye",
                          discard_on_timeout=False)
        self.emit("goodbye_sent", payload_hex=payload.hex(), mid=o.msg.mid)
        self.run_until(lambda: o.done or o.failed is not None or not self.connected, GOODBYE_WAIT * self.scale)
        acked = o.done
        if disconnect and self.connected:
            self.disconnect("goodbye", keep_session=True)
        return {"acked": acked, "payload_hex": payload.hex()}

    def reboot_after_update(self, report: Optional[dict]) -> None:
        """After an update the device resets: Goodbye (system reset, reason update),
        the new module is in place, Hello flag 0x01, `last_reset` = update; reconnect resumes the session, and
        the changed system Describe makes it send a Hello."""
        self.emit("rebooting", reason="update", applied=report is not None)
        if self.connected:
            self.goodbye(cloud_reason=5, reset_reason=70)
        if report is not None:
            self.apply_module(report)
            self.ota_success_flag = True
        self.last_reset_pending = "update"
        self.time_synced = False
        self.emit("rebooted", modules=[m.json() for m in self.modules], product_version=self.profile.product_version,
                  system_version=self.profile.system_version)
        if self.reboot_reconnect:
            try:
                self.connect()
            except PeerError as e:
                self.emit("reconnect_failed", error=str(e))

    def apply_module(self, report: dict) -> None:
        f, idx = report["function"], report["index"]
        sha = bytes.fromhex(report["sha256"])
        deps = [tuple(d) for d in report.get("dependencies", [])]
        for m in self.modules:
            if m.function == f and (m.index == idx or f == 5):
                m.index, m.version, m.sha256, m.dependencies, m.size = idx, report["module_version"], sha, deps, report["size"]
                break
        else:
            self.modules.append(FirmwareModule(f, idx, report["module_version"], sha, max(report["size"], 262144),
                                               deps, report["size"]))
        if f == 5 and "product_version" in report:
            self.profile.product_version = report["product_version"]
        if f in (3, 4):
            self.profile.system_version = report["module_version"]

    # -- session persistence ---------------------------------------------------------------------------

    def save_session(self) -> None:
        """The device persists out_ctr after every send and the replay window after every receive."""
        if not self.session_file:
            return
        if self.session is None:
            if os.path.exists(self.session_file):
                os.remove(self.session_file)
            return
        tmp = self.session_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.session.to_json(), f)
        os.replace(tmp, self.session_file)

    def load_session(self) -> None:
        if not self.session_file or not os.path.exists(self.session_file):
            return
        try:
            self.session = Session.from_json(json.load(open(self.session_file)))
        except (ValueError, KeyError) as e:
            self.emit("warning", detail=f"session file unreadable: {e}")
            self.session = None


# ----------------------------------------------------------------------------------------------
# Firmware update, device side (the OTA notes legacy, v3)
# ----------------------------------------------------------------------------------------------

OTA_RECEIVE_WINDOW = 128 * 1024
OTA_TRANSFER_TIMEOUT = 300.0
OTA_CHUNK_ACK_DELAY = 0.2


def _error_json(code: int, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}, separators=(",", ":")).encode()


class OTAReceiver:
    """Receives a firmware module as the device does.

    Legacy (devices without Hello flag 0x80): UpdateBegin CON POST /u (exact 20-byte form or
    defaults) → empty ACK + CON 2.04 UpdateReady (fast OTA bit); chunks POST /c with CRC-32 (and the index in fast
    mode) → normal mode: empty ACK + CON 2.04 / 4.00 ChunkReceived, fast mode: silence; UpdateDone CON PUT /u →
    ACK 4.00 + CON GET /c ChunkMissed while chunks are missing, else ACK 2.04 {"r":N} and a reset.

    v3 (Hello flag 0x80): UpdateStart CON POST /S → empty ACK + CON 2.01 (Window-Size, File-Size = resume
    offset) or a piggybacked error; NON chunks POST /C with a 1-based Chunk-Index → NON UpdateAck POST /A
    (contiguous count + selective-ACK bitmap); UpdateFinish CON POST /F → empty ACK + CON 2.04 with statistics,
    whose ACK makes the device apply the update and reset; Cancel-Update; resumable state keyed by SHA-256 + size.

    Misbehaviour knobs (`configure`), all keyed by the 0-based chunk number in the file (offset // chunk size),
    each applied once: `drop_chunk`, `corrupt_chunk` (damage on the way in: legacy detects it by the chunk CRC, v3
    stores it), `corrupt_stored_chunk` (legacy: damage after the CRC check), `disconnect_after_chunk`; `refuse`
    (updates disabled), `fast` (allow fast OTA)."""

    def __init__(self, dev: CoAPDevice):
        self.dev = dev
        self.knobs: dict[str, Any] = {"fast": True}
        self.applied: set = set()
        self.legacy: Optional[dict] = None
        self.v3: Optional[dict] = None
        self.v3_saved: Optional[dict] = None

    def configure(self, **knobs: Any) -> dict:
        self.knobs.update({k: v for k, v in knobs.items() if k != "cmd" and k != "id"})
        self.applied.clear()
        return dict(self.knobs)

    def _once(self, knob: str, chunk_no: int) -> bool:
        if self.knobs.get(knob) == chunk_no and knob not in self.applied:
            self.applied.add(knob)
            self.dev.emit("ota_misbehaviour", action=knob, chunk=chunk_no)
            return True
        return False

    def _refusing(self) -> bool:
        return bool(self.knobs.get("refuse")) or (not self.dev.updates_enabled and not self.dev.updates_forced)

    @staticmethod
    def _corrupt(data: bytes) -> bytes:
        return bytes([data[0] ^ 0xFF]) + data[1:] if data else b"\xff"

    def _disconnect_after(self, chunk_no: int) -> list:
        if self._once("disconnect_after_chunk", chunk_no):
            return [lambda: self.dev.defer(lambda: self.dev.disconnect("ota disconnect_after_chunk",
                                                                       keep_session=True))]
        return []

    def on_disconnect(self) -> None:
        """A disconnect clears the legacy transfer; a v3 transfer with a SHA-256 stays resumable."""
        self.legacy = None
        st = self.v3
        if st is not None:
            if st.get("timer"):
                st["timer"].cancel()
            if st.get("ack_timer"):
                st["ack_timer"].cancel()
            if st["sha"]:
                held = min(st["size"], st["offset"] + st["cum"] * st["chunk"])
                self.v3_saved = {"sha": st["sha"], "size": st["size"], "data": bytes(st["data"][:held]), "held": held}
                self.dev.emit("ota_interrupted", protocol="v3", bytes_held=held)
        self.v3 = None

    # -- legacy ----------------------------------------------------------------------------------------

    def update_begin(self, msg: CoAPMessage, raw: bytes) -> tuple[Any, list]:
        d = self.dev
        exact = len(msg.token) == 1 and len(raw) >= 20 and raw[5:7] == b"\xb1\x75" and raw[7] == 0xFF
        if exact:
            flags, chunk, size, store, address = struct.unpack(">BHIBI", raw[8:20])
        else:
            d.violation("UpdateBegin is not `41 02 mid tk b1 75 ff` + 12 bytes: the device uses defaults",
                        hex=raw.hex())
            flags, chunk, size, store, address = 0, 0, d.profile.max_binary_size, 0, 0
        chunk = chunk or d.profile.ota_chunk_size
        error = None
        if self._refusing():
            error = "updates disabled"
        elif store != 0:
            error = f"unsupported store {store}"
        elif size == 0 or size > d.profile.max_binary_size:
            error = f"invalid size {size}"
        elif self.legacy is not None:
            error = "an update is already in progress"
        elif math.ceil(size / chunk) >= 65535:
            error = "too many chunks"
        if error:
            d.emit("ota_refused", protocol="legacy", reason=error)
            return CoAPMessage(ACK, SERVICE_UNAVAILABLE, msg.mid, msg.token), []
        fast = bool(flags & 1) and bool(self.knobs.get("fast", True))
        self.legacy = {"fast": fast, "chunk": chunk, "size": size, "data": bytearray(size), "received": set(),
                       "next": 0, "since_missed": 0, "address": address}
        d.emit("ota_begin", protocol="legacy", fast=fast, fast_requested=bool(flags & 1), chunk_size=chunk,
               size=size, store=store, address=address)
        return None, [d._separate(CHANGED, msg.token, bytes([1 if fast else 0]), "update_ready")]

    def chunk(self, msg: CoAPMessage, raw: bytes) -> tuple[Any, list]:
        d = self.dev
        st = self.legacy
        if st is None:
            d.violation("chunk without an UpdateBegin")
            return None, []
        queries = msg.opt(OPT_URI_QUERY)
        if not queries or len(queries[0]) != 4:
            d.violation("chunk without a 4-byte CRC Uri-Query", hex=raw[:24].hex())
            return None, []
        crc = int.from_bytes(queries[0], "big")
        if st["fast"]:
            if len(queries) < 2:
                d.violation("fast-OTA chunk without the index Uri-Query")
                return None, []
            index = uint_value(queries[1])
        else:
            index = st["next"]
        data = msg.payload
        if self._once("drop_chunk", index):
            return DROP, []
        if self._once("corrupt_chunk", index):
            data = self._corrupt(data)
        total = math.ceil(st["size"] / st["chunk"])
        ok = crc32(data) == crc and index < total
        if ok and index not in st["received"]:
            if self._once("corrupt_stored_chunk", index):
                data = self._corrupt(data)
            start = index * st["chunk"]
            part = data[: max(0, st["size"] - start)]
            st["data"][start:start + len(part)] = part
            st["received"].add(index)
            st["since_missed"] += 1
            if not st["fast"]:
                st["next"] += 1
        d.emit("ota_chunk", protocol="legacy", index=index, size=len(msg.payload), crc_ok=ok, fast=st["fast"])
        after = []
        if not st["fast"]:
            after.append(d._separate(CHANGED if ok else BAD_REQUEST, msg.token, b"", "chunk_received"))
        return None, after + self._disconnect_after(index)

    def update_done(self, msg: CoAPMessage, raw: bytes) -> tuple[Any, list]:
        d = self.dev
        st = self.legacy
        if st is None:
            d.violation("UpdateDone without an UpdateBegin")
            return CoAPMessage(ACK, BAD_REQUEST, msg.mid, msg.token), []
        total = math.ceil(st["size"] / st["chunk"])
        missing = [i for i in range(total) if i not in st["received"]]
        if missing and st["fast"]:
            n = st["since_missed"]
            limit = 20 if d.profile.platform_id in (12, 22) else 40     # MISSED_CHUNKS_TO_SEND (Argon, A SoM: 20)
            count = min(n + max(int(0.2 * n), 2), limit)
            listed = missing[:count]
            st["since_missed"] = 0
            d.emit("ota_chunks_missing", indices=listed, missing=len(missing))
            send = lambda: d.send_con(CoAPMessage(CON, GET, d.new_mid(), b"", [(OPT_URI_PATH, b"c")],
                                                  b"".join(u16(i) for i in listed)), "chunk_missed")
            return CoAPMessage(ACK, BAD_REQUEST, msg.mid, msg.token), [send]
        report = inspect_module(bytes(st["data"]), d.profile.platform_id)
        result = 0 if report["ok"] else report["code"]
        self.legacy = None
        d.emit("ota_complete", protocol="legacy", result=result, missing=len(missing), **report)
        ack = CoAPMessage(ACK, CHANGED, msg.mid, msg.token, [], json.dumps({"r": result}, separators=(",", ":")).encode())
        # The device applies the update (if valid) and resets regardless of the result.
        return ack, [lambda: d.defer(lambda: d.reboot_after_update(report if report["ok"] else None))]

    # -- v3 --------------------------------------------------------------------------------------------

    def v3_start(self, msg: CoAPMessage, raw: bytes) -> tuple[Any, list]:
        d = self.dev
        size_opt = msg.first(OPT_FILE_SIZE)
        sha = msg.first(OPT_FILE_SHA256)
        chunk_opt = msg.first(OPT_CHUNK_SIZE)
        discard = msg.first(OPT_DISCARD_DATA) is not None
        max_chunk = (d.profile.max_message_size - 14) // 4 * 4
        chunk = uint_value(chunk_opt) if chunk_opt is not None else 0
        size = uint_value(size_opt) if size_opt is not None else 0
        err = None
        if len(msg.token) != 1:
            err = "UpdateStart needs a 1-byte token"
        elif size_opt is None or size == 0:
            err = "Invalid file size"
        elif chunk_opt is None or chunk < 512 or chunk > max_chunk or chunk % 4:
            err = f"Invalid chunk size: {chunk}"
        elif sha is not None and len(sha) != 32:
            err = "Invalid file hash"
        if err:
            d.emit("ota_refused", protocol="v3", reason=err, code=-240)
            return CoAPMessage(ACK, SERVICE_UNAVAILABLE, msg.mid, msg.token, [], _error_json(-240, err)), []
        syserr = None
        if self._refusing():
            syserr = (-1380, "Firmware updates are disabled")
        elif size > d.profile.max_binary_size:
            syserr = (-1351, "Invalid file size")
        if syserr:
            d.emit("ota_refused", protocol="v3", reason=syserr[1], code=syserr[0])
            close = lambda m: d.defer(lambda: d.disconnect("ota error acknowledged", keep_session=True))
            return None, [d._separate(SERVICE_UNAVAILABLE, msg.token, _error_json(*syserr), "update_error",
                                      on_ack=close)]
        if self.v3 is not None:
            d.emit("ota_restart", detail="another update is already in progress")
            self.on_disconnect()
        if discard:
            self.v3_saved = None
        offset = 0
        data = bytearray(size)
        saved = self.v3_saved
        if sha and saved and saved["sha"] == sha and saved["size"] == size:
            offset = saved["held"]
            data[:offset] = saved["data"]
        window = OTA_RECEIVE_WINDOW // chunk
        count = math.ceil((size - offset) / chunk)
        self.v3 = {"size": size, "sha": sha, "chunk": chunk, "offset": offset, "window": window, "count": count,
                   "data": data, "received": set(), "cum": 0, "recv": 0, "dup": 0, "ooo": 0, "acks": 0,
                   "since_ack": 0, "gap": False, "ack_timer": None, "t0": time.monotonic(), "token": msg.token,
                   "timer": d.schedule(OTA_TRANSFER_TIMEOUT * d.scale, self._v3_timeout)}
        d.emit("ota_begin", protocol="v3", size=size, chunk_size=chunk, offset=offset, window=window,
               sha256=sha.hex() if sha else None, discard=discard,
               module_function=uint_value(msg.first(OPT_MODULE_FUNCTION) or b"") if msg.first(OPT_MODULE_FUNCTION)
               is not None else None)
        opts = [(OPT_WINDOW_SIZE, uint_bytes(window)), (OPT_FILE_SIZE, uint_bytes(offset))]
        return None, [d._separate(CREATED, msg.token, b"", "update_start_response", opts)]

    def _v3_timeout(self) -> None:
        if self.v3 is not None:
            self.dev.emit("ota_timeout", protocol="v3")
            self.on_disconnect()
            self.dev.disconnect("ota transfer timeout", keep_session=True)

    def _v3_abort(self, msg: CoAPMessage, err: str) -> tuple[Any, list]:
        """Invalid chunk: CON → piggybacked error, not fatal; NON with token → NON error response, then
        abort; NON without token → RST, then the update is cancelled and the connection reported broken."""
        d = self.dev
        d.emit("ota_chunk_rejected", reason=err, con=msg.type == CON)
        if msg.type == CON:
            return CoAPMessage(ACK, SERVICE_UNAVAILABLE, msg.mid, msg.token, [], _error_json(-240, err)), []
        abort = lambda: d.defer(lambda: (setattr(self, "v3", None),
                                         d.disconnect(f"ota chunk error: {err}", keep_session=True)))
        if msg.token:
            resp = CoAPMessage(NON, SERVICE_UNAVAILABLE, d.new_mid(), msg.token, [], _error_json(-240, err))
            return None, [lambda: d.send_message(resp), abort]
        return CoAPMessage(RST, EMPTY, msg.mid), [abort]

    def v3_chunk(self, msg: CoAPMessage, raw: bytes) -> tuple[Any, list]:
        d = self.dev
        st = self.v3
        if st is None:
            d.emit("ota_chunk_rejected", reason="no update in progress")
            return CoAPMessage(RST, EMPTY, msg.mid), []
        idx_opt = msg.first(OPT_CHUNK_INDEX)
        idx = uint_value(idx_opt) if idx_opt is not None else None
        if idx is None:
            return self._v3_abort(msg, "Missing chunk index")
        if idx < 1 or idx > st["count"]:
            return self._v3_abort(msg, f"Invalid chunk index: {idx}")
        if not msg.payload:
            return self._v3_abort(msg, "Empty chunk")
        expected = st["chunk"] if idx < st["count"] else st["size"] - st["offset"] - (st["count"] - 1) * st["chunk"]
        if len(msg.payload) != expected:
            return self._v3_abort(msg, f"Invalid chunk size: {len(msg.payload)}")
        chunk_no = st["offset"] // st["chunk"] + idx - 1
        if self._once("drop_chunk", chunk_no):
            return None, []
        data = msg.payload
        if self._once("corrupt_chunk", chunk_no):
            data = self._corrupt(data)
        st["timer"].cancel()
        st["timer"] = d.schedule(OTA_TRANSFER_TIMEOUT * d.scale, self._v3_timeout)
        st["recv"] += 1
        st["since_ack"] += 1
        dup = idx in st["received"] or idx <= st["cum"]
        if dup:
            st["dup"] += 1
        elif idx > st["cum"] + st["window"]:
            d.emit("ota_chunk_rejected", reason="out of receiver window", index=idx)
        else:
            start = st["offset"] + (idx - 1) * st["chunk"]
            st["data"][start:start + len(data)] = data
            st["received"].add(idx)
            if idx != st["cum"] + 1:
                st["ooo"] += 1
            while st["cum"] + 1 in st["received"]:
                st["cum"] += 1
                st["received"].discard(st["cum"])
        if self.knobs.get("report_chunks", True):
            d.emit("ota_chunk", protocol="v3", index=idx, size=len(msg.payload), duplicate=dup, cum=st["cum"])
        gap = bool(st["received"])
        immediate = dup or gap or gap != st["gap"] or st["cum"] == st["count"] or st["since_ack"] >= 2
        st["gap"] = gap
        if immediate:
            self._send_update_ack()
        elif st["ack_timer"] is None:
            st["ack_timer"] = d.schedule(OTA_CHUNK_ACK_DELAY, self._send_update_ack)
        return None, self._disconnect_after(chunk_no)

    def _send_update_ack(self) -> None:
        """UpdateAck: NON POST /A, Chunk-Index = contiguous count, payload = little-endian 32-bit words,
        bit b of word w ⇒ chunk cum + 32w + b + 1 received; trimmed after the last non-zero word."""
        d = self.dev
        st = self.v3
        if st is None or not d.connected:
            return
        if st["ack_timer"]:
            st["ack_timer"].cancel()
            st["ack_timer"] = None
        cum = st["cum"]
        words: list[int] = []
        for i in sorted(st["received"]):
            k = i - cum - 1
            w, b = divmod(k, 32)
            while len(words) <= w:
                words.append(0)
            words[w] |= 1 << b
        while words and words[-1] == 0:
            words.pop()
        payload = b"".join(struct.pack("<I", w) for w in words)
        st["since_ack"] = 0
        st["acks"] += 1
        d.send_message(CoAPMessage(NON, POST, d.new_mid(), b"", [(OPT_URI_PATH, b"A"), (OPT_CHUNK_INDEX,
                                                                                         uint_bytes(cum))], payload))

    def v3_finish(self, msg: CoAPMessage, raw: bytes) -> tuple[Any, list]:
        d = self.dev
        discard = msg.first(OPT_DISCARD_DATA) is not None
        st = self.v3
        if msg.first(OPT_CANCEL_UPDATE) is not None:
            if st is not None:
                self.on_disconnect()
            if discard:
                self.v3_saved = None
            d.emit("ota_cancelled", discard=discard)
            return None, [d._separate(CHANGED, msg.token, b"", "update_cancelled")]

        def fail(code: int, message: str) -> tuple[Any, list]:
            close = lambda m: d.defer(lambda: d.disconnect("ota error acknowledged", keep_session=True))
            return None, [d._separate(SERVICE_UNAVAILABLE, msg.token, _error_json(code, message), "update_error",
                                      on_ack=close)]
        if st is None:
            d.emit("ota_complete", protocol="v3", ok=False, code=-210, message="no update in progress")
            return fail(-210, "No update in progress")
        held = min(st["size"], st["offset"] + st["cum"] * st["chunk"])
        if held < st["size"]:
            d.emit("ota_complete", protocol="v3", ok=False, code=-240, message="Incomplete file transfer",
                   bytes_held=held)
            return fail(-240, "Incomplete file transfer")
        data = bytes(st["data"])
        report = inspect_module(data, d.profile.platform_id)
        if st["sha"] is not None:
            report["file_sha256_ok"] = hashlib.sha256(data).digest() == st["sha"]
            if not report["file_sha256_ok"] and report["ok"]:
                report.update(ok=False, code=-1330, message="file SHA-256 does not match UpdateStart")
        st["timer"].cancel()
        self.v3 = None
        self.v3_saved = None
        stats = {"recv_chunks": st["recv"], "dup_chunks": st["dup"], "ooo_chunks": st["ooo"], "sent_acks": st["acks"],
                 "proc_time": int((time.monotonic() - st["t0"]) * 1000)}
        d.emit("ota_complete", protocol="v3", stats=stats, **report)
        if not report["ok"]:
            return fail(report["code"], report["message"])
        apply = lambda m: d.defer(lambda: d.reboot_after_update(report))
        return None, [d._separate(CHANGED, msg.token, json.dumps(stats, separators=(",", ":")).encode(),
                                  "update_finish", on_ack=apply)]


# ----------------------------------------------------------------------------------------------
# Command protocol (stdin JSON lines / --do) and the command line
# ----------------------------------------------------------------------------------------------


def _parse_addr(text: str, default_port: int = 5684) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host:
        return text, default_port
    return host, int(port)


class Controller:
    """Runs commands for a test: one JSON object per line, {"cmd": NAME, ...args, "id": optional}. Every command
    ends with {"type": "result", "cmd": NAME, "id": ..., "ok": bool, ...} (or "error": text). Commands run one at
    a time; while one waits (e.g. for an ACK) the device keeps serving the server's requests."""

    def __init__(self, dev: CoAPDevice, history: list):
        self.dev = dev
        self.history = history
        self.cursor = 0
        self.quit = False

    def execute(self, cmd: dict) -> None:
        name = cmd.get("cmd", "")
        handler = getattr(self, "cmd_" + name.replace("-", "_"), None)
        result: dict[str, Any] = {"cmd": name}
        if "id" in cmd:
            result["id"] = cmd["id"]
        if handler is None:
            self.dev.emit("result", ok=False, error=f"unknown command {name!r}", **result)
            return
        try:
            out = handler(cmd) or {}
            self.dev.emit("result", ok=True, **result, **out)
        except Exception as e:      # every command ends with a result line, whatever went wrong
            self.dev.emit("result", ok=False, error=f"{type(e).__name__}: {e}", **result)

    def _wait(self, o: Optional[Outstanding], timeout: Optional[float] = None) -> dict:
        if o is None:
            return {"sent": True}
        t0 = time.monotonic()
        # CoAP gives up after at most 90 s (scaled); the bound only matters for a separate response never sent.
        bound = timeout if timeout is not None else max(5.0, 100.0 * self.dev.scale)
        self.dev.run_until(lambda: o.done or o.failed is not None or not self.dev.connected, bound)
        if not o.done:
            raise PeerError(f"{o.kind} not acknowledged ({o.failed or 'disconnected'})")
        return {"code": code_str(o.response.code) if o.response else None, "mid": o.msg.mid,
                "rtt_ms": round((time.monotonic() - t0) * 1000, 1)}

    # connection ------------------------------------------------------------------------------------
    def cmd_connect(self, c: dict) -> dict:
        server = _parse_addr(c["server"]) if c.get("server") else None
        return self.dev.connect(c.get("resume", "auto"), c.get("fallback", True), server)

    def cmd_disconnect(self, c: dict) -> dict:
        self.dev.disconnect(c.get("reason", "disconnect command"), keep_session=c.get("keep_session", True))
        return {"session_kept": self.dev.session is not None}

    cmd_drop = cmd_disconnect

    def cmd_reconnect(self, c: dict) -> dict:
        self.dev.disconnect("reconnect command", keep_session=c.get("keep_session", True))
        return self.cmd_connect(c)

    def cmd_forget_session(self, c: dict) -> dict:
        self.dev.session = None
        self.dev.save_session()
        return {}

    def cmd_session(self, c: dict) -> dict:
        s = self.dev.session
        return {"session": s.to_json() if s else None, "usable": self.dev.usable_session() is None,
                "why_not": self.dev.usable_session()}

    def cmd_status(self, c: dict) -> dict:
        d = self.dev
        return {"connected": d.connected, "local_port": d.local_port, "session": d.session is not None,
                "pending": [o.kind for o in d.pending.values()], "flags": d.hello_flags(),
                "product_version": d.profile.product_version, "system_version": d.profile.system_version,
                "modules": [m.json() for m in d.modules]}

    # messages ------------------------------------------------------------------------------------
    def cmd_publish(self, c: dict) -> dict:
        data = bytes.fromhex(c["data_hex"]) if "data_hex" in c else c.get("data", "")
        o = self.dev.publish(c["name"], data, int(c.get("ttl", 60)), bool(c.get("public", False)),
                             bool(c.get("con", True)), c.get("content_format"))
        return self._wait(o, c.get("timeout")) if c.get("wait", True) else {"mid": o.msg.mid if o else None}

    def cmd_subscribe(self, c: dict) -> dict:
        entry = (c["prefix"], c.get("scope"))
        if entry not in self.dev.subscriptions:
            self.dev.subscriptions.append(entry)
        if not self.dev.connected:
            return {"sent": False}
        o = self.dev.send_subscriptions([list(entry)])[0]
        return self._wait(o, c.get("timeout"))

    def cmd_variable(self, c: dict) -> dict:
        kind = c.get("type", "string")
        if kind not in VAR_TYPES:
            raise ValueError(f"variable type must be one of {sorted(VAR_TYPES)}")
        self.dev.variables[c["name"]] = (kind, c.get("value", ""))
        return {}

    def cmd_function(self, c: dict) -> dict:
        self.dev.functions[c["name"]] = {"return": c.get("return", 0), "publish": c.get("publish")}
        return {}

    def cmd_describe(self, c: dict) -> dict:
        which = c.get("which", "application")
        flags = {"system": 1, "application": 2, 1: 1, 2: 2}[which]
        return self._wait(self.dev.push_describe(flags), c.get("timeout"))

    def cmd_ping(self, c: dict) -> dict:
        return self._wait(self.dev.ping(), c.get("timeout"))

    def cmd_time(self, c: dict) -> dict:
        o = self.dev.request_time()
        r = self._wait(o, c.get("timeout"))
        raw = o.response.encode() if o.response else b""
        r["unix"] = int.from_bytes(raw[6:10], "big") if len(raw) >= 10 else None
        return r

    def cmd_goodbye(self, c: dict) -> dict:
        return self.dev.goodbye(c.get("cloud_reason"), c.get("reset_reason"), c.get("sleep"), c.get("network_reason"),
                                c.get("disconnect", True))

    def cmd_sleep(self, c: dict) -> dict:
        """Goodbye with cloud reason 6 (sleep) and the duration, drop the socket, sleep, then resume from a new
        source port."""
        seconds = float(c.get("seconds", 1))
        gb = None
        if self.dev.connected:
            gb = self.dev.goodbye(cloud_reason=6, sleep=int(c.get("announce", math.ceil(seconds))),
                                  network_reason=c.get("network_reason"))
        self.dev.emit("sleeping", seconds=seconds)
        time.sleep(seconds)
        self.dev.emit("woke")
        if not c.get("reconnect", True):
            return {"goodbye": gb}
        r = self.dev.connect(c.get("resume", "auto"), c.get("fallback", True))
        r["goodbye"] = gb
        return r

    def cmd_restart(self, c: dict) -> dict:
        """A device reset: the retained session survives (unless keep_session is false), `last_reset` is published
        after the next connect, the clock must be synced again."""
        d = self.dev
        if d.connected:
            if c.get("goodbye", False):
                d.goodbye(cloud_reason=5, reset_reason=c.get("reset_reason", 140))
            d.disconnect("reset", keep_session=c.get("keep_session", True))
        if not c.get("keep_session", True):
            d.session = None
            d.save_session()
        d.last_reset_pending = c.get("reason", "user")
        d.time_synced = False
        d.emit("restarted", session_kept=d.session is not None)
        if c.get("connect", False):
            return d.connect()
        return {}

    def cmd_ota(self, c: dict) -> dict:
        return {"knobs": self.dev.ota.configure(**c)}

    def cmd_set(self, c: dict) -> dict:
        d, p = self.dev, self.dev.profile
        changed = {}
        for k, v in c.items():
            if k in ("cmd", "id"):
                continue
            if k in ("updates_enabled", "updates_forced", "ignore_server_cons", "claim_code", "trace",
                     "reboot_reconnect"):
                setattr(d, k, v)
            elif k in ("product_version", "system_version", "flags", "max_message_size", "max_binary_size",
                       "ota_chunk_size", "keepalive", "describe_format", "platform_id", "product_id"):
                setattr(p, k, int(v, 0) if isinstance(v, str) and k != "describe_format" else v)
            else:
                raise KeyError(f"unknown setting {k}")
            changed[k] = v
        if "keepalive" in changed and d.connected:
            d._arm_keepalive()
        return {"changed": changed}

    def cmd_send(self, c: dict) -> dict:
        """Send raw CoAP bytes inside a DTLS record (no tracking)."""
        if not self.dev.connected:
            raise PeerError("not connected")
        self.dev._send_raw_coap(bytes.fromhex(c["hex"]))
        return {}

    def cmd_wait(self, c: dict) -> dict:
        self.dev.run_until(lambda: False, float(c.get("seconds", 1)))
        return {}

    def cmd_wait_for(self, c: dict) -> dict:
        """Wait for an output line of `type` whose fields include `match`, searching from just after the previous
        wait_for match (so scripted sequences don't re-match old lines)."""
        want, match = c["type"], c.get("match", {})

        def find() -> Optional[int]:
            for i in range(self.cursor, len(self.history)):
                h = self.history[i]
                if h.get("type") == want and all(h.get(k) == v for k, v in match.items()):
                    return i
            return None
        ok = self.dev.run_until(lambda: find() is not None, float(c.get("timeout", 30)))
        if not ok:
            raise PeerError(f"no {want} line matching {match} within the timeout")
        i = find()
        assert i is not None
        self.cursor = i + 1
        return {"line": self.history[i]}

    def cmd_quit(self, c: dict) -> dict:
        if c.get("goodbye") and self.dev.connected:
            self.dev.goodbye(cloud_reason=2)
        self.quit = True
        return {}


# ----------------------------------------------------------------------------------------------
# Self-test: worked vectors from the notes
# ----------------------------------------------------------------------------------------------


def self_test() -> list[tuple[str, bool, str]]:
    """Check this implementation against the worked vectors: key schedule and records, ClientHello,
    Goodbye, the TCP protocol's CoAP examples and option-length pitfall, Hello, the OTA module vector
    and OTA option encodings."""
    results: list[tuple[str, bool, str]] = []

    def check(name: str, got: Any, want: Any) -> None:
        ok = got == want
        detail = "" if ok else f"got {got.hex() if isinstance(got, (bytes, bytearray)) else got!r}, want " \
                               f"{want.hex() if isinstance(want, (bytes, bytearray)) else want!r}"
        results.append((name, ok, detail))

    h = bytes.fromhex
    # key schedule
    pms, cr, sr = bytes(range(0x20, 0x40)), bytes(range(0x00, 0x20)), bytes(range(0x80, 0xA0))
    ms = derive_master_secret(pms, cr, sr)
    check("5.3 master_secret", ms, h("5c13cca59219a2428b708ae2d8addd4d9822cf4ee5d69e2ea62c1d87472e59685514f0ea2ed9bfe8442285f0606990d2"))
    kb = derive_key_block(ms, cr, sr)
    check("5.3 client_write_key", kb.client_key, h("cee11b11179108c5bb5058b366a8b073"))
    check("5.3 server_write_key", kb.server_key, h("64edf29959eb9cf7e70daf57dff1e9a3"))
    check("5.3 client_write_IV", kb.client_iv, h("78d041c5"))
    check("5.3 server_write_IV", kb.server_iv, h("752a4680"))
    # device → server CID record
    cid = h("0102030405060708")
    check("5.3 inner plaintext", inner_plaintext(h("40001234"), CT_APP), h("4000123417" + "00" * 11))
    dev_rec = h("19fefd00010000000000050102030405060708002000010000000000"
                "05b5bd21db596b332a039c22618b8a1782f79d8d0f8b9cfd55")
    got = seal_cid_record(kb.client_key, kb.client_iv, 1, 5, cid, CT_APP, h("40001234"))
    check("5.3 device CID record (53 bytes)", got, dev_rec)
    sess = Session(ms, cr, sr, cid, out_ctr=5)
    rl = RecordLayer(sess, "fd")
    check("5.3 RecordLayer.seal", rl.seal(CT_APP, h("40001234")), dev_rec)
    rl2 = RecordLayer(Session(ms, cr, sr, cid, out_ctr=5), "fd")
    rl2.move_session = True
    check("5.3 resumption record (first byte fd)", rl2.seal(CT_APP, h("40001234")), b"\xfd" + dev_rec[1:])
    old = RecordLayer(Session(ms, cr, sr, None, out_ctr=5), "fe", h("e00fce68ece1d3d21a73dcc9"))
    old.move_session = True
    plain = seal_plain_record(kb.client_key, kb.client_iv, 1, 5, CT_APP, h("40001234"))
    check("6.2 pre-3.1 resume record: 0xFE, device ID and 0x0C appended",
          old.seal(CT_APP, h("40001234")), b"\xfe" + plain[1:] + h("e00fce68ece1d3d21a73dcc9") + b"\x0c")
    rec = parse_records(dev_rec, 8)[0]
    check("5.3 device record decrypts", open_cid_record(kb.client_key, kb.client_iv, 1, 5, rec.cid, rec.fragment),
          (CT_APP, h("40001234")))
    # server → device record
    srv_rec = h("17fefd00010000000000070014000100000000000" "7dc1ecb1836171148eef3934a")
    check("5.3 server record (33 bytes)", seal_plain_record(kb.server_key, kb.server_iv, 1, 7, CT_APP, h("60001234")),
          srv_rec)
    opened = rl.open(parse_records(srv_rec)[0])
    check("5.3 RecordLayer.open server record", opened, (CT_APP, h("60001234")))
    check("5.3 replayed server record dropped", rl.open(parse_records(srv_rec)[0]), None)
    bad = bytearray(srv_rec)
    bad[-1] ^= 1
    check("5.3 tampered server record dropped", RecordLayer(Session(ms, cr, sr, cid), "fd").open(parse_records(bytes(bad))[0]),
          None)
    # Replay window
    w = ReplayWindow()
    for s in (0, 1, 5, 70):
        w.update(s)
    # top 70: the window covers 7..70; 6 and older are too old, 7 (never seen) is fine, 70 is a replay.
    check("replay window", [w.check(s) for s in (5, 6, 7, 69, 70, 71)], [False, False, True, True, False, True])
    # ClientHello
    body = client_hello_body(bytes(range(32)))
    want_body = h("fefd" + bytes(range(32)).hex() + "00" + "00" + "0004c0ae00ff" + "0100" + "002d"
                  "000d000a000804030401030303 01".replace(" ", "") + "000a000400020017" + "000b00020100"
                  + "00fe000100" + "001300020102" + "001400020102")
    check("4.2 ClientHello body", body, want_body)
    check("4.2 ClientHello body length 91", len(body), 91)
    check("4.2 pre-3.1 ClientHello body length 86", len(client_hello_body(bytes(32), b"", False)), 86)
    check("4.2 pre-3.1 extensions length 40", client_hello_body(bytes(32), b"", False)[44:46], h("0028"))
    check("4.2 handshake header", handshake_message(HS_CLIENT_HELLO, 0, body), h("0100005b0000000000" "00005b"))
    body_c = client_hello_body(bytes(32), b"\xaa" * 32)
    check("4.2 ClientHello with cookie", body_c[35:68], b"\x20" + b"\xaa" * 32)
    # Goodbye
    check("7.6 goodbye sleep 600", goodbye_payload(cloud_reason=6, sleep_duration=600), h("0506d804"))
    check("LEB128 300", leb128(300), h("ac02"))
    # TCP spec CoAP examples
    enc = lambda t, c, mid, tk, opts, pl=b"": CoAPMessage(t, c, mid, tk, opts, pl).encode()
    check("variable request temp", enc(CON, GET, 0x1003, b"\x08", [(11, b"v"), (11, b"temp")]),
          h("41011003 08 b176 0474656d70".replace(" ", "")))
    check("function call led(on)", enc(CON, POST, 0x1004, b"\x09", [(11, b"f"), (11, b"led"), (15, b"on")]),
          h("410210040 9b16603 6c6564 426f6e".replace(" ", "")))
    check("describe request", enc(CON, GET, 0x1002, b"\x07", [(11, b"d"), (15, b"\x02")]), h("4101100207b1644102"))
    check("time reply", enc(ACK, CONTENT, 0x9354, b"\x0a", [], struct.pack(">I", 1700000000)), h("614593540aff6553f100"))
    check("publish temp=21.5", enc(NON, POST, 0x9352, b"", [(11, b"E"), (11, b"temp")], b"21.5"),
          h("50029352b1450474656d70ff32312e35"))
    check("subscribe srv/", enc(CON, GET, 0x9353, b"", [(11, b"e"), (11, b"srv/")]), h("40019353b16504737276 2f".replace(" ", "")))
    check("ping / ack", (enc(CON, EMPTY, 0x1234, b"", []), enc(ACK, EMPTY, 0x1234, b"", [])), (h("40001234"), h("60001234")))
    check("option: next Uri-Path 19 bytes", encode_options([(11, b"x"), (11, b"a" * 19)])[2:4], h("0d06"))
    check("option: Uri-Query 14 bytes", encode_options([(11, b"x"), (15, b"a" * 14)])[2:4], h("4d01"))
    check("option: Uri-Query 300 bytes", encode_options([(11, b"x"), (15, b"a" * 300)])[2:5], h("4e001f"))
    for n, want in ((12, "4c"), (13, "4d00"), (14, "4d01"), (268, "4dff"), (269, "4e0000")):
        o = encode_options([(11, b"x"), (15, b"a" * n)])
        check(f"option length {n} header", o[2:2 + len(want) // 2], h(want))
        check(f"option length {n} round trip", CoAPMessage.decode(b"\x40\x01\x00\x01" + o).opt(15), [b"a" * n])
    check("Max-Age after Uri-Path", encode_options([(11, b"x"), (14, (120).to_bytes(3, "big"))])[2:3], h("33"))
    check("Describe push with Content-Format 42",
          enc(CON, POST, 0x0001, b"\x05", [(11, b"d"), (12, b"\x2a"), (15, b"\x01")], b"\x0a")[:11],
          h("4102000105b164112a3101"))
    dec = CoAPMessage.decode(h("41021004 09b166036c6564426f6e".replace(" ", "")))
    check("decode function call", (dec.uri_path, dec.opt(15), dec.token), (["f", "led"], [b"on"], b"\x09"))
    check("variable int 42", encode_variable("int", 42), h("0000002a"))
    check("variable double 21.5", encode_variable("double", 21.5), h("0000000000803540"))
    check("variable bool / string", (encode_variable("bool", True), encode_variable("string", "ok")), (h("01"), h("6f6b")))
    # Hello
    prof = DeviceProfile(device_id=h("e00fce68ece1d3d21a73dcc9"), platform_id=12, device_os=(5, 8, 0))
    hello_dev = CoAPDevice.__new__(CoAPDevice)
    hello_dev.profile, hello_dev.ota_success_flag = prof, False
    check("7.3 Hello message", enc(CON, POST, 1, b"", [(11, b"h")], hello_dev.hello_payload()),
          h("40020001b168ff000cffff00f6000c000ce00fce68ece1d3d21a73dcc916a804800017700002 00".replace(" ", "")))
    # OTA
    check("CRC-32 check value", crc32(b"123456789"), 0xCBF43926)
    m = build_test_module()
    check("2.4 module vector", m, h("00400b0050400b00000006000c0005010401a81600000000" + "aa" * 16 + "0c0003000000"
                                   "a9e113affa379f1d93b0881176b7689cf8e1e033b9ae1a32d961591a053c8fb428003e0b6be0"))
    rep = inspect_module(m, 12)
    check("2.4 module validates", (rep["ok"], rep["crc32_ok"], rep["sha256_ok"], rep["product_version"]), (True, True, True, 3))
    check("2.4 corrupted module fails", inspect_module(m[:30] + b"\x00" + m[31:], 12)["code"], -1330)
    check("2.4 wrong platform", inspect_module(m, 13)["code"], -1360)
    ub = h("4102002a07b175ff01020000002800000000 0000".replace(" ", ""))
    check("3.1 UpdateBegin example", struct.unpack(">BHIBI", ub[8:20]), (1, 512, 10240, 0, 0))
    check("4.2 UpdateStart response", enc(CON, CREATED, 0xABCD, b"\x61", [(OPT_WINDOW_SIZE, uint_bytes(256)),
                                                                     (OPT_FILE_SIZE, uint_bytes(0))])[4:],
          h("61e206f8010040"))
    check("4.2 UpdateStart options", encode_options([(11, b"S"), (OPT_FILE_SIZE, uint_bytes(9965)),
                                                    (OPT_FILE_SHA256, b"\x00" * 32), (OPT_CHUNK_SIZE, uint_bytes(512)),
                                                    (OPT_DISCARD_DATA, b"")]),
          h("b153e206f126ed4d13" + "00" * 32 + "42020040"))
    check("4.3 UpdateChunk option", encode_options([(11, b"C"), (OPT_CHUNK_INDEX, b"\x05")]), h("b143e106e905"))
    check("4.4 UpdateAck zero index", encode_options([(11, b"A"), (OPT_CHUNK_INDEX, b"")]), h("b141e006e9"))
    check("4.5 Cancel-Update alone", encode_options([(11, b"F"), (OPT_CANCEL_UPDATE, b"")]), h("b146e00701"))
    check("4.5 Discard-Data + Cancel", encode_options([(11, b"F"), (OPT_DISCARD_DATA, b""), (OPT_CANCEL_UPDATE, b"")]),
          h("b146e006fd40"))
    # Server key blob round trip
    key = ec.generate_private_key(ec.SECP256R1())
    blob = make_server_key_blob(spki_der(key.public_key()), "127.0.0.1", 5684)
    pb = parse_server_key_blob(blob)
    check("2.2 server key blob", (len(blob), blob[91:192] == b"\xff" * 101, pb["address"], pb["port"], pb["spki"]),
          (320, True, "127.0.0.1", 5684, spki_der(key.public_key())))
    check("2.1 device key SEC1 DER is 121 bytes", len(device_key_der(key)), 121)
    return results


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------


def _json_out(history: list) -> Callable[[dict], None]:
    def out(obj: dict) -> None:
        obj.setdefault("t", round(time.time(), 3))
        history.append(obj)
        sys.stdout.write(json.dumps(obj, separators=(",", ":"), default=lambda o: o.hex() if isinstance(o, bytes) else str(o)) + "\n")
        sys.stdout.flush()
    return out


def _parse_command_line(text: str) -> dict:
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)
    return {"cmd": text}


def build_arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Particle Gen3/Gen4 device over UDP/DTLS (test peer). Commands: JSON "
                                 "lines on stdin or --do; observations: JSON lines on stdout.")
    ap.add_argument("--self-test", action="store_true", help="check the worked vectors and exit")
    ap.add_argument("--server", default="127.0.0.1:5684", help="server HOST:PORT (default 127.0.0.1:5684)")
    ap.add_argument("--device-key", help="EC P-256 private key (SEC1 DER); created if missing")
    ap.add_argument("--server-key", help="server public key: 320-byte UDP blob, SPKI DER or PEM")
    ap.add_argument("--print-key", action="store_true", help="print the device key line and exit")
    ap.add_argument("--write-server-blob", metavar="OUT", help="write the 320-byte blob for --server-key/--server and exit")
    ap.add_argument("--device-id", help="24 hex digits (default: from the key)")
    ap.add_argument("--platform-id", type=int, default=12)
    ap.add_argument("--product-id", type=int)
    ap.add_argument("--product-version", type=lambda s: int(s, 0), default=0xFFFF)
    ap.add_argument("--device-os", default="6.2.0", help="Device OS version: selects CID (≥3.1), the resume marker "
                    "(253 ≥4.0, none 3.1–3.3, 254+ID <3.1), the Hello layout (≥3.0), Describe tokens (≥3.3)")
    ap.add_argument("--system-version", type=int)
    ap.add_argument("--flags", type=lambda s: int(s, 0), help="Hello flags (default 0x00F6 for ≥3.0: includes 0x80 OTA v3)")
    ap.add_argument("--max-message-size", type=int, default=1152)
    ap.add_argument("--max-binary-size", type=int, default=1536000)
    ap.add_argument("--ota-chunk-size", type=int, default=512)
    ap.add_argument("--describe-format", choices=("json", "protobuf"), default="json")
    ap.add_argument("--keepalive", type=float, default=25.0, help="seconds idle before a keep-alive ping; 0 = off")
    ap.add_argument("--session-file", help="persist the DTLS session here (resume across process restarts)")
    ap.add_argument("--timer-scale", type=float, default=1.0, help="multiply handshake/CoAP/ping timers")
    ap.add_argument("--short-timers", action="store_true", help="same as --timer-scale 0.1")
    ap.add_argument("--trace", action="store_true", help="also report every CoAP message, retransmission, flight")
    ap.add_argument("--variable", action="append", default=[], metavar="NAME:TYPE:VALUE")
    ap.add_argument("--function", action="append", default=[], metavar="NAME[:RETURN]", help="RETURN int or 'len'")
    ap.add_argument("--subscribe", action="append", default=[], metavar="PREFIX")
    ap.add_argument("--last-reset", help="publish spark/device/last_reset with this reason after the first connect")
    ap.add_argument("--no-reboot-reconnect", action="store_true", help="after an OTA reboot, do not reconnect")
    ap.add_argument("--connect", action="store_true", help="connect at start (same as --do connect)")
    ap.add_argument("--do", action="append", default=[], metavar="JSON", help="command to run before reading stdin")
    ap.add_argument("--no-stdin", action="store_true", help="exit after the --do commands")
    return ap


def main(argv: Optional[list] = None) -> int:
    args = build_arg_parser().parse_args(argv)
    if args.self_test:
        results = self_test()
        failed = [r for r in results if not r[1]]
        for name, ok, detail in results:
            print(f"{'ok  ' if ok else 'FAIL'} {name}{' — ' + detail if detail else ''}")
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0

    history: list = []
    out = _json_out(history)
    device_key = load_device_key(args.device_key)
    spki = spki_der(device_key.public_key())
    device_id = bytes.fromhex(args.device_id) if args.device_id else hashlib.sha256(spki).digest()[:12]
    if len(device_id) != 12:
        raise SystemExit("--device-id must be 24 hex digits")
    key_line = {"type": "key", "device_id": device_id.hex(), "public_key_der": spki.hex(),
                "public_key_pem": device_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
                "device_key": args.device_key}
    if args.print_key:
        out(key_line)
        return 0
    if not args.server_key:
        raise SystemExit("--server-key is required")
    server_key, server_spki = load_server_key(args.server_key)
    host, port = _parse_addr(args.server)
    if args.write_server_blob:
        with open(args.write_server_blob, "wb") as f:
            f.write(make_server_key_blob(server_spki, host, port))
        return 0

    profile = DeviceProfile(device_id=device_id, platform_id=args.platform_id, product_id=args.product_id,
                            product_version=args.product_version,
                            device_os=tuple(int(x) for x in args.device_os.split(".")),
                            system_version=args.system_version, flags=args.flags,
                            max_message_size=args.max_message_size, max_binary_size=args.max_binary_size,
                            ota_chunk_size=args.ota_chunk_size, describe_format=args.describe_format,
                            keepalive=args.keepalive)
    dev = CoAPDevice(profile, device_key, server_key, (host, port), out=out,
                     timer_scale=0.1 if args.short_timers else args.timer_scale, session_file=args.session_file,
                     trace=args.trace, reboot_reconnect=not args.no_reboot_reconnect)
    for spec in args.variable:
        name, kind, value = (spec.split(":", 2) + ["", ""])[:3]
        dev.variables[name] = (kind or "string", value)
    for spec in args.function:
        name, _, ret = spec.partition(":")
        dev.functions[name] = {"return": ret if ret == "len" else int(ret or 0)}
    for prefix in args.subscribe:
        dev.subscriptions.append((prefix, None))
    dev.last_reset_pending = args.last_reset
    ctl = Controller(dev, history)
    out({**key_line, "type": "ready", "server": f"{host}:{port}", "pid": os.getpid(),
         "session_loaded": dev.session is not None})

    commands = ([{"cmd": "connect"}] if args.connect else []) + [_parse_command_line(c) for c in args.do]
    for c in commands:
        ctl.execute(c)
        if ctl.quit:
            break
    if not args.no_stdin and not ctl.quit:
        buf = b""
        stdin_fd = sys.stdin.fileno()
        while not ctl.quit:
            ready = dev.step(1.0, (stdin_fd,))
            if stdin_fd not in ready:
                continue
            chunk = os.read(stdin_fd, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf and not ctl.quit:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    try:
                        ctl.execute(_parse_command_line(line.decode("utf-8")))
                    except json.JSONDecodeError as e:
                        dev.emit("result", ok=False, error=f"bad command line: {e}")
    dev.disconnect("exit", keep_session=True)
    out({"type": "exit"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
