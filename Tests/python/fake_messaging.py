"""What the fake messaging providers share (fake_telegram.py, fake_whatsapp.py, fake_sms.py).

Python 3 standard library only. Each fake serves its provider's API on one loopback port and a
control API on another (docs/messaging-providers.md, "The fakes"):

  GET  /control/messages   {"messages": [every message accepted, in order]}
  POST /control/fail       queue a failure for the next `count` (default 1) calls of `endpoint`
                           ("send" by default; "status", "updates"), optionally only for one
                           `recipient` (a chat id or a phone number as the provider got it):
                             {"status": 429, "retry_after": 2}   an error answer in the provider's shape
                             {"status": 403, "description": "Forbidden: bot was blocked by the user"}
                             {"status": 200, "code": 1, "description": "..."}   a provider error code
                             {"mode": "accept_then_hang"}  record the message as accepted, never answer
                                                           (the connection closes when the client gives up)
                             {"mode": "accept_then_close"}  record it as accepted, close the connection
                                                            at once without answering
                             {"mode": "hold"}  hold the call until POST /control/release, then serve it
  POST /control/release    let every held call go on
  POST /control/reset      forget messages, queued failures and provider state; release held calls
  GET  /control/stats      {"held": n, "hanging": n, "requests": <calls of the provider API so far>}

The fake prints one JSON line on stdout when ready (its ports and the credentials it accepts)
and exits at once on SIGTERM.
"""

import json
import os
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


class State:
    """The fake's state; provider fakes add their own fields under the same lock."""

    def __init__(self):
        self.lock = threading.Condition()
        self.messages = []
        self.failures = []
        self.release_generation = 0
        self.held = 0
        self.hanging = 0
        self.requests = 0
        self.stopping = threading.Event()

    def reset(self):
        with self.lock:
            self.messages = []
            self.failures = []
            self.release_generation += 1
            self.lock.notify_all()
            self.reset_provider()

    def reset_provider(self):
        pass

    def add_failure(self, spec):
        spec = dict(spec)
        spec["count"] = int(spec.get("count", 1))
        spec.setdefault("endpoint", "send")
        if "recipient" in spec and spec["recipient"] is not None:
            spec["recipient"] = str(spec["recipient"])
        if "mode" not in spec and "status" not in spec:
            raise ValueError("a failure needs a status or a mode (accept_then_hang, accept_then_close, hold)")
        if spec.get("mode") not in (None, "accept_then_hang", "accept_then_close", "hold"):
            raise ValueError("mode is accept_then_hang, accept_then_close or hold")
        if spec.get("recipient") is None and spec.get("chat_id") is not None:
            spec["recipient"] = str(spec["chat_id"])
        with self.lock:
            self.failures.append(spec)

    def take_failure(self, endpoint, recipient=None):
        with self.lock:
            for spec in self.failures:
                if spec["count"] <= 0 or spec["endpoint"] != endpoint:
                    continue
                if spec.get("recipient") is not None and spec["recipient"] != (None if recipient is None else str(recipient)):
                    continue
                spec["count"] -= 1
                self.failures = [f for f in self.failures if f["count"] > 0]
                return dict(spec)
        return None

    def hold(self):
        """Waits until POST /control/release (or reset, or the fake stops)."""
        with self.lock:
            generation = self.release_generation
            self.held += 1
            try:
                while self.release_generation == generation and not self.stopping.is_set():
                    self.lock.wait(0.5)
            finally:
                self.held -= 1


class Handler(BaseHTTPRequestHandler):
    """Reads a request's query, JSON or form body; answers JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-provider"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # An answer goes out as the head and then the body: without this, Nagle's algorithm and the
        # client's delayed ACK hold the body ~40 ms on every kept-alive exchange.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def state(self):
        return self.server.state

    def read_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        self.route = url.path
        self.query = parse_qs(url.query, keep_blank_values=True)
        self.json_body = None
        self.form = {}
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if self.raw_body:
            if content_type == "application/json":
                try:
                    self.json_body = json.loads(self.raw_body)
                except ValueError:
                    self.json_body = None
            elif content_type == "application/x-www-form-urlencoded":
                self.form = parse_qs(self.raw_body.decode("utf-8", "replace"), keep_blank_values=True)
        if not isinstance(self, ControlHandler):
            with self.state.lock:
                self.state.requests += 1

    def param(self, name, default=None):
        """A parameter from the JSON body, the form body or the query, in that order."""
        if isinstance(self.json_body, dict) and name in self.json_body:
            return self.json_body[name]
        if name in self.form:
            return self.form[name][0]
        if name in self.query:
            return self.query[name][0]
        return default

    def answer(self, status, value, headers=None):
        raw = json.dumps(value, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, header in (headers or {}).items():
                self.send_header(name, str(header))
            self.end_headers()
            self.wfile.write(raw)
        except OSError:
            self.close_connection = True

    def hang(self, failure=None):
        """Never answers: waits until the client closes the connection (or the fake stops), then
        closes it; with the mode accept_then_close, closes it at once."""
        if failure and failure.get("mode") == "accept_then_close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        with self.state.lock:
            self.state.hanging += 1
        try:
            while not self.state.stopping.is_set():
                readable, _, _ = select.select([self.connection], [], [], 0.5)
                if readable:
                    try:
                        if not self.connection.recv(4096):
                            break
                    except OSError:
                        break
        finally:
            with self.state.lock:
                self.state.hanging -= 1
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ControlHandler(Handler):
    """The control API; a fake adds its own paths in `extra(path, body)`."""

    def do_GET(self):
        self.read_request()
        state = self.state
        if self.route == "/control/messages":
            with state.lock:
                return self.answer(200, {"messages": list(state.messages)})
        if self.route == "/control/stats":
            with state.lock:
                return self.answer(200, {"held": state.held, "hanging": state.hanging, "requests": state.requests})
        self.answer(404, {"error": "unknown path"})

    def do_POST(self):
        self.read_request()
        state = self.state
        if self.raw_body and self.json_body is None:
            try:
                self.json_body = json.loads(self.raw_body)
            except ValueError:
                pass
        body = self.json_body if isinstance(self.json_body, dict) else {}
        if self.raw_body and not isinstance(self.json_body, dict):
            return self.answer(400, {"error": "the body must be a JSON object"})
        try:
            if self.route == "/control/fail":
                state.add_failure(body)
                with state.lock:
                    return self.answer(200, {"failures": list(state.failures)})
            if self.route == "/control/release":
                with state.lock:
                    state.release_generation += 1
                    state.lock.notify_all()
                return self.answer(200, {"ok": True})
            if self.route == "/control/reset":
                state.reset()
                return self.answer(200, {"ok": True})
            result = self.server.extra(self, self.route, body)
        except (ValueError, KeyError, TypeError) as error:
            return self.answer(400, {"error": str(error)})
        if result is None:
            return self.answer(404, {"error": "unknown path"})
        status, value = result
        self.answer(status, value)


def run(state, api_handler, extra, ready):
    """Serves the API and the control API on loopback, prints the ready line, waits for SIGTERM."""
    api = Server(("127.0.0.1", 0), api_handler)
    api.state = state
    control = Server(("127.0.0.1", 0), ControlHandler)
    control.state = state
    control.extra = extra
    for server in (api, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"api_port": api.server_address[1], "control_port": control.server_address[1], **ready}), flush=True)
    # A parent may have started it with SIGTERM blocked (an inherited mask): unblock it, exit at once on it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    threading.Event().wait()


def now():
    return int(time.time())
