#!/usr/bin/env python3
"""A misbehaving Distribution v2 registry for Berth's pull tests.

    bad_registry.py LAYOUT MODE PORTFILE LOGFILE

Serves the OCI layout LAYOUT (its first manifest) as fixtures/busybox:latest
on 127.0.0.1 (a free port, written to PORTFILE once listening), misbehaving as
MODE says; every request is appended to LOGFILE ("GET /v2/... range=...").

Modes: ok, bad-digest (a layer byte flipped), short-body (the layer cut short,
with a matching Content-Length), reset (a TCP reset half-way through the
layer), hang (half the layer, then silence), wrong-size (the manifest claims a
bigger layer), unknown-media-type, invalid-json, huge-manifest, flaky (503 for
the first two layer GETs), slow (the layer at ~200 kB/s, for kill -9 tests),
recompressed (the layer's tar recompressed and padded to the same size: a
valid gzip of the right tar with the wrong digest), big (a synthetic image of
one ~4 MiB layer instead, served with HTTP Range support; its layer's
"digest size" is written to PORTFILE.layer), big-no-ranges (the same, ignoring
Range), big-reset (the same; every range request starting in the second half
of the layer is reset after half its bytes), big-slow (the same at ~2 MB/s),
token (bearer-token auth: /token on the same server hands a token for
Basic berth-test:s3cret, or for a POST of the OAuth2 refresh-token grant with
the refresh token "berth-test-refresh" (docker's identitytoken), and every
/v2/ request needs it).
"""
import base64, gzip, hashlib, http.server, io, random, tarfile, urllib.parse, json, os, socket, socketserver, struct, sys, threading, time

layout, mode, portfile, logfile = sys.argv[1:5]
REPO = "fixtures/busybox"


extra_blobs = {}


def blob(d):
    if d in extra_blobs:
        return extra_blobs[d]
    with open(os.path.join(layout, "blobs", "sha256", d.split(":", 1)[1]), "rb") as f:
        return f.read()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def big_image():
    """One layer: a tar of 4 MiB of (seeded) random bytes, gzip level 1."""
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = random.Random(7).randbytes(4 << 20)
        info = tarfile.TarInfo("big/data.bin")
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        t.addfile(info, io.BytesIO(data))
    raw = tar.getvalue()
    layer = gzip.compress(raw, compresslevel=1, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [sha(raw)]}}).encode()
    extra_blobs[sha(config)] = config
    extra_blobs[sha(layer)] = layer
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(layer),
                        "size": len(layer)}]}


def recompressed(layer):
    """The same tar at another gzip level, padded to the original size with an
    empty gzip member whose FEXTRA field takes up the difference."""
    raw = gzip.decompress(layer)
    body = gzip.compress(raw, compresslevel=9, mtime=0)
    pad = len(layer) - len(body) - 26
    assert 0 <= pad <= 65000, pad
    member = (b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", pad + 4) + b"Bp"
              + struct.pack("<H", pad) + b"\x00" * pad + b"\x03\x00" + b"\x00" * 8)
    out = body + member
    assert len(out) == len(layer) and gzip.decompress(out) == raw
    return out


if mode.startswith("big"):
    manifest = big_image()
else:
    index = json.load(open(os.path.join(layout, "index.json")))
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
layer_digest = manifest["layers"][0]["digest"]
layer = blob(layer_digest)
with open(portfile + ".layer", "w") as f:
    f.write(f"{layer_digest} {len(layer)}")

if mode == "wrong-size":
    manifest["layers"][0]["size"] += 10
elif mode == "unknown-media-type":
    manifest["layers"][0]["mediaType"] = "application/x-berth-bogus"
manifest_body = json.dumps(manifest).encode()
manifest_type = manifest.get("mediaType", "application/vnd.oci.image.manifest.v1+json")
if mode == "invalid-json":
    manifest_body = b'{"schemaVersion": 2, "layers": ['
elif mode == "huge-manifest":
    manifest["annotations"] = {"pad": "x" * (5 << 20)}
    manifest_body = json.dumps(manifest).encode()
