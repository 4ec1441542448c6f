#!/usr/bin/env python3
"""A fake of the WhatsApp Business Cloud API on loopback, for tests (docs/messaging-providers.md).

Python 3 standard library only. Speaks POST /<version>/<phone-number-id>/messages with
`Authorization: Bearer <token>` and Graph's answers: {"messaging_product", "contacts", "messages":
[{"id": "wamid..."}]} or {"error": {"message", "type", "code", "error_data", "fbtrace_id"}}
(401 code 190 for a wrong token, 400 code 100 for a malformed message or another phone number id).

Ready line: {"api_port", "control_port", "phone_number_id", "access_token", "app_secret"}.
Control API: see fake_messaging.py (failures take "code", Graph's error code), plus
  POST /control/webhook {"url", "app_secret"?, "statuses": [{"id", "status", "timestamp"?,
                         "error_code"?, "error_title"?}]}
      POSTs one Cloud-API-shaped status webhook (the statuses in the given order) to `url`, signed
      with X-Hub-Signature-256 under `app_secret` (default: the fake's), and answers
      {"status": <the receiver's HTTP status or null>, "error", "body", "signature"}
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_messaging  # noqa: E402

DEFAULT_CODES = {400: 100, 401: 190, 429: 130429, 500: 131000, 502: 131000, 503: 131016, 504: 131000}


class WhatsAppState(fake_messaging.State):
    def __init__(self, phone_number_id, access_token, app_secret):
        super().__init__()
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.app_secret = app_secret
        self.next_id = 1


class WhatsAppHandler(fake_messaging.Handler):
    server_version = "fake-whatsapp"

    def error(self, status, code, message, details=None, retry_after=None):
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A" + secrets.token_hex(8)}
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        self.answer(status, {"error": error}, {"Retry-After": retry_after} if retry_after is not None else None)

    def do_GET(self):
        self.read_request()
        self.error(400, 100, "Unsupported get request.")

    def do_POST(self):
        self.read_request()
        state = self.state
        parts = self.route.strip("/").split("/")
        if len(parts) < 2 or parts[-1] != "messages":
            return self.error(400, 100, "Unsupported post request.")
        if self.headers.get("Authorization") != "Bearer " + state.access_token:
            return self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if parts[-2] != state.phone_number_id:
            return self.error(400, 100, "Unsupported post request. Object with ID '%s' does not exist" % parts[-2])
        body = self.json_body
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return self.error(400, 100, "(#100) The parameter messaging_product is required.")
        to = str(body.get("to") or "")
        if not to.lstrip("+").isdigit():
            return self.error(400, 100, "(#100) Invalid parameter", "to must be a phone number")
        kind = body.get("type", "text")
        record = {"recipient": to, "type": kind, "at": fake_messaging.now()}
        if kind == "template":
            template = body.get("template") or {}
            name = template.get("name")
            language = (template.get("language") or {}).get("code")
            if not name or not language:
                return self.error(400, 131008, "Required parameter is missing", "template name and language code are required")
            params = []
            for component in template.get("components") or []:
                if component.get("type") == "body":
                    params += [p.get("text") for p in component.get("parameters") or [] if p.get("type") == "text"]
            record.update({"template": name, "language": language, "params": params})
        elif kind == "text":
            record["text"] = (body.get("text") or {}).get("body", "")
        else:
            return self.error(400, 100, "(#100) Invalid parameter", "type %s is not supported by the fake" % kind)
        failure = state.take_failure("send", to)
        if failure and failure.get("mode") == "hold":
            state.hold()
            failure = None
        if failure and "status" in failure:
            status = int(failure["status"])
            return self.error(status, int(failure.get("code", DEFAULT_CODES.get(status, 100))), failure.get("description", "injected error"),
                              failure.get("details"), failure.get("retry_after"))
        with state.lock:
            wamid = "wamid." + base64.b64encode(("fake-%d-%s" % (state.next_id, secrets.token_hex(6))).encode()).decode().rstrip("=")
            state.next_id += 1
            record["provider_id"] = wamid
            state.messages.append(record)
        if failure and failure.get("mode") in ("accept_then_hang", "accept_then_close"):
            return self.hang(failure)
        self.answer(200, {"messaging_product": "whatsapp", "contacts": [{"input": body.get("to"), "wa_id": to.lstrip("+")}],
                          "messages": [{"id": wamid, "message_status": "accepted"}]})


def webhook_body(state, statuses):
    with state.lock:
        recipients = {m["provider_id"]: m["recipient"] for m in state.messages}
    items = []
    for status in statuses:
        item = {"id": status["id"], "status": status["status"], "timestamp": str(status.get("timestamp", fake_messaging.now())),
                "recipient_id": recipients.get(status["id"], status.get("recipient_id", ""))}
        if status["status"] in ("sent", "delivered"):
            item["conversation"] = {"id": "CONVERSATION_" + status["id"][-6:], "origin": {"type": "utility"}}
            item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "utility"}
        if status["status"] == "failed":
            code = int(status.get("error_code", 131026))
            title = status.get("error_title", "Message undeliverable")
            item["errors"] = [{"code": code, "title": title, "message": title, "error_data": {"details": title},
                               "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
        items.append(item)
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": state.phone_number_id},
        "statuses": items}}]}]}


def extra(handler, path, body):
    state = handler.state
    if path == "/control/webhook":
        raw = json.dumps(webhook_body(state, body["statuses"]), separators=(",", ":")).encode()
        secret = body.get("app_secret") or state.app_secret
        signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        result = {"status": None, "error": None, "body": raw.decode(), "signature": signature}
        if body.get("url"):
            request = urllib.request.Request(body["url"], data=raw, method="POST", headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": signature, "User-Agent": "facebookexternalua"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    result["status"] = response.status
            except urllib.error.HTTPError as error:
                result["status"] = error.code
            except OSError as error:
                result["error"] = str(error)
        return 200, result
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--access-token", default="EAAfake" + secrets.token_hex(20))
    parser.add_argument("--app-secret", default=secrets.token_hex(16))
    arguments = parser.parse_args()
    state = WhatsAppState(arguments.phone_number_id, arguments.access_token, arguments.app_secret)
    fake_messaging.run(state, WhatsAppHandler, extra, {"phone_number_id": arguments.phone_number_id,
                                                       "access_token": arguments.access_token, "app_secret": arguments.app_secret})


if __name__ == "__main__":
    main()
