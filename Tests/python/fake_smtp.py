#!/usr/bin/env python3
"""A fake SMTP submission server on loopback, for tests of the email transport (docs/messaging.md).

Built on aiosmtpd (scripts/test.sh installs it). It listens on 127.0.0.1 on four ports:
  smtp_port        submission: STARTTLS required before anything else, then AUTH (PLAIN and
                   LOGIN; AUTH before STARTTLS is refused) with the one user name and password
  login_only_port  the same, offering AUTH LOGIN only
  tls_port         implicit TLS (as on 465), AUTH PLAIN and LOGIN
  plain_port       no TLS offered at all; AUTH allowed in the clear (for `plain` on loopback)
  wrong_name_port  like smtp_port, but its certificate (same CA) names only mail.other.example
  injecting_port   not aiosmtpd: answers STARTTLS with its 220 followed by plain-text replies
It makes a throw-away PKI in --dir with the openssl command: a CA (ca.pem) and the server's
certificate for 127.0.0.1/localhost, a certificate of that CA for mail.other.example only, and a
second CA (other_ca.pem) that signed nothing here.

When ready it prints one JSON line on stdout:
  {"smtp_port", "login_only_port", "tls_port", "plain_port", "wrong_name_port", "injecting_port",
   "control_port", "ca_file", "other_ca_file", "username", "password"}

A control API (plain HTTP on its own loopback port, JSON):
  GET  /control/messages  every accepted message: {"port", "mail_from", "rcpt_tos", "tls",
                          "auth_mechanism", "headers": [[name, decoded value]...],
                          "raw_headers": [[name, raw value]...], "subject", "text", "html",
                          "content" (the message as received, after SMTP's dot-unstuffing)}
  POST /control/fail      {"reply": "451 4.3.0 try later", "at": "mail"|"rcpt"|"data"|"end",
                          "count": 1}: the next `count` sessions reaching that step get that
                          reply (at: "mail" by default; "end" is the reply to the message's final
                          "."); or {"mode": "accept_then_hang", "count": 1}: take the message,
                          then never answer its final "."
  POST /control/reset     forgets the messages and the pending failures
Exits at once on SIGTERM.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class State:
    def __init__(self, username, password):
        self.lock = threading.Lock()
        self.username = username
        self.password = password
        self.messages = []
        self.failures = []  # {"reply", "at", "count"} or {"mode", "count"}

    def take(self, at):
        """The failure for step `at` of a session, used up once."""
        with self.lock:
            for failure in self.failures:
                if failure["count"] > 0 and failure.get("at") == at:
                    failure["count"] -= 1
                    found = dict(failure)
                    self.failures = [f for f in self.failures if f["count"] > 0]
                    return found
        return None


class Handler:
    def __init__(self, state, port_name):
        self.state = state
        self.port_name = port_name

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        failure = self.state.take("mail")
        if failure:
            return failure["reply"]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        failure = self.state.take("rcpt")
        if failure:
            return failure["reply"]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self.state.take("end")
        if failure and failure.get("mode") == "accept_then_hang":
            await asyncio.Event().wait()  # never: the client must give up by itself
        if failure:
            return failure["reply"]
        content = envelope.original_content or envelope.content
        message = email.message_from_bytes(content, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        raw = email.message_from_bytes(content, policy=email.policy.compat32)
        record = {
            "port": self.port_name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": session.ssl is not None or self.port_name == "tls",
            "auth_mechanism": session.auth_data if session.authenticated else None,
            "headers": [[name, str(value)] for name, value in message.items()],
            "raw_headers": [[name, str(value)] for name, value in raw.items()],
            "subject": str(message.get("subject", "")),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "content": content.decode("ascii", errors="replace"),
        }
        with self.state.lock:
            self.state.messages.append(record)
        return "250 2.0.0 OK queued"


class DataStep(SMTP):
    """aiosmtpd's SMTP with a hook for a failure at the DATA command itself."""

    async def smtp_DATA(self, arg):
        failure = self.event_handler.state.take("data")
        if failure and self.envelope.rcpt_tos:
            await self.push(failure["reply"])
            return
        await super().smtp_DATA(arg)


