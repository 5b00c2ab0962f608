#!/usr/bin/env python3
"""A misbehaving front for a test registry, for podrec's pull tests. Python 3 standard library only.

usage: proxy.py --upstream URL [--ca FILE] [--port N] [--log FILE]
                [--corrupt-blob] [--redirect-blobs-to HOST] [--throttle BYTES_PER_SEC]
                [--tls-cert FILE --tls-key FILE]

Listens on 127.0.0.1 (port 0 by default: the kernel picks one) and forwards every request to
--upstream (http://127.0.0.1:PORT or https://…; --ca FILE is the CA to check an HTTPS upstream
with). Loopback only: the upstream and the redirect host must be loopback addresses or names
that resolve to one, and nothing else is accepted.

Its first line on stdout is the port it got; with --redirect-blobs-to, the second line is the
port of the second listener. Both are flushed before it serves. SIGTERM (or SIGINT) ends it
with status 0.

"Blob GET" below means GET /v2/<name>/blobs/<digest>.
  --corrupt-blob            flips one byte (the middle one) of every blob GET's body that
                            answers 200; the length and the headers (Docker-Content-Digest
                            included) stay as they were.
  --redirect-blobs-to HOST  answers a blob GET that upstream would answer 200 with a 307 to
                            the same path on a second listener on HOST (a loopback address
                            such as 127.0.0.2; same scheme, TLS certificate and mode flags).
                            The second listener fetches the blob from upstream with the
                            Authorization the first listener received for that path (so that
                            an authenticated upstream still answers); what matters to the test
                            is whether the *client* sent one to the second host, and the log
                            says so.
  --throttle N              sends blob GET bodies at about N bytes a second.
  --log FILE                one JSON line per request, written when its response ends:
                            {"listener": "main"|"redirect", "method", "path", "status",
                             "had_authorization": bool, "bytes": body bytes sent,
                             "aborted": true if the client went away mid-body}.
  --tls-cert/--tls-key      serve HTTPS (both listeners) with this certificate.
"""
import argparse, http.client, http.server, ipaddress, json, re, signal, socket, socketserver, ssl, sys, threading, time
import urllib.parse

BLOB = re.compile(r"^/v2/.+/blobs/[a-z0-9]+:[a-f0-9]+$")
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
       "transfer-encoding", "upgrade", "host", "content-length"}


