#!/usr/bin/env python3
"""Development server for the web app's sources (not used by the product; the browser tests use it
only with WEBAPP_DEV=1).

Serves webapp/index.html with a fresh esbuild bundle on every load (no rebuild of the box) and
passes /v1/* to a running box (EDGENODE_URL, default http://127.0.0.1:8470), sending
EDGENODE_TOKEN (a device token printed by `edgenode serve --demo`) as the device credential
instead of the box's cookie: a PIN session started through it is kept here and sent as
`Edgenode-Session`.

    EDGENODE_TOKEN=... python3 webapp/tools/devserver.py --port 8480
"""
import argparse, http.client, http.server, json, os, subprocess, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPSTREAM = urllib.parse.urlparse(os.environ.get("EDGENODE_URL", "http://127.0.0.1:8470"))
TOKEN = os.environ.get("EDGENODE_TOKEN", "")
SESSION = {"token": None}


def bundle(entry, loader_args=()):
    return subprocess.run(["esbuild", entry, "--bundle", "--format=esm", "--target=es2020", *loader_args],
                          cwd=ROOT, check=True, capture_output=True,
                          env={**os.environ, "NODE_PATH": os.pathsep.join(filter(None, [os.environ.get("NODE_PATH"), "/usr/share/nodejs"]))}).stdout


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/" or path.startswith("/b/") or path.startswith("/r/"):
            return self.send(200, open(os.path.join(ROOT, "index.html"), "rb").read().replace(b'href="app.css"', b'href="/app.css"').replace(b'src="app.js"', b'src="/app.js"'), "text/html; charset=utf-8")
        if path == "/app.js":
            return self.send(200, bundle("src/main.js"), "text/javascript")
        if path == "/app.css":
            return self.send(200, bundle("src/app.css"), "text/css")
        return self.proxy()

    do_POST = do_PUT = do_PATCH = do_DELETE = lambda self: self.proxy()

    def proxy(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        path = urllib.parse.urlparse(self.path).path
        strip_credential = path in ("/v1/sessions", "/v1/pairing-requests/claim") and body
        if strip_credential:
            document = json.loads(body)
            document.pop("credential", None)
            body = json.dumps(document).encode()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "cookie", "content-length", "edgenode-csrf")}
        if TOKEN:
            headers["Authorization"] = f"Bearer {TOKEN}"
        if SESSION["token"]:
            headers["Edgenode-Session"] = SESSION["token"]
        if body is not None:
            headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port or 80, timeout=600)
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        if path == "/v1/sessions" and self.command == "POST" and response.status == 201:
            data = response.read()
            SESSION["token"] = json.loads(data).get("token")
            return self.send(201, data, "application/json")
        if path == "/v1/sessions/current" and self.command == "DELETE":
            SESSION["token"] = None
        self.send_response(response.status)
        streaming = response.getheader("Content-Type", "").startswith("text/event-stream")
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        if streaming:
            self.send_header("Connection", "close")
            self.end_headers()
            while True:
                chunk = response.read1(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
            self.close_connection = True
            return
        data = response.read()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8480)
    arguments = parser.parse_args()
    http.server.ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler).serve_forever()
