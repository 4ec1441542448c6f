#!/usr/bin/env python3
"""A fake of Mobizon's or Twilio's SMS API on loopback, for tests (docs/messaging-providers.md).

Python 3 standard library only. One provider per process (--provider mobizon|twilio):

mobizon  GET or POST /service/message/sendsmsmessage?apiKey=&recipient=<digits>&text=&from=
         &output=json&api=v1 -> {"code": 0, "data": {"campaignId", "messageId", "status": 1},
         "message": ""}; code 1 (validation, `data` names the field) for a bad recipient or an empty
         text; code 8 for a wrong API key (the real code is unverified).
         GET /service/message/getsmsstatus?apiKey=&ids[]=... -> {"code": 0, "data": [{"id",
         "status", "segNum", "startSendTs", "statusUpdateTs"}]}; a new message is NEW.
twilio   POST /2010-04-01/Accounts/<AC...>/Messages.json (Basic auth; form To, Body, From or
         MessagingServiceSid) -> 201 with the message resource (status queued, or accepted with a
         Messaging Service); GET /2010-04-01/Accounts/<AC...>/Messages/<SM...>.json -> the resource
         with its current status; errors {"code", "message", "more_info", "status"} (401 20003,
         400 21211 / 21602 / 21603, 404 20404).

Ready line: {"api_port", "control_port", "provider", and the credentials: "api_key" | "account_sid",
"auth_token"}. Control API: see fake_messaging.py, plus
  POST /control/status {"id", "status", "error_code"?, "error_message"?}   the status endpoints
       answer it from then on (Mobizon: DELIVRD, UNDELIV, ...; Twilio: delivered, undelivered, ...)
"""

import argparse
import base64
import email.utils
import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_messaging  # noqa: E402


class SMSState(fake_messaging.State):
    def __init__(self, provider, credentials):
        super().__init__()
        self.provider = provider
        self.credentials = credentials
        self.next_id = 1
        self.by_id = {}


def rfc2822(timestamp):
    return email.utils.formatdate(timestamp, usegmt=False).replace("-0000", "+0000")


class MobizonHandler(fake_messaging.Handler):
    server_version = "fake-mobizon"

    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def mobizon(self, code, data=None, message="", status=200, retry_after=None):
        self.answer(status, {"code": code, "data": data if data is not None else "", "message": message},
                    {"Retry-After": retry_after} if retry_after is not None else None)

    def injected(self, failure):
        if failure is None or "status" not in failure:
            return False
        status = int(failure["status"])
        code = int(failure.get("code", 0 if status == 200 else 999))
        self.mobizon(code, {}, failure.get("description", "injected error"), status, failure.get("retry_after"))
        return True

    def serve(self):
        self.read_request()
        state = self.state
        route = self.route.lower().rstrip("/")
        if not route.startswith("/service/message/"):
            return self.mobizon(99, None, "Unknown module or method", 404)
        if self.param("apiKey") != state.credentials["api_key"]:
            return self.mobizon(8, None, "Invalid API key")
        method = route.rsplit("/", 1)[1]
        if method == "sendsmsmessage":
            recipient = str(self.param("recipient", "") or "")
            text = self.param("text", "") or ""
            if not recipient.isdigit() or not 10 <= len(recipient) <= 15:
                return self.mobizon(1, {"recipient": "Invalid recipient number"}, "Data validation error")
            if not text:
                return self.mobizon(1, {"text": "Text cannot be blank"}, "Data validation error")
            failure = state.take_failure("send", recipient)
            if failure and failure.get("mode") == "hold":
                state.hold()
                failure = None
            if self.injected(failure):
                return
            with state.lock:
                message_id = str(41000000 + state.next_id)
                state.next_id += 1
                record = {"provider_id": message_id, "recipient": recipient, "text": text, "from": self.param("from", ""),
                          "at": fake_messaging.now()}
                state.messages.append(record)
                state.by_id[message_id] = {"status": "NEW", "updated": record["at"], "sent": record["at"]}
            if failure and failure.get("mode") in ("accept_then_hang", "accept_then_close"):
                return self.hang(failure)
            return self.mobizon(0, {"campaignId": str(9000000 + state.next_id), "messageId": message_id, "status": 1})
        if method == "getsmsstatus":
            ids = self.query.get("ids[]", []) + self.form.get("ids[]", [])
            if not ids and self.param("ids"):
                ids = str(self.param("ids")).split(",")
            if self.injected(state.take_failure("status")):
                return
            items = []
            with state.lock:
                for message_id in ids:
                    known = state.by_id.get(message_id)
                    if known:
                        items.append({"id": message_id, "status": known["status"], "segNum": "1",
                                      "startSendTs": fake_messaging.time.strftime("%Y-%m-%d %H:%M:%S", fake_messaging.time.gmtime(known["sent"])),
                                      "statusUpdateTs": fake_messaging.time.strftime("%Y-%m-%d %H:%M:%S", fake_messaging.time.gmtime(known["updated"]))})
            return self.mobizon(0, items)
        return self.mobizon(99, None, "Unknown module or method", 404)


