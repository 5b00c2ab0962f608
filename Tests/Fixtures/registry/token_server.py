#!/usr/bin/python3
"""A token server for the registry tests (distribution docs/spec/auth/token.md), test code
only: GET /token?service=S&scope=repository:NAME:ACTIONS with HTTP Basic USER:PASSWORD
answers {"token", "access_token", "expires_in"}: a JWT signed RS256 with KEY, whose header's
`kid` is the libtrust key id of CERT's public key, as distribution 2.8 looks it up among
the certificates of its `rootcertbundle`. Wrong or missing credentials: 401 with the
distribution error body. Every request is logged to stdout, without the credentials.

usage: token_server.py PORT KEY.pem CERT.pem ISSUER SERVICE USER PASSWORD
"""
import base64, json, sys, time, uuid, http.server, urllib.parse, hashlib
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography import x509

port, key_path, cert_path, issuer, service, user, password = sys.argv[1:8]
key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
b32 = base64.b32encode(hashlib.sha256(spki).digest()[:30]).decode()
kid = ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(subject, access):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "kid": kid}
    claims = {"iss": issuer, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": str(uuid.uuid4()), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64url(signature)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        ok = self.headers.get("Authorization") == expected
        print(f"token {url.path} scope={query.get('scope')} service={query.get('service')} auth={'ok' if ok else 'refused'}", flush=True)
        if url.path != "/token" or not ok:
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "token server: bad credentials"}]}).encode()
            self.send_response(401)
        else:
            access = []
            for scope in query.get("scope", []):
                kind, name, actions = scope.split(":", 2) if scope.count(":") >= 2 else ("", "", "")
                if kind == "repository":
                    access.append({"type": "repository", "name": name, "actions": actions.split(",")})
            t = token(user, access)
            body = json.dumps({"token": t, "access_token": t, "expires_in": 300}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
