#!/usr/bin/env python3
"""A fake Webkassa (cloud cash register, Kazakhstan) on loopback, for the box's tests.

It speaks the part of Webkassa's HTTP API the box uses (docs/fiscal.md, "The fake Webkassa"):

  POST /api/v4/Authorize        X-API-KEY header, {Login, Password} -> {Data: {Token}}
  POST /api/v4/Check            {Token, CashboxUniqueNumber, OperationType, Positions, Payments,
                                 Change, RoundType, ExternalCheckNumber}
                                -> {Data: {CheckNumber, DateTime, OfflineMode, ShiftNumber, TicketUrl, ...}}
  POST /api-history/v4/Ticket/GetTicketByExternalCheckNumber
                                {Token, CashboxUniqueNumber, ExternalCheckNumber} -> {Data: {...the check...}}

(the same paths without "/v4" too, case-insensitively). Errors come as {Errors: [{Code, Text}]}
with HTTP 200: 1 wrong login/password, 2 session expired, 3 wrong API key, 6 no such cashbox,
9 validation, 14 duplicate ExternalCheckNumber (by default without Data; see /duplicate-mode).
Check numbers are sequential; amounts are read as exact decimals.

A control API on a second loopback port (JSON in and out):

  POST /expire-sessions                      every token issued so far is expired (error 2)
  POST /next-checks {"mode", "count", "hang_seconds", "text", "code"}
        mode "hang":     register the check, then wait hang_seconds before answering
                         (longer than the client's timeout: "timed out after the register accepted it")
        mode "drop":     register the check, then close the connection without an answer
        mode "error500": answer HTTP 500 without registering
        mode "refuse":   answer error `code` (default 9, validation) with `text` without registering
  POST /offline                              close the API port: connections are refused
  POST /online                               listen on the same API port again
  POST /duplicate-mode {"with_data": bool}   whether error 14 carries the existing check's Data
  GET  /checks                               {"checks": [every registered check, in order]}
  GET  /stats                                {"authorize": n, "check": n, "lookup": n}

It prints {"api_port": N, "control_port": M} as one line on standard output once both listen.
Python 3 standard library only; `--port 0` (the default) picks free ports.
"""

import argparse
import datetime
import decimal
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, api_key, login, password, cashbox):
        self.lock = threading.Lock()
        self.api_key = api_key
        self.login = login
        self.password = password
        self.cashbox = cashbox
        self.tokens = {}  # token -> valid
        self.checks = []
        self.next_number = 1000000001
        self.shift = 1
        self.plans = []  # [mode, remaining, hang_seconds, text, code]
        self.duplicate_with_data = False
        self.stats = {"authorize": 0, "check": 0, "lookup": 0}
        self.connections = set()  # the API's open connections, which /offline closes

    def take_plan(self):
        with self.lock:
            while self.plans and self.plans[0][1] <= 0:
                self.plans.pop(0)
            if not self.plans:
                return None
            self.plans[0][1] -= 1
            mode, _, hang, text, code = self.plans[0]
            return mode, hang, text, code


def error(code, text):
    return {"Errors": [{"Code": code, "Text": text}]}


