#!/usr/bin/env python3
"""A fake of Kaspi's QR merchant API on loopback, for tests (docs/kaspi.md).

Python 3 standard library only. It serves HTTPS on 127.0.0.1 speaking the merchant protocol the
relay's Kaspi client speaks: schemes r1 (header Api-Key), r2 and r3 (a client certificate), base
/rN/v01, status on /rN/v02/payment/status/{QrPaymentId}, the envelope
{"StatusCode": 0, "Message": "...", "Data": {...}} with non-zero codes as Kaspi's refusals, and the
status machine QrTokenCreated -> Wait -> Processed | Error with expiry.

It makes its own throw-away PKI in --dir with the openssl command: a CA (ca.pem), the server's
certificate for 127.0.0.1/localhost, the merchant's client certificate (CN edgenode-merchant, the
one it accepts) and a second client certificate of the same CA that it refuses with -10000.

When ready it prints one JSON line on stdout:
  {"https_port", "control_port", "ca_file", "client_certificate", "client_key",
   "wrong_client_certificate", "wrong_client_key", "api_key", "trade_point_id"}

A control API on a separate plain-HTTP loopback port plays the customer and the provider
(JSON bodies; a payment is named by "qr_payment_id" or "external_id"):
  POST /scan, /pay, /fail, /expire   the customer scans, pays, fails; the QR expires now
  POST /faults  {"action": "slow"|"drop"|"error", "count": 1, "path": "qr/create",
                 "seconds": 5, "code": -999}   the next `count` calls whose path contains
                 `path` (any when absent) answer after `seconds`, lose their connection without
                 an answer, or answer the error `code`
  POST /settings {"qr_lifetime_seconds", "poll_interval", "partial_refunds", "api_key"}
  GET  /state   {"received": [every call: method, path, scheme, auth, body], "payments": {...}}
  POST /clear   forgets what it received (not the payments)
"""

import argparse
import datetime
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ALMATY = datetime.timezone(datetime.timedelta(hours=5))
ACCEPTED_CN = "edgenode-merchant"


class State:
    def __init__(self, api_key):
        self.lock = threading.Lock()
        self.api_key = api_key
        self.trade_points = [{"TradePointId": 1, "TradePointName": "Salon (Satpayev St)"},
                             {"TradePointId": 2, "TradePointName": "Salon (Abay Ave)"}]
        self.devices = {}  # token -> (device id, trade point)
        self.payments = {}  # QrPaymentId -> dict
        self.received = []
        self.faults = []
        self.qr_lifetime = 120
        self.poll_interval = 3
        self.partial_refunds = True
        self.next_payment = 100000001

    def take_fault(self, path):
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and (not fault.get("path") or fault["path"] in path):
                    fault["count"] -= 1
                    return dict(fault)
            self.faults = [f for f in self.faults if f["count"] > 0]
        return None

    def status_of(self, payment):
        """The payment's status now: an unpaid QR past its expiry is Error."""
        if payment["status"] in ("QrTokenCreated", "Wait") and time.time() >= payment["expires_at"]:
            payment["status"] = "Error"
            payment["reason"] = "expired"
        return payment["status"]