async def injecting_session(reader, writer):
    """A server that offers STARTTLS and answers it with its 220 and, in the same write, a
    plain-text reply meant to be read as if it came over TLS (a response injection)."""
    writer.write(b"220 fake-smtp.local ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        command = line.strip().upper()
        if command.startswith(b"EHLO"):
            writer.write(b"250-fake-smtp.local\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
        elif command == b"STARTTLS":
            writer.write(b"220 2.0.0 ready\r\n250-fake-smtp.local\r\n250 AUTH PLAIN LOGIN\r\n")
        else:
            writer.write(b"502 5.5.2 not here\r\n")
        await writer.drain()
    writer.close()


def make_pki(directory):
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def path(name):
        return os.path.join(directory, name)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=fake-smtp-ca")
    openssl("req", "-x509", *ec, "-keyout", path("other_ca.key"), "-out", path("other_ca.pem"), "-days", "2", "-subj", "/CN=another-ca")
    with open(path("server.ext"), "w") as ext:
        ext.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("req", *ec, "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-days", "2", "-out", path("server.pem"), "-extfile", path("server.ext"))
    # A certificate of the same CA for another name only (a server that is not the one asked for).
    with open(path("wrong-name.ext"), "w") as ext:
        ext.write("subjectAltName=DNS:mail.other.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("req", *ec, "-keyout", path("wrong-name.key"), "-out", path("wrong-name.csr"), "-subj", "/CN=mail.other.example")
    openssl("x509", "-req", "-in", path("wrong-name.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-days", "2", "-out", path("wrong-name.pem"), "-extfile", path("wrong-name.ext"))
    return path("ca.pem"), path("other_ca.pem"), path("server.pem"), path("server.key"), path("wrong-name.pem"), path("wrong-name.key")


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
        if self.path == "/control/messages":
            with state.lock:
                return self.answer({"messages": state.messages})
        self.answer({"error": "unknown path"}, 404)

    def do_POST(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.answer({"error": "body is not JSON"}, 400)
        if self.path == "/control/fail":
            count = int(body.get("count", 1))
            if body.get("mode") == "accept_then_hang":
                failure = {"mode": "accept_then_hang", "at": "end", "count": count}
            elif isinstance(body.get("reply"), str) and body.get("at", "mail") in ("mail", "rcpt", "data", "end"):
                failure = {"reply": body["reply"], "at": body.get("at", "mail"), "count": count}
            else:
                return self.answer({"error": "give reply (and at: mail, rcpt, data or end) or mode: accept_then_hang"}, 400)
            with state.lock:
                state.failures.append(failure)
                return self.answer({"failures": state.failures})
        if self.path == "/control/reset":
            with state.lock:
                state.messages = []
                state.failures = []
            return self.answer({"ok": True})
        self.answer({"error": "unknown path"}, 404)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where to write its throw-away PKI")
    arguments = parser.parse_args()
    os.makedirs(arguments.dir, exist_ok=True)
    ca_file, other_ca_file, certificate, key, wrong_certificate, wrong_key = make_pki(arguments.dir)
    state = State("shop@example.kz", "s3cret-" + os.urandom(6).hex())

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    wrong_name_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    wrong_name_context.minimum_version = ssl.TLSVersion.TLSv1_2
    wrong_name_context.load_cert_chain(wrong_certificate, wrong_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == state.username
              and auth_data.password.decode() == state.password)
        return AuthResult(success=ok, handled=False, auth_data=mechanism if ok else None)

    loop = asyncio.new_event_loop()

    def listen(name, **options):
        handler = Handler(state, name)
        factory = lambda: DataStep(handler, authenticator=authenticator, auth_required=True, hostname="fake-smtp.local",
                                   loop=loop, **options)
        server = loop.run_until_complete(loop.create_server(factory, host="127.0.0.1", port=0,
                                                            ssl=context if name == "tls" else None))
        return server.sockets[0].getsockname()[1]

    ports = {
        "smtp_port": listen("smtp", tls_context=context, require_starttls=True),
        "login_only_port": listen("login_only", tls_context=context, require_starttls=True, auth_exclude_mechanism=["PLAIN"]),
        # aiosmtpd knows TLS only when it did STARTTLS itself: on the implicit-TLS port every
        # connection is TLS, so AUTH needs no further TLS there.
        "tls_port": listen("tls", auth_require_tls=False),
        "plain_port": listen("plain", auth_require_tls=False),
        "wrong_name_port": listen("wrong_name", tls_context=wrong_name_context, require_starttls=True),
    }
    injecting = loop.run_until_complete(asyncio.start_server(injecting_session, host="127.0.0.1", port=0))
    ports["injecting_port"] = injecting.sockets[0].getsockname()[1]
    control = ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    control.daemon_threads = True
    control.state = state
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print(json.dumps({**ports, "control_port": control.server_address[1], "ca_file": ca_file, "other_ca_file": other_ca_file,
                      "username": state.username, "password": state.password}), flush=True)
    # A parent may have started it with SIGTERM blocked (inherited mask): unblock it, exit at once on it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
