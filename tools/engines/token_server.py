#!/usr/bin/python3
"""A token service for the test registry (tools/engines/registry.sh with
RE2PO_REGISTRY_AUTH=token): the Bearer flow of the distribution spec, as
Harbor, GHCR and Docker Hub run it. GET /token?service=S&scope=S with HTTP
Basic credentials answers {"token": JWT, "expires_in": N}; the JWT is RS256,
signed with `openssl dgst` by the key whose self-signed certificate the
registry trusts (rootcertbundle), the certificate in its x5c header.
Standard library and the openssl command only. Listens on 127.0.0.1."""

import argparse
import base64
import http.server
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenHandler(http.server.BaseHTTPRequestHandler):
    config: argparse.Namespace

    def log_message(self, fmt: str, *args: object) -> None:
        # One line per request, without the Authorization header.
        sys.stderr.write("token: %s %s\n" % (self.address_string(), fmt % args))

    def _refuse(self, code: int, why: str) -> None:
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": why}]}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.config.user) and \
            secrets.compare_digest(password, self.config.password)

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token":
            self._refuse(404, "no such path")
            return
        if not self._authorised():
            self._refuse(401, "wrong or missing credentials")
            return
        query = urllib.parse.parse_qs(url.query)
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name,
                           "actions": [a for a in actions.split(",") if a]})
        token = self._jwt(query.get("service", [""])[0], access)
        body = json.dumps({"token": token, "access_token": token,
                           "expires_in": self.config.lifetime,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                      time.gmtime())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _jwt(self, service: str, access: list) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.config.cert_b64]}
        claims = {"iss": self.config.issuer, "sub": self.config.user, "aud": service,
                  "exp": now + self.config.lifetime, "nbf": now - 10, "iat": now,
                  "jti": secrets.token_hex(16), "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + \
            b64url(json.dumps(claims).encode())
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.config.key],
            input=signing_input.encode(), capture_output=True, check=True).stdout
        return signing_input + "." + b64url(signature)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True, help="PEM private key")
    parser.add_argument("--cert", required=True, help="PEM certificate of that key")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--lifetime", type=int, default=300)
    config = parser.parse_args()
    config.user = os.environ["RE2PO_TOKEN_USER"]
    config.password = os.environ["RE2PO_TOKEN_PASSWORD"]
    der = subprocess.run(["openssl", "x509", "-in", config.cert, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    config.cert_b64 = base64.b64encode(der).decode()
    TokenHandler.config = config
    server = http.server.ThreadingHTTPServer(("127.0.0.1", config.port), TokenHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