def tiyn(value):
    """Kaspi's decimal tenge (a JSON number) in tiyn; None unless positive with <= 2 decimals."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    scaled = amount * 100
    if amount <= 0 or scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def tenge(minor):
    return float(Decimal(minor) / 100)


class KaspiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kaspi"

    def log_message(self, *args):
        pass

    def envelope(self, code, message="OK", data=None, status=200):
        body = {"StatusCode": code, "Message": message}
        if data is not None:
            body["Data"] = data
        raw = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except OSError:
            self.close_connection = True

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def serve(self, method):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        scheme = parts[0] if parts else ""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        auth = None
        if scheme == "r1":
            if self.headers.get("Api-Key") == state.api_key:
                auth = "api_key"
        elif scheme in ("r2", "r3"):
            cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            subject = dict(item[0] for item in (cert or {}).get("subject", ()))
            if subject.get("commonName") == ACCEPTED_CN:
                auth = "certificate"
            elif subject:
                auth = "other_certificate:" + subject.get("commonName", "")
        record = {"method": method, "path": url.path, "query": url.query, "scheme": scheme, "auth": auth,
                  "request_id": self.headers.get("X-Request-ID"), "body": body, "at": time.time()}
        with state.lock:
            state.received.append(record)
        fault = state.take_fault(url.path)
        if fault:
            if fault["action"] == "slow":
                time.sleep(float(fault.get("seconds", 5)))
            elif fault["action"] == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            elif fault["action"] == "error":
                return self.envelope(int(fault.get("code", -999)), fault.get("message", "injected error"))
        if scheme not in ("r1", "r2", "r3") or len(parts) < 3:
            return self.envelope(-1, "unknown path", status=404)
        if not record["request_id"]:
            return self.envelope(-1, "X-Request-ID is required", status=400)
        if auth not in ("api_key", "certificate"):
            return self.envelope(-10000, "client certificate or API key not accepted", status=401)
        if body is None:
            return self.envelope(-1, "body is not JSON", status=400)
        route = (method, parts[1], "/".join(parts[2:4]))
        with state.lock:
            return self.route(state, route, parts, body, parse_qs(url.query), scheme)

    def route(self, state, route, parts, body, query, scheme):
        method, version, name = route
        if (method, version, name) == ("GET", "v01", "partner/tradepoints"):
            if not state.trade_points:
                return self.envelope(-14000002, "no trade points")
            return self.envelope(0, data=state.trade_points)
        if (method, version, name) == ("POST", "v01", "device/register"):
            device, point = body.get("DeviceId"), body.get("TradePointId")
            if point not in [p["TradePointId"] for p in state.trade_points]:
                return self.envelope(-99000002, "trade point not found")
            if not device:
                return self.envelope(-1501, "device not found")
            token = hashlib.sha256(f"{device}/{point}".encode()).hexdigest()[:32]
            state.devices[token] = (device, point)
            return self.envelope(0, data={"DeviceToken": token})
        if (method, version, name) == ("POST", "v01", "qr/create"):
            if body.get("DeviceToken") not in state.devices:
                return self.envelope(-1501, "device not found")
            amount = tiyn(body.get("Amount"))
            if amount is None:
                return self.envelope(990000028, "wrong amount")
            payment_id = str(state.next_payment)
            state.next_payment += 1
            now = time.time()
            expires = now + state.qr_lifetime
            state.payments[payment_id] = {
                "qr_payment_id": payment_id, "external_id": body.get("ExternalId"), "amount": amount,
                "status": "QrTokenCreated", "created_at": now, "expires_at": expires, "returned": 0,
                "device_token": body.get("DeviceToken"), "scheme": scheme}
            return self.envelope(0, data={
                "QrToken": "https://pay.kaspi.kz/pay/" + uuid.uuid4().hex,
                "ExpireDate": datetime.datetime.fromtimestamp(expires, ALMATY).isoformat(timespec="milliseconds"),
                "QrPaymentId": int(payment_id),
                "PaymentMethods": ["Gold", "Red", "Loan"],
                "QrPaymentBehaviorOptions": {"StatusPollingInterval": state.poll_interval,
                                             "QrCodeScanWaitTimeout": 180, "PaymentConfirmationTimeout": 65}})
        if (method, version, name) == ("GET", "v02", "payment/status") and len(parts) == 5:
            payment = state.payments.get(parts[4])
            if payment is None:
                return self.envelope(-1601, "purchase not found")
            return self.envelope(0, data={"Status": state.status_of(payment)})
        if (method, version, name) == ("GET", "v01", "payment/details"):
            payment = state.payments.get((query.get("QrPaymentId") or [""])[0])
            if payment is None or (query.get("DeviceToken") or [""])[0] != payment["device_token"]:
                return self.envelope(-1601, "purchase not found")
            paid = state.status_of(payment) == "Processed"
            return self.envelope(0, data={
                "QrPaymentId": int(payment["qr_payment_id"]), "TotalAmount": tenge(payment["amount"]),
                "AvailableReturnAmount": tenge(payment["amount"] - payment["returned"]) if paid else 0,
                "TransactionDate": datetime.datetime.fromtimestamp(payment["created_at"], ALMATY).isoformat(timespec="milliseconds")})
        if (method, version, name) == ("POST", "v01", "payment/return"):
            if scheme != "r3":
                return self.envelope(-99000006, "refunds without the customer need r3")
            payment = state.payments.get(str(body.get("QrPaymentId")))
            if payment is None or body.get("DeviceToken") != payment["device_token"]:
                return self.envelope(-1601, "purchase not found")
            if state.status_of(payment) != "Processed":
                return self.envelope(-99000006, "refund error: the payment is not processed")
            amount = tiyn(body.get("Amount"))
            if amount is None:
                return self.envelope(990000028, "wrong amount")
            available = payment["amount"] - payment["returned"]
            if amount > available:
                return self.envelope(-99000005, "refund above the available amount")
            if not state.partial_refunds and amount != available:
                return self.envelope(-99000020, "partial refund unavailable")
            payment["returned"] += amount
            payment.setdefault("refunds", []).append(amount)
            return self.envelope(0, data={"ReturnOperationId": int(time.time() * 1000) % 10**12})
        return self.envelope(-1, "unknown method", status=404)


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, value, status=200):
        raw = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        state = self.server.state
        if self.path == "/state":
            with state.lock:
                for payment in state.payments.values():
                    state.status_of(payment)
                return self.answer({"received": state.received, "payments": state.payments})
        self.answer({"error": "unknown path"}, 404)

    def do_POST(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.answer({"error": "body is not JSON"}, 400)
        with state.lock:
            if self.path == "/faults":
                fault = {"action": body.get("action"), "count": int(body.get("count", 1)), "path": body.get("path"),
                         "seconds": body.get("seconds", 5), "code": body.get("code", -999)}
                if fault["action"] not in ("slow", "drop", "error"):
                    return self.answer({"error": "action is slow, drop or error"}, 400)
                state.faults.append(fault)
                return self.answer({"faults": state.faults})
            if self.path == "/settings":
                state.qr_lifetime = float(body.get("qr_lifetime_seconds", state.qr_lifetime))
                state.poll_interval = int(body.get("poll_interval", state.poll_interval))
                state.partial_refunds = bool(body.get("partial_refunds", state.partial_refunds))
                state.api_key = body.get("api_key", state.api_key)
                return self.answer({"ok": True})
            if self.path == "/clear":
                state.received = []
                return self.answer({"ok": True})
            if self.path in ("/scan", "/pay", "/fail", "/expire"):
                payment = state.payments.get(str(body.get("qr_payment_id")))
                if payment is None and body.get("external_id") is not None:
                    payment = next((p for p in state.payments.values() if p["external_id"] == body["external_id"]), None)
                if payment is None:
                    return self.answer({"error": "no such payment"}, 404)
                status = state.status_of(payment)
                if self.path == "/expire":
                    payment["expires_at"] = time.time() - 0.001
                    state.status_of(payment)
                elif status in ("Processed", "Error"):
                    return self.answer({"error": f"the payment is {status} already"}, 409)
                elif self.path == "/scan":
                    payment["status"] = "Wait"
                elif self.path == "/pay":
                    payment["status"] = "Processed"
                elif self.path == "/fail":
                    payment["status"] = "Error"
                    payment["reason"] = body.get("reason", "declined")
                return self.answer(payment)
        self.answer({"error": "unknown path"}, 404)


def make_pki(directory):
    """A CA, the server's certificate and two client certificates, with the openssl command."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def path(name):
        return os.path.join(directory, name)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=fake-kaspi-ca")
    with open(path("server.ext"), "w") as ext:
        ext.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn, ext in (("server", "localhost", path("server.ext")), ("client", ACCEPTED_CN, None), ("wrong-client", "someone-else", None)):
        openssl("req", *ec, "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=" + cn)
        openssl("x509", "-req", "-in", path(name + ".csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-days", "2", "-out", path(name + ".pem"), *(["-extfile", ext] if ext else []))
    return {"ca_file": path("ca.pem"), "client_certificate": path("client.pem"), "client_key": path("client.key"),
            "wrong_client_certificate": path("wrong-client.pem"), "wrong_client_key": path("wrong-client.key"),
            "server_certificate": path("server.pem"), "server_key": path("server.key")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where to write its throw-away PKI")
    parser.add_argument("--api-key", default="fake-kaspi-api-key-" + uuid.uuid4().hex[:12])
    arguments = parser.parse_args()
    os.makedirs(arguments.dir, exist_ok=True)
    pki = make_pki(arguments.dir)
    state = State(arguments.api_key)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pki["server_certificate"], pki["server_key"])
    context.load_verify_locations(pki["ca_file"])
    context.verify_mode = ssl.CERT_OPTIONAL  # r1 comes without one; r2/r3 are checked per request

    https = ThreadingHTTPServer(("127.0.0.1", 0), KaspiHandler)
    https.daemon_threads = True
    https.socket = context.wrap_socket(https.socket, server_side=True, do_handshake_on_connect=False)
    https.state = state
    control = ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    control.daemon_threads = True
    control.state = state
    for server in (https, control):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready = {"https_port": https.server_address[1], "control_port": control.server_address[1], "api_key": arguments.api_key,
             "trade_point_id": 1, **{k: v for k, v in pki.items() if k not in ("server_key",)}}
    print(json.dumps(ready), flush=True)
    # Until a signal ends it. A parent may have started it with SIGTERM blocked (inherited mask):
    # unblock it, and exit at once on it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass

if __name__ == "__main__":
    main()