manifest_digest = "sha256:" + hashlib.sha256(manifest_body).hexdigest()
layer_gets = 0
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle(self):
        # A TLS ClientHello (a client probing for HTTPS): refuse at once, as
        # real registries without TLS do, instead of waiting for a request line.
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":
            return
        super().handle()

    def record(self, body=""):
        with lock, open(logfile, "a") as f:
            f.write(f"{self.command} {self.path} range={self.headers.get('Range', '')}"
                    + (f" body={body}" if body else "") + "\n")

    def send(self, code, body=b"", ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def need_token(self):
        """Token mode: the registry half wants a bearer token, scoped to the repository."""
        if mode != "token":
            return False
        want = "Bearer " + hashlib.sha256(f"repository:{REPO}:pull".encode()).hexdigest()
        if self.path == "/v2/" and self.headers.get("Authorization", "").startswith("Bearer "):
            return False
        if self.headers.get("Authorization") == want:
            return False
        port = self.server.server_address[1]
        challenge = (f'Bearer realm="http://127.0.0.1:{port}/token",service="berth-test-registry"'
                     + (f',scope="repository:{REPO}:pull"' if self.path != "/v2/" else ""))
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                  extra={"WWW-Authenticate": challenge})
        return True

    def token(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        good = "Basic " + base64.b64encode(b"berth-test:s3cret").decode()
        if self.headers.get("Authorization") != good or q.get("service") != ["berth-test-registry"]:
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
        scopes = q.get("scope", [])
        tok = hashlib.sha256(scopes[0].encode()).hexdigest() if scopes else "anything"
        self.send(200, json.dumps({"token": tok, "expires_in": 300}).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.record(body)
        if not self.path.startswith("/token"):
            return self.send(404, b'{"errors":[{"code":"UNSUPPORTED","message":"no uploads here"}]}')
        form = urllib.parse.parse_qs(body)
        if (self.headers.get("Content-Type") != "application/x-www-form-urlencoded"
                or form.get("grant_type") != ["refresh_token"] or not form.get("client_id")
                or form.get("service") != ["berth-test-registry"]):
            return self.send(400, b'{"error":"invalid_request"}')
        if form.get("refresh_token") != ["berth-test-refresh"]:
            return self.send(401, b'{"error":"invalid_grant"}')
        scopes = form.get("scope", [""])[0].split(" ")
        tok = hashlib.sha256(scopes[0].encode()).hexdigest() if scopes[0] else "anything"
        self.send(200, json.dumps({"access_token": tok, "expires_in": 300, "scope": " ".join(scopes)}).encode())

    def do_GET(self):
        global layer_gets
        self.record()
        p = self.path
        if p.startswith("/token"):
            return self.token()
        if self.need_token():
            return
        if p == "/v2/":
            return self.send(200, b"{}")
        if p in (f"/v2/{REPO}/manifests/latest", f"/v2/{REPO}/manifests/{manifest_digest}"):
            return self.send(200, manifest_body, manifest_type, {"Docker-Content-Digest": manifest_digest})
        if p.startswith(f"/v2/{REPO}/blobs/"):
            d = p.rsplit("/", 1)[1]
            if d != layer_digest:
                try:
                    return self.send(200, blob(d), "application/octet-stream")
                except OSError:
                    return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
            return self.serve_layer()
        self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}')

    def serve_layer(self):
        global layer_gets
        with lock:
            layer_gets += 1
            n = layer_gets
        data = layer
        if mode == "bad-digest":
            data = bytearray(layer)
            data[len(data) // 2] ^= 0xFF
            data = bytes(data)
        if mode == "short-body":
            data = layer[: len(layer) // 2]
        if mode == "recompressed":
            data = recompressed(layer)
        if mode == "flaky" and n <= 2:
            return self.send(503, b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}')
        start, end, ranged = 0, len(data), False
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and mode in ("ok", "slow", "flaky", "big", "big-reset", "big-slow"):
            first, _, last = rng[6:].partition("-")
            start, ranged = int(first), True
            if last:
                end = min(end, int(last) + 1)
        body = data[start:end]
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        if self.command == "HEAD":
            return
        half = len(body) // 2
        if mode == "reset" or (mode == "big-reset" and ranged and start >= len(data) // 2):
            self.wfile.write(body[:half])
            self.wfile.flush()
            # SO_LINGER 0 + close = RST. detach(): the handler's buffered
            # files hold the socket object, which would keep the fd open.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
            self.close_connection = True
            return
        if mode == "hang":
            self.wfile.write(body[:half])
            self.wfile.flush()
            time.sleep(60)
            return
        if mode in ("slow", "big-slow"):
            step = 4096 if mode == "slow" else 65536
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.02 if mode == "slow" else 0.03)
            return
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
