#!/usr/bin/python3
"""A registry front for the registry tests, test code only. On 127.0.0.1:FRONT it passes
every request through to the registry at 127.0.0.1:UPSTREAM (Authorization included, as
a registry's own origin gets it), except blob GETs:

- MODE redirect: answered 307 with a Location on another origin, alternately
  http://localhost:BLOBS/… (another host and port) and http://127.0.0.1:BLOBS/… (the same
  host, another port). The blob host serves the blob by fetching it from the registry with
  its own credentials.
- MODE slow: passed through after a second's wait, so that two pulls started together
  overlap on every blob (the test images' blobs are a few kB, which would otherwise arrive
  before the second pull asks).
- MODE corrupt: passed through with the body's last byte flipped (same length), as a bad
  disk or proxy would.

Each request is logged to stdout with whether it carried an Authorization header (never
its value).

usage: registry_front.py MODE FRONT UPSTREAM BLOBS USER PASSWORD
"""
import base64, itertools, sys, threading, time, http.server, urllib.request, urllib.error

mode, front, upstream, blobs, user, password = sys.argv[1:7]
turn = itertools.count()
lock = threading.Lock()


def log(line):
    with lock:
        print(line, flush=True)


def fetch(path, headers):
    request = urllib.request.Request("http://127.0.0.1:%s%s" % (upstream, path), headers=headers)
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        auth = "present" if self.headers.get("Authorization") else "absent"
        if "/blobs/sha256:" in self.path and mode == "slow":
            log("front slow %s authorization=%s" % (self.path, auth))
            time.sleep(1)
        elif "/blobs/sha256:" in self.path and mode == "redirect":
            host = "localhost" if next(turn) % 2 == 0 else "127.0.0.1"
            log("front redirect %s authorization=%s" % (self.path, auth))
            self.send_response(307)
            self.send_header("Location", "http://%s:%s%s" % (host, blobs, self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        else:
            log("front pass %s authorization=%s" % (self.path, auth))
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
        status, response_headers, body = fetch(self.path, headers)
        if mode == "corrupt" and "/blobs/sha256:" in self.path and status == 200 and body:
            body = body[:-1] + bytes([body[-1] ^ 0xff])
        self.send_response(status)
        for k, v in response_headers.items():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class BlobHost(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        log("blob-host %s host=%s authorization=%s" % (self.path, self.headers.get("Host"), "present" if self.headers.get("Authorization") else "absent"))
        own = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        status, _, body = fetch(self.path, {"Authorization": own})
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


blob_server = http.server.ThreadingHTTPServer(("127.0.0.1", int(blobs)), BlobHost)
threading.Thread(target=blob_server.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer(("127.0.0.1", int(front)), Front).serve_forever()
