"""HTTP/1.1 over a raw socket, for the system tests that must send a request target
exactly as written (`//api/...`, `%73ummary`, `/./`, `/../`): client libraries
normalise those before they leave the machine, which would test nothing.

Every call has a bounded timeout; a timeout is a failure, never a wait for the hub."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    port: int,
    method: str,
    target: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    host: str | None = None,
    content_type: str | None = "application/json",
) -> RawResponse:
    """Sends one request with `Connection: close` to 127.0.0.1:`port` and reads the answer
    to the end. `target` goes on the request line byte for byte."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host if host is not None else f'127.0.0.1:{port}'}", "Connection: close"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None and content_type is not None:
        lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return parse_response(b"".join(chunks), head_only=method == "HEAD")


def parse_response(raw: bytes, head_only: bool = False) -> RawResponse:
    head, _, rest = raw.partition(b"\r\n\r\n")
    if not head:
        raise AssertionError(f"no HTTP answer (got {raw[:200]!r})")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rest
    if headers.get("transfer-encoding", "").lower() == "chunked" and not head_only:
        body = _dechunk(rest)
    return RawResponse(int(parts[1]), headers, body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return out