def number(value):
    """A JSON number as an exact decimal, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal)):
        return None
    return decimal.Decimal(value)


def validate_check(body):
    """Webkassa-style validation of a Check body: None or an error text."""
    if body.get("OperationType") not in (2, 3):
        return "OperationType must be 2 (sale) or 3 (sale return)"
    external = body.get("ExternalCheckNumber")
    if not isinstance(external, str) or not external:
        return "ExternalCheckNumber is required"
    positions = body.get("Positions")
    if not isinstance(positions, list) or not positions:
        return "Positions are required"
    total = decimal.Decimal(0)
    for position in positions:
        count, price = number(position.get("Count")), number(position.get("Price"))
        discount = number(position.get("Discount", 0))
        if count is None or price is None or discount is None or count <= 0 or price < 0:
            return "Position Count and Price must be positive numbers"
        if position.get("TaxType") not in (0, 100):
            return "TaxType must be 0 or 100"
        if not isinstance(position.get("PositionName"), str) or not position["PositionName"].strip():
            return "PositionName is required"
        for field in ("Price", "Discount", "Tax"):
            value = number(position.get(field, 0))
            if value is None or value.as_tuple().exponent < -2:
                return f"{field} has more than two decimals"
        total += count * price - discount
    payments = body.get("Payments")
    if not isinstance(payments, list) or not payments:
        return "Payments are required"
    paid = decimal.Decimal(0)
    for payment in payments:
        amount = number(payment.get("Sum"))
        if amount is None or amount <= 0 or payment.get("PaymentType") not in (0, 1, 2, 3, 4):
            return "Payment Sum and PaymentType are invalid"
        paid += amount
    change = number(body.get("Change", 0)) or decimal.Decimal(0)
    if paid - change != total:
        return f"Сумма оплаты {paid} не равна сумме чека {total}"
    return None


def listed(check):
    """A registered check as the control API lists it (amounts as decimal strings)."""
    def amounts(item):
        return {k: (str(v) if isinstance(v, decimal.Decimal) else v) for k, v in item.items()}
    return dict(check, Positions=[amounts(p) for p in check["Positions"]], Payments=[amounts(p) for p in check["Payments"]],
                Total=str(check["Total"]))


def receipt_data(check):
    return {
        "CheckNumber": check["CheckNumber"], "DateTime": check["DateTime"], "OfflineMode": False,
        "CashboxOfflineMode": False, "ShiftNumber": check["ShiftNumber"], "CheckOrderNumber": check["CheckOrderNumber"],
        "Total": float(check["Total"]), "TicketUrl": check["TicketUrl"], "ExternalCheckNumber": check["ExternalCheckNumber"],
        "Cashbox": {"UniqueNumber": check["CashboxUniqueNumber"], "RegistrationNumber": "620100030725"},
    }


class JSONHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the tests read standard output
        pass

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}", parse_float=decimal.Decimal)
        except ValueError:
            return None

    def reply(self, body, status=200):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def api_handler(state):
    class Handler(JSONHandler):
        def setup(self):
            super().setup()
            with state.lock:
                state.connections.add(self.connection)

        def finish(self):
            with state.lock:
                state.connections.discard(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        def do_POST(self):
            path = self.path.lower().replace("/v4/", "/")
            body = self.read_json()
            if not isinstance(body, dict):
                return self.reply(error(9, "The request body is not a JSON object"))
            if path == "/api/authorize":
                return self.authorize(body)
            if self.headers.get("X-API-KEY") != state.api_key:
                return self.reply(error(3, "Неверный API-ключ"), 401)
            with state.lock:
                valid = state.tokens.get(body.get("Token"))
            if valid is None:
                return self.reply(error(3, "Пользователь не авторизован"))
            if not valid:
                return self.reply(error(2, "Срок действия сессии истек"))
            if body.get("CashboxUniqueNumber") != state.cashbox:
                return self.reply(error(6, "Касса не найдена"))
            if path == "/api/check":
                return self.check(body)
            if path == "/api-history/ticket/getticketbyexternalchecknumber":
                return self.lookup(body)
            self.reply({"Errors": [{"Code": -1, "Text": f"unknown path {self.path}"}]}, 404)

        def authorize(self, body):
            with state.lock:
                state.stats["authorize"] += 1
            if self.headers.get("X-API-KEY") != state.api_key:
                return self.reply(error(3, "Неверный API-ключ"), 401)
            if body.get("Login") != state.login or body.get("Password") != state.password:
                return self.reply(error(1, "Неверный логин и/или пароль"))
            token = uuid.uuid4().hex
            with state.lock:
                state.tokens[token] = True
            self.reply({"Data": {"Token": token}})

        def check(self, body):
            with state.lock:
                state.stats["check"] += 1
            plan = state.take_plan()
            mode, hang, text, code = plan if plan else (None, 0, "", 9)
            if mode == "error500":
                return self.reply({"Message": "An error has occurred."}, 500)
            if mode == "refuse":
                return self.reply(error(code, text or "Ошибка валидации"))
            problem = validate_check(body)
            if problem:
                return self.reply(error(9, problem))
            with state.lock:
                existing = next((c for c in state.checks if c["ExternalCheckNumber"] == body["ExternalCheckNumber"]), None)
                if existing is None:
                    number_ = str(state.next_number)
                    state.next_number += 1
                    total = sum(number(p["Count"]) * number(p["Price"]) - number(p.get("Discount", 0)) for p in body["Positions"])
                    check = {
                        "CheckNumber": number_, "ExternalCheckNumber": body["ExternalCheckNumber"],
                        "OperationType": body["OperationType"], "CashboxUniqueNumber": body["CashboxUniqueNumber"],
                        "Positions": body["Positions"], "Payments": body["Payments"], "Total": total,
                        "ShiftNumber": state.shift, "CheckOrderNumber": len(state.checks) + 1,
                        "DateTime": datetime.datetime.now().strftime("%d.%m.%Y %H:%M:%S"),
                        "TicketUrl": f"http://consumer.fake-ofd.test/consumer?i={number_}&f=620100030725",
                    }
                    state.checks.append(check)
            if existing is not None:
                answer = error(14, "Чек с таким внешним номером уже существует")
                if state.duplicate_with_data:
                    answer["Data"] = receipt_data(existing)
                return self.reply(answer)
            if mode == "hang":
                time.sleep(hang)
            if mode == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            try:
                self.reply({"Data": receipt_data(check)})
            except OSError:
                pass  # the client gave up waiting (mode "hang")

        def lookup(self, body):
            with state.lock:
                state.stats["lookup"] += 1
                found = next((c for c in state.checks if c["ExternalCheckNumber"] == body.get("ExternalCheckNumber")), None)
            if found is None:
                return self.reply(error(9, "Чек не найден"))
            self.reply({"Data": receipt_data(found)})

    return Handler


class ApiServer:
    """The API listener, which /offline closes and /online opens again on the same port."""

    def __init__(self, state, port):
        self.state = state
        self.server = None
        self.port = port
        self.lock = threading.Lock()
        self.start()

    def start(self):
        with self.lock:
            if self.server is not None:
                return
            ThreadingHTTPServer.allow_reuse_address = True
            ThreadingHTTPServer.daemon_threads = True
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), api_handler(self.state))
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        with self.lock:
            if self.server is None:
                return
            self.server.shutdown()
            self.server.server_close()
            self.server = None
            # Offline means offline: kept-alive connections end too.
            with self.state.lock:
                connections = list(self.state.connections)
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def control_handler(state, api):
    class Handler(JSONHandler):
        def do_GET(self):
            if self.path == "/checks":
                with state.lock:
                    return self.reply({"checks": [listed(c) for c in state.checks]})
            if self.path == "/stats":
                with state.lock:
                    return self.reply(dict(state.stats))
            self.reply({"error": "not found"}, 404)

        def do_POST(self):
            body = self.read_json()
            if not isinstance(body, dict):
                return self.reply({"error": "not JSON"}, 400)
            if self.path == "/expire-sessions":
                with state.lock:
                    for token in state.tokens:
                        state.tokens[token] = False
                return self.reply({"ok": True})
            if self.path == "/next-checks":
                mode = body.get("mode")
                if mode not in ("hang", "drop", "error500", "refuse"):
                    return self.reply({"error": "mode must be hang, drop, error500 or refuse"}, 400)
                with state.lock:
                    state.plans.append([mode, int(body.get("count", 1)), float(body.get("hang_seconds", 5)), str(body.get("text", "")),
                                        int(body.get("code", 9))])
                return self.reply({"ok": True})
            if self.path == "/offline":
                api.stop()
                return self.reply({"ok": True})
            if self.path == "/online":
                api.start()
                return self.reply({"ok": True})
            if self.path == "/duplicate-mode":
                with state.lock:
                    state.duplicate_with_data = bool(body.get("with_data"))
                return self.reply({"ok": True})
            self.reply({"error": "not found"}, 404)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="the API's loopback port (0: any free port)")
    parser.add_argument("--control-port", type=int, default=0, help="the control API's loopback port (0: any free port)")
    parser.add_argument("--api-key", default="test-api-key")
    parser.add_argument("--login", default="cashier@example.kz")
    parser.add_argument("--password", default="test-password")
    parser.add_argument("--cashbox", default="SWK00000001")
    args = parser.parse_args()
    # End at once on SIGTERM, even when the parent started it with the signal ignored or blocked
    # (a child inherits both; the Swift test runner blocks it).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    state = State(args.api_key, args.login, args.password, args.cashbox)
    api = ApiServer(state, args.port)
    ThreadingHTTPServer.daemon_threads = True
    control = ThreadingHTTPServer(("127.0.0.1", args.control_port), control_handler(state, api))
    print(json.dumps({"api_port": api.port, "control_port": control.server_address[1]}), flush=True)
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
