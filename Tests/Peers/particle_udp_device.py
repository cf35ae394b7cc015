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

Command line (see ``--help`` and ``Controller``): JSON lines on stdout describe what the device observed;
commands arrive as JSON lines on stdin (or ``--do``). ``--self-test`` checks the worked vectors.

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
    """Goodbye payload (UDP spec §7.6): flags varint, then cloud reason, reset reason, sleep seconds,
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
# Keys (UDP spec §2)
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
    """The 320-byte UDP server key blob (UDP spec §2.2): SPKI at 0, 0xFF fill, address TLV at 192,
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
    """Build the 320-byte blob of UDP spec §2.2 (what `particle keys server` writes for UDP platforms)."""
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
# TLS 1.2 key schedule (UDP spec §4.6): PRF = P_SHA256, no extended master secret
# ----------------------------------------------------------------------------------------------


def prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """TLS 1.2 PRF (RFC 5246 §5) with HMAC-SHA256."""
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
# Records (UDP spec §5)
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
    """Device → server CID record (§5.1): AAD is draft-05's epoch‖seq‖0x19‖fefd‖cid‖cid_len‖len(inner),
    always computed with 0x19 even when the first byte is rewritten to 253 (§6.2)."""
    inner = inner_plaintext(content, content_type)
    es = u16(epoch) + u48(seq)
    aad = es + bytes([CT_CID]) + DTLS_1_2 + cid + bytes([len(cid)]) + u16(len(inner))
    ct = ccm(key).encrypt(iv + es, inner, aad)
    return bytes([first_byte]) + DTLS_1_2 + es + cid + u16(8 + len(ct)) + es + ct


def seal_plain_record(key: bytes, iv: bytes, epoch: int, seq: int, content_type: int, content: bytes,
                      first_byte: Optional[int] = None) -> bytes:
    """Ordinary DTLS 1.2 AEAD record (§5.2), AAD = epoch‖seq‖type‖fefd‖len(plaintext)."""
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
    """Split a datagram into records (several may share one datagram, §3). Records of type 25/253 carry a
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
    persists it with the session since 3.1.0 (§5.5)."""

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
    """What the device keeps in retained RAM for resumption (UDP spec §6.1): master secret and randoms
    (keys are re-derived), CID, outgoing counter, incoming replay window, use counter, CoAP message id,
    and the app-state descriptor cached on ACKs (§6.4)."""
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
    """Epoch-1 record protection for the device (UDP spec §5, §6.2).

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
# DTLS 1.2 handshake (UDP spec §4)
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
    """ClientHello body byte for byte as in UDP spec §4.2 (91 bytes without cookie, 86 before 3.1.0)."""
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
    """The device's DTLS 1.2 client handshake (UDP spec §4).

    * Offers only TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (+ renegotiation SCSV), secp256r1, raw public keys,
      and (≥ 3.1.0) the draft connection-ID extension 254 with own CID length 0 (§4.1, §4.2).
    * Answers a HelloVerifyRequest by repeating the ClientHello with the cookie (message_seq 1); the first
      ClientHello and the HelloVerifyRequest stay out of the Finished transcript (§4.3).
    * Refuses a server Certificate message: after ServerHello the next message must be ServerKeyExchange,
      whose ECDSA signature is verified against the server key from the key blob (§4.4).
    * Presents its key only if the server sent CertificateRequest: Certificate (RPK SPKI),
      ClientKeyExchange, CertificateVerify, ChangeCipherSpec, then Finished as a CID record (§4.5).
    * Retransmits its last flight after 3 s, doubling, and gives up after the 24 s step (§4.1, §4.9);
      `timer_scale` shortens every timer for tests.
    * Aborts after a completed handshake if the server did not issue an 8-byte CID (Device OS ≥ 3.1, §4.7).
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
                         "and it ignores such records (UDP spec §5.2)")
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
                # The server repeated an old flight: our last flight was lost, send it again (RFC 6347 §4.2.4).
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
            # §4.3: server_version (fe ff or fe fd) ‖ cookie_len ‖ cookie.
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
                     "its key (UDP spec §4.5)")

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
                self.ccs_received = True
                continue
            if item[0] == "hs" and item[1] == HS_FINISHED and self.ccs_received:
                expected = finished_verify_data(master, b"server finished", b"".join(transcript))
                if not hmac.compare_digest(item[2], expected):
                    self._fail("server Finished verify_data mismatch", ALERT_DECRYPT_ERROR)
                break
            self._fail(f"unexpected handshake message {item[1]} while waiting for Finished",
                       ALERT_UNEXPECTED_MESSAGE)

        # §4.7: Device OS ≥ 3.1 refuses to go on without an 8-byte CID ("Unable to get connection ID").
        if self.require_cid and (cid is None or len(cid) != 8):
            raise HandshakeError("Unable to get connection ID: the server did not issue an 8-byte CID "
                                 f"(got {'none' if cid is None else len(cid)})")
        return HandshakeResult(session, self.records, hello_verify, cert_requested)

    def _parse_server_hello(self, body: bytes) -> tuple[bytes, Optional[bytes]]:
        """ServerHello checks (§4.4): DTLS 1.2, our suite, null compression; cert-type extensions of one byte
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
        """§4.4: ServerECDHParams (named_curve secp256r1) and an ECDSA-SHA256 signature over
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
# CoAP (TCP spec §5; UDP spec §7)
# ----------------------------------------------------------------------------------------------

