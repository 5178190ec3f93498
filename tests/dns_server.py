"""A tiny authoritative DNS server on 127.0.0.1 for the DNS check's tests (UDP, RFC 1035).

`zone` maps (name, type) to record data: "A"/"AAAA" addresses, "CNAME"/"NS" names, "MX"
as (preference, name), "TXT" strings. A name absent from every key answers NXDOMAIN; a
name listed under `servfail` answers SERVFAIL; one under `silent` gets no answer at all.
Answers compress the owner name with a pointer to the question, as real servers do.

Over UDP, an answer larger than the payload size the query offers (512 bytes without an
EDNS0 OPT record), or any answer to a name under `truncate`, comes back with TC set and no
records, as real servers do. With `tcp=True` the same port also answers over TCP (each
message after its two-byte length), where nothing is truncated. `edns` records the payload
size each UDP query offered (None without an OPT record).
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
                 silent: set[str] = frozenset(), truncate: set[str] = frozenset(), tcp: bool = False) -> None:
        self.zone = {(n.lower(), t): v for (n, t), v in zone.items()}
        self.servfail = servfail
        self.silent = silent
        self.truncate = truncate
        self.queries: list[tuple[str, str]] = []
        self.tcp_queries: list[tuple[str, str]] = []
        self.edns: list[int | None] = []
        self.tcp: socket.socket | None = None
        for _ in range(20):  # a UDP port whose TCP twin is free too
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            if not tcp:
                break
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                self.tcp.listen(8)
                break
            except OSError:
                self.tcp.close()
                self.tcp = None
                self.sock.close()
        else:
            raise RuntimeError("no UDP port with a free TCP twin")
        self.threads = [threading.Thread(target=self._serve, daemon=True)]
        if self.tcp is not None:
            self.threads.append(threading.Thread(target=self._serve_tcp, daemon=True))
        self._stop = False

    def __enter__(self) -> "DNSServer":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop = True
        self.sock.close()
        if self.tcp is not None:
            self.tcp.close()

    def _serve(self) -> None:
        while not self._stop:
            try:
                packet, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            answer = self.answer(packet)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def _serve_tcp(self) -> None:
        assert self.tcp is not None
        while not self._stop:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                try:
                    length = struct.unpack("!H", _read(conn, 2))[0]
                    answer = self.answer(_read(conn, length), over_tcp=True)
                    if answer is not None:
                        conn.sendall(struct.pack("!H", len(answer)) + answer)
                except (OSError, EOFError):
                    continue

    def answer(self, packet: bytes, over_tcp: bool = False) -> bytes | None:
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
        (self.tcp_queries if over_tcp else self.queries).append((name, kind))
        payload = 512
        arcount = struct.unpack("!H", packet[10:12])[0]
        opt = packet[question_end:question_end + 5]
        if arcount and len(opt) == 5 and opt[0] == 0 and struct.unpack("!H", opt[1:3])[0] == 41:
            payload = max(512, struct.unpack("!H", opt[3:5])[0])
            if not over_tcp:
                self.edns.append(struct.unpack("!H", opt[3:5])[0])
        elif not over_tcp:
            self.edns.append(None)
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
        if not over_tcp and (name in self.truncate or len(header) + len(body) > payload):
            # TC set, the records dropped (a server may also send the part that fits).
            header = struct.pack("!HHHHHH", ident, 0x8380 | (flags & 0x0100) | rcode, 1, 0, 0, 0)
            body = packet[12:question_end]
        return header + body


def _read(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data
