#!/usr/bin/env python3
"""A Docker Engine API stand-in on a unix socket, for benchmarks and demos.

Serves GET /containers/json and GET /containers/<id>/stats for N generated running
containers, with cgroup v2 memory stats, as the Engine API reference documents them.

    python3 scripts/fake-docker.py /tmp/docker.sock 50
"""
import http.server
import json
import os
import socketserver
import sys
import time


def container(i):
    return {"Id": f"{i:064x}", "Names": [f"/app-{i}"], "Image": "nginx:1.27", "State": "running",
            "Status": "Up 2 hours"}


def stats(i):
    now = int(time.time() * 1e9)
    return {
        "read": "2025-12-09T10:30:00Z", "preread": "0001-01-01T00:00:00Z",
        "cpu_stats": {"cpu_usage": {"total_usage": now // 1000 + i * 1_000_000},
                      "system_cpu_usage": now, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0},
        "memory_stats": {"usage": (40 + i) * 1048576 + 8 * 1048576, "limit": 1 << 30,
                         "stats": {"inactive_file": 8 * 1048576, "anon": (40 + i) * 1048576}},
    }


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/containers/json":
            body = [container(i) for i in range(COUNT)]
        elif path.startswith("/containers/") and path.endswith("/stats"):
            body = stats(int(path.split("/")[2], 16))
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    path, COUNT = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50
    if os.path.exists(path):
        os.unlink(path)
    with Server(path, Handler) as server:
        server.serve_forever()