CON, NON, ACK, RST = 0, 1, 2, 3
TYPE_NAMES = {CON: "CON", NON: "NON", ACK: "ACK", RST: "RST"}
EMPTY, GET, POST, PUT = 0x00, 0x01, 0x02, 0x03
CREATED, CHANGED, CONTENT, CONTINUE = 0x41, 0x44, 0x45, 0x5F
BAD_REQUEST, NOT_FOUND, INTERNAL_ERROR, SERVICE_UNAVAILABLE = 0x80, 0x84, 0xA0, 0xA3

OPT_URI_PATH, OPT_CONTENT_FORMAT, OPT_MAX_AGE, OPT_URI_QUERY = 11, 12, 14, 15
OPT_BLOCK2, OPT_BLOCK1, OPT_NO_RESPONSE = 23, 27, 258
# OTA v3 options (device-ota.md §4.1)
OPT_CHUNK_INDEX, OPT_WINDOW_SIZE, OPT_FILE_SIZE, OPT_FILE_SHA256 = 2049, 2053, 2057, 2061
OPT_CHUNK_SIZE, OPT_DISCARD_DATA, OPT_CANCEL_UPDATE, OPT_MODULE_FUNCTION = 2065, 2069, 2073, 2077


def code_str(code: int) -> str:
    return f"{code >> 5}.{code & 0x1F:02d}"


def _opt_nibble(n: int) -> tuple[int, bytes]:
    """Option delta/length nibble with its extension: 0–12 literal, 13 → one byte (n − 13),
    14 → two bytes (n − 269). A length of 13 or 14 is never a bare nibble (the TCP spec §5.2 pitfall)."""
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


# Variable types (TCP spec §7.2): code and value encoding.
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
# Minimal protobuf writer for the system Describe since Device OS 5.5.0 (UDP spec §7.5)
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
# Firmware modules (device-ota.md §2) and the device's own description
# ----------------------------------------------------------------------------------------------


@dataclass
class FirmwareModule:
    """One module as the system Describe lists it (TCP spec §7.1 JSON keys; UDP spec §7.5 protobuf)."""
    function: int                 # module function (device-ota.md §2.1): 2 bootloader, 4 system part, 5 user part…
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
    """Validate a received firmware module as device-ota.md §2.1–§2.3 describes it: prefix (at 0, 0x200, 0x184,
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
    """Build a module in the layout of device-ota.md §2.1 (the §2.4 vector with the defaults)."""
    total = 24 + len(body) + 40 + 4
    prefix = struct.pack("<IIBBHHBB", start, start + total - 4, 0, 0, module_version, platform_id, function, index)
    prefix += bytes([dependency[0], dependency[1]]) + struct.pack("<H", dependency[2]) + b"\x00" * 4
    head = prefix + body + struct.pack("<HHH", platform_id if product_id is None else product_id,
                                       product_version, 0)
    head += hashlib.sha256(head).digest() + struct.pack("<H", 40)
    return head + crc32(head).to_bytes(4, "big")


@dataclass
class DeviceProfile:
    """Static identity and capabilities: the Hello fields (UDP spec §7.3), Device OS generation switches
    (version matrix §1), the Describe contents."""
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