def loopback(host):
    """True if every address HOST resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback for i in infos)


def main():
    p = argparse.ArgumentParser(description="misbehaving registry proxy for tests (loopback only)")
    p.add_argument("--upstream", required=True)
    p.add_argument("--ca")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log")
    p.add_argument("--corrupt-blob", action="store_true")
    p.add_argument("--redirect-blobs-to")
    p.add_argument("--throttle", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    a = p.parse_args()

    up = urllib.parse.urlsplit(a.upstream)
    if up.scheme not in ("http", "https") or not up.hostname:
        p.error("--upstream must be http://HOST:PORT or https://HOST:PORT")
    if not loopback(up.hostname):
        p.error("--upstream %s is not a loopback address: this proxy talks to loopback only" % up.hostname)
    if a.redirect_blobs_to and not loopback(a.redirect_blobs_to):
        p.error("--redirect-blobs-to %s is not a loopback address" % a.redirect_blobs_to)
    if bool(a.tls_cert) != bool(a.tls_key):
        p.error("--tls-cert and --tls-key go together")
    up_port = up.port or (443 if up.scheme == "https" else 80)
    up_base = "%s://%s" % (up.scheme, up.netloc)
    up_ctx = None
    if up.scheme == "https":
        up_ctx = ssl.create_default_context(cafile=a.ca)
    scheme = "https" if a.tls_cert else "http"

    log_lock = threading.Lock()
    log_file = open(a.log, "a", buffering=1) if a.log else None
    auth_for_path = {}  # blob path -> the Authorization the main listener got for it
    auth_lock = threading.Lock()
    state = {"redirect_port": None, "main_port": None}

    def upstream_conn():
        if up_ctx is not None:
            return http.client.HTTPSConnection(up.hostname, up_port, context=up_ctx, timeout=60)
        return http.client.HTTPConnection(up.hostname, up_port, timeout=60)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        listener = "main"

        def log_message(self, *args):  # quiet: the JSON log is the record
            pass

        def record(self, status, sent, aborted=False):
            if log_file is None:
                return
            line = {"listener": self.listener, "method": self.command, "path": self.path, "status": status,
                    "had_authorization": self.headers.get("Authorization") is not None, "bytes": sent}
            if aborted:
                line["aborted"] = True
            with log_lock:
                log_file.write(json.dumps(line) + "\n")

        def read_request_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else None

        def forward(self, auth=None):
            """Sends this request upstream; returns the open response (and its connection)."""
            body = self.read_request_body()
            # A list, not a dict: a header may come more than once (Accept does, from most clients).
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP]
            if auth is not None:
                headers = [(k, v) for k, v in headers if k.lower() != "authorization"] + [("Authorization", auth)]
            c = upstream_conn()
            c.putrequest(self.command, self.path, skip_accept_encoding=True)
            for k, v in headers:
                c.putheader(k, v)
            if body is not None:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            return c, c.getresponse()

        def send_head(self, status, headers, length):
            self.send_response_only(status)
            for k, v in headers:
                if k.lower() in HOP:
                    continue
                if k.lower() == "location" and v.startswith(up_base):
                    v = "%s://%s%s" % (scheme, self.headers.get("Host", ""), v[len(up_base):])
                self.send_header(k, v)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def relay(self, c, r, blob):
            """Relays upstream's answer: blobs streamed (corrupted, throttled as asked), the rest whole."""
            sent = 0
            try:
                if self.command == "HEAD" or r.status in (204, 304):
                    r.read()
                    length = int(r.getheader("Content-Length") or 0)
                    self.send_head(r.status, r.getheaders(), length)
                    self.record(r.status, 0)
                    return
                if not (blob and r.status == 200 and r.getheader("Content-Length")):
                    data = r.read()
                    self.send_head(r.status, r.getheaders(), len(data))
                    self.wfile.write(data)
                    self.record(r.status, len(data))
                    return
                length = int(r.getheader("Content-Length"))
                flip = length // 2 if a.corrupt_blob else -1
                self.send_head(r.status, r.getheaders(), length)
                chunk = 64 * 1024
                if a.throttle:
                    chunk = max(1, min(chunk, a.throttle // 20))
                started = time.monotonic()
                while sent < length:
                    data = r.read(min(chunk, length - sent))
                    if not data:
                        break  # upstream ended early: the client sees a short body
                    if sent <= flip < sent + len(data):
                        b = bytearray(data)
                        b[flip - sent] ^= 0xFF
                        data = bytes(b)
                    self.wfile.write(data)
                    sent += len(data)
                    if a.throttle:
                        ahead = sent / a.throttle - (time.monotonic() - started)
                        if ahead > 0:
                            time.sleep(ahead)
                self.wfile.flush()
                self.record(r.status, sent, aborted=sent < length)
                if sent < length:
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError, socket.timeout, ssl.SSLError):
                self.close_connection = True
                self.record(r.status, sent, aborted=True)
            finally:
                c.close()

        def handle_any(self):
            blob = self.command == "GET" and BLOB.match(self.path.split("?")[0]) is not None
            try:
                if self.listener == "redirect":
                    with auth_lock:
                        auth = auth_for_path.get(self.path)
                    c, r = self.forward(auth=auth)
                    self.relay(c, r, blob)
                    return
                c, r = self.forward()
                if blob and a.redirect_blobs_to and r.status == 200:
                    c.close()
                    with auth_lock:
                        if self.headers.get("Authorization") is not None:
                            auth_for_path[self.path] = self.headers["Authorization"]
                    host = a.redirect_blobs_to
                    if ":" in host:
                        host = "[%s]" % host
                    loc = "%s://%s:%d%s" % (scheme, host, state["redirect_port"], self.path)
                    self.send_response_only(307)
                    self.send_header("Location", loc)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.record(307, 0)
                    return
                self.relay(c, r, blob)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            except OSError as e:  # upstream unreachable
                msg = ("proxy: upstream: %s\n" % e).encode()
                try:
                    self.send_response_only(502)
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                except OSError:
                    self.close_connection = True
                self.record(502, len(msg))

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    class RedirectHandler(Handler):
        listener = "redirect"

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        # Not daemon threads: server_close() waits for every handler, so that a stopped
        # proxy's log has every request it served.
        daemon_threads = False
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            pass  # a client that went away is not news

    def serve(handler, host, port):
        s = Server((host, port), handler)
        if a.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(a.tls_cert, a.tls_key)
            s.socket = ctx.wrap_socket(s.socket, server_side=True)
        return s

    servers = [serve(Handler, "127.0.0.1", a.port)]
    state["main_port"] = servers[0].server_address[1]
    if a.redirect_blobs_to:
        servers.append(serve(RedirectHandler, a.redirect_blobs_to, 0))
        state["redirect_port"] = servers[1].server_address[1]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True) for s in servers]
    for t in threads:
        t.start()
    print(state["main_port"])
    if state["redirect_port"] is not None:
        print(state["redirect_port"])
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    if log_file is not None:
        log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