class TwilioHandler(fake_messaging.Handler):
    server_version = "fake-twilio"

    def twilio_error(self, status, code, message, retry_after=None):
        self.answer(status, {"code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/%d" % code, "status": status},
                    {"Retry-After": retry_after} if retry_after is not None else None)

    def injected(self, failure):
        if failure is None or "status" not in failure:
            return False
        status = int(failure["status"])
        default = {429: 20429, 500: 20500, 503: 20503, 400: 21211}
        self.twilio_error(status, int(failure.get("code", default.get(status, 20001))), failure.get("description", "injected error"),
                          failure.get("retry_after"))
        return True

    def resource(self, sid):
        state = self.state
        message = state.by_id[sid]
        return {"sid": sid, "account_sid": state.credentials["account_sid"], "to": message["to"], "from": message["from"] or None,
                "messaging_service_sid": message["service"] or None, "body": message["body"], "status": message["status"],
                "num_segments": "1", "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01", "price": None,
                "price_unit": "GBP", "error_code": message["error_code"], "error_message": message["error_message"],
                "date_created": rfc2822(message["created"]), "date_updated": rfc2822(message["updated"]),
                "date_sent": rfc2822(message["updated"]) if message["status"] not in ("queued", "accepted") else None,
                "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (state.credentials["account_sid"], sid)}

    def authorised(self, sid):
        expected = "Basic " + base64.b64encode(("%s:%s" % (self.state.credentials["account_sid"], self.state.credentials["auth_token"])).encode()).decode()
        return self.headers.get("Authorization") == expected and sid == self.state.credentials["account_sid"]

    def do_GET(self):
        self.read_request()
        parts = self.route.strip("/").split("/")
        if len(parts) != 5 or parts[:2] != ["2010-04-01", "Accounts"] or parts[3] != "Messages" or not parts[4].endswith(".json"):
            return self.twilio_error(404, 20404, "The requested resource %s was not found" % self.route)
        if not self.authorised(parts[2]):
            return self.twilio_error(401, 20003, "Authenticate")
        if self.injected(self.state.take_failure("status")):
            return
        sid = parts[4][:-5]
        with self.state.lock:
            if sid not in self.state.by_id:
                return self.twilio_error(404, 20404, "The requested resource %s was not found" % self.route)
            return self.answer(200, self.resource(sid))

    def do_POST(self):
        self.read_request()
        state = self.state
        parts = self.route.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["2010-04-01", "Accounts"] or parts[3] != "Messages.json":
            return self.twilio_error(404, 20404, "The requested resource %s was not found" % self.route)
        if not self.authorised(parts[2]):
            return self.twilio_error(401, 20003, "Authenticate")
        to = self.form.get("To", [""])[0]
        body = self.form.get("Body", [""])[0]
        sender = self.form.get("From", [""])[0]
        service = self.form.get("MessagingServiceSid", [""])[0]
        if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) - 1 <= 15):
            return self.twilio_error(400, 21211, "Invalid 'To' Phone Number: %s" % to)
        if not body:
            return self.twilio_error(400, 21602, "Message body is required.")
        if not sender and not service:
            return self.twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        failure = state.take_failure("send", to)
        if failure and failure.get("mode") == "hold":
            state.hold()
            failure = None
        if self.injected(failure):
            return
        with state.lock:
            sid = "SM%032x" % (0x5eed0000000000000000000000000000 + state.next_id)
            state.next_id += 1
            now = fake_messaging.now()
            state.by_id[sid] = {"to": to, "from": sender, "service": service, "body": body, "status": "accepted" if service else "queued",
                                "error_code": None, "error_message": None, "created": now, "updated": now}
            state.messages.append({"provider_id": sid, "recipient": to, "text": body, "from": sender, "messaging_service_sid": service, "at": now})
            answer = self.resource(sid)
        if failure and failure.get("mode") in ("accept_then_hang", "accept_then_close"):
            return self.hang(failure)
        self.answer(201, answer)


def extra(handler, path, body):
    state = handler.state
    if path == "/control/status":
        with state.lock:
            message = state.by_id[str(body["id"])]
            message["status"] = body["status"]
            message["updated"] = fake_messaging.now()
            if "error_code" in body:
                message["error_code"] = body["error_code"]
            if "error_message" in body:
                message["error_message"] = body["error_message"]
            return 200, {"ok": True}
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=["mobizon", "twilio"], required=True)
    arguments = parser.parse_args()
    if arguments.provider == "mobizon":
        credentials = {"api_key": "kz" + secrets.token_hex(30)}
        handler = MobizonHandler
    else:
        credentials = {"account_sid": "AC" + secrets.token_hex(16), "auth_token": secrets.token_hex(16)}
        handler = TwilioHandler
    state = SMSState(arguments.provider, credentials)

    def reset_provider():
        state.by_id = {}
    state.reset_provider = reset_provider
    fake_messaging.run(state, handler, extra, {"provider": arguments.provider, **credentials})


if __name__ == "__main__":
    main()
