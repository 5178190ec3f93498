"""A tiny authoritative DNS server on 127.0.0.1 for the DNS check's tests (UDP, RFC 1035).

`zone` maps (name, type) to record data: "A"/"AAAA" addresses, "CNAME"/"NS" names, "MX"
as (preference, name), "TXT" strings. A name absent from every key answers NXDOMAIN; a
name listed under `servfail` answers SERVFAIL; one under `silent` gets no answer at all.
Answers compress the owner name with a pointer to the question, as real servers do.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from typing import Any

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "MX": 15, "TXT": 16, "AAAA": 28}


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def rdata(kind: str, value: Any) -> bytes:
    if kind == "A":
        return ipaddress.IPv4Address(value).packed
    if kind == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if kind in ("CNAME", "NS"):
        return encode_name(value)
    if kind == "MX":
        return struct.pack("!H", value[0]) + encode_name(value[1])
    if kind == "TXT":
        data = value.encode()
        return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, max(1, len(data)), 255))
    raise ValueError(kind)


class DNSServer:
    def __init__(self, zone: dict[tuple[str, str], list[Any]], servfail: set[str] = frozenset(),
                 silent: set[str] = frozenset()) -> None:
        self.zone = {(n.lower(), t): v for (n, t), v in zone.items()}
        self.servfail = servfail
        self.silent = silent
        self.queries: list[tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self._stop = False

    def __enter__(self) -> "DNSServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop = True
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop:
            try:
                packet, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            answer = self.answer(packet)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def answer(self, packet: bytes) -> bytes | None:
        ident, flags, qdcount = struct.unpack("!HHH", packet[:6])
        offset, labels = 12, []
        while packet[offset]:
            length = packet[offset]
            labels.append(packet[offset + 1:offset + 1 + length].decode())
            offset += 1 + length
        question_end = offset + 5
        qtype = struct.unpack("!H", packet[offset + 1:offset + 3])[0]
        name = ".".join(labels).lower()
        kind = next((k for k, v in TYPES.items() if v == qtype), str(qtype))
        self.queries.append((name, kind))
        if name in self.silent:
            return None
        known = any(n == name for n, _ in self.zone)
        rcode = 2 if name in self.servfail else 0 if known else 3
        records = self.zone.get((name, kind), []) if rcode == 0 else []
        header = struct.pack("!HHHHHH", ident, 0x8180 | (flags & 0x0100) | rcode, 1, len(records), 0, 0)
        body = packet[12:question_end]
        for value in records:
            data = rdata(kind, value)
            body += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(data)) + data
        return header + body
