#!/usr/bin/python3
"""An HTTPS server with a self-signed certificate, for the probe tests (Debian's python3 and
openssl only).

    https_server.py PORT DIR

Makes DIR/cert.pem and DIR/key.pem with `openssl req` if they are missing, listens on
127.0.0.1:PORT (0: any free port) and prints the port it got. Paths:
  /healthz        200, or 500 while DIR/unhealthy exists
  /live           200, or 500 while DIR/dead exists; 400 unless the headers are as /headers wants
  /moved          302 to /healthz (the same host: kubelet follows it)
  /moved-missing  302 to /missing, a 404
  /away           302 to another host (kubelet does not follow it: a success with a warning)
  /loop           302 to itself (kubelet stops after 10)
  /headers        200 if User-Agent is kube-probe/1.32 and X-Probe is 1, else 400
  anything else   404
Each request's path and headers go to stderr.
"""
import http.server
import os
import ssl
import subprocess
import sys

port, directory = int(sys.argv[1]), sys.argv[2]
cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
if not os.path.exists(cert):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-subj", "/CN=probe-test", "-days", "2"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

REDIRECTS = {"/moved": "/healthz", "/moved-missing": "/missing", "/away": "https://elsewhere.invalid:1/", "/loop": "/loop"}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        sys.stderr.write("%s %s\n" % (self.path, dict(self.headers)))
        if self.path in REDIRECTS:
            return self.answer(302, "moved", [("Location", REDIRECTS[self.path])])
        if self.path == "/healthz":
            return self.answer(500 if os.path.exists(os.path.join(directory, "unhealthy")) else 200, "ok")
        if self.path == "/live":
            if not self.good_headers():
                return self.answer(400, "headers")
            return self.answer(500 if os.path.exists(os.path.join(directory, "dead")) else 200, "ok")
        if self.path == "/headers":
            return self.answer(200 if self.good_headers() else 400, "headers")
        return self.answer(404, "not found")

    def good_headers(self):
        return self.headers.get("User-Agent") == "kube-probe/1.32" and self.headers.get("X-Probe") == "1"

    def answer(self, code, body, headers=()):
        data = body.encode()
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
