"""A tiny HTTP server that runs Debian's ``cgit.cgi`` once per request.

Used by ``bench/browse.py`` so that cgit is measured over HTTP like Pagurus:
each GET starts the CGI with the usual variables (``REQUEST_METHOD``,
``PATH_INFO``, ``QUERY_STRING``, ``SCRIPT_NAME``, ``CGIT_CONFIG``), reads its
``Status:`` and headers, and relays the body.

    python bench/cgit_wrapper.py --port 8100 --config /tmp/cgitrc
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CGI = "/usr/lib/cgit/cgit.cgi"


class CgitHandler(BaseHTTPRequestHandler):
    """GET/HEAD only: cgit is read-only."""

    config = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "CGIT_CONFIG": self.config,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.server.server_address[1]),
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "REQUEST_URI": self.path,
            "HTTP_HOST": self.headers.get("Host", ""),
        }
        proc = subprocess.run([CGI], env=env, capture_output=True, check=False)
        out = proc.stdout
        head, sep, body = out.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = out.partition(b"\n\n")
        status, headers = 200, []
        for line in head.splitlines():
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name.strip() and name.lower() != "content-length":
                headers.append((name.strip(), value.strip()))
        if proc.returncode != 0 and not sep:
            status, body = 500, proc.stderr
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    CgitHandler.config = args.config
    server = ThreadingHTTPServer(("127.0.0.1", args.port), CgitHandler)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
