#!/usr/bin/env python3
"""A fake of the Telegram Bot API on loopback, for tests (docs/messaging-providers.md).

Python 3 standard library only. Speaks /bot<TOKEN>/sendMessage and /bot<TOKEN>/getUpdates (GET
with a query, POST with JSON or a form) with Telegram's envelope {"ok", "result"} or
{"ok": false, "error_code", "description", "parameters": {"retry_after"}}; a wrong token answers
401 "Unauthorized". getUpdates long-polls for real: it holds the request until an update is
queued or `timeout` seconds pass, and `offset` confirms (drops) every earlier update.

Ready line: {"api_port", "control_port", "token"}. Control API: see fake_messaging.py, plus
  POST /control/updates {"chat_id", "first_name", "text"}   a client writes to the bot
"""

import argparse
import json
import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_messaging  # noqa: E402


class TelegramState(fake_messaging.State):
    def __init__(self, token):
        super().__init__()
        self.token = token
        self.reset_provider()

    def reset_provider(self):
        self.updates = []
        self.next_update = 500000001
        self.next_message = 801


class TelegramHandler(fake_messaging.Handler):
    server_version = "fake-telegram"

    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def error(self, status, description, retry_after=None):
        body = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": int(retry_after)}
        self.answer(status, body)

    def serve(self):
        self.read_request()
        state = self.state
        parts = self.route.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return self.error(404, "Not Found")
        if parts[0][3:] != state.token:
            return self.error(401, "Unauthorized")
        if self.raw_body and self.json_body is None and not self.form:
            return self.error(400, "Bad Request: can't parse request body")
        method = parts[1]
        if method == "sendMessage":
            return self.send_message()
        if method == "getUpdates":
            return self.get_updates()
        return self.error(404, "Not Found: method not found")

    def injected(self, failure):
        """Answers an injected error; True when it did."""
        if failure is None or "status" not in failure:
            return False
        status = int(failure["status"])
        default = {429: "Too Many Requests: retry after %s" % failure.get("retry_after", 1), 500: "Internal Server Error",
                   502: "Bad Gateway", 503: "Service Unavailable", 403: "Forbidden: bot was blocked by the user",
                   400: "Bad Request: chat not found", 409: "Conflict: terminated by other getUpdates request"}
        self.error(status, failure.get("description", default.get(status, "Error")), failure.get("retry_after"))
        return True

    def send_message(self):
        state = self.state
        chat = self.param("chat_id")
        text = self.param("text")
        if chat is None or chat == "":
            return self.error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text:
            return self.error(400, "Bad Request: message text is empty")
        chat_key = str(chat)
        failure = state.take_failure("send", chat_key)
        if failure and failure.get("mode") == "hold":
            state.hold()
            failure = None
        if self.injected(failure):
            return
        with state.lock:
            message_id = state.next_message
            state.next_message += 1
            record = {"provider_id": str(message_id), "recipient": chat_key, "chat_id": chat, "chat_id_type": type(chat).__name__,
                      "text": text, "at": fake_messaging.now()}
            state.messages.append(record)
        if failure and failure.get("mode") in ("accept_then_hang", "accept_then_close"):
            return self.hang(failure)
        chat_id = int(chat) if isinstance(chat, int) or (isinstance(chat, str) and chat.lstrip("-").isdigit()) else chat
        self.answer(200, {"ok": True, "result": {
            "message_id": message_id, "from": {"id": int(state.token.split(":")[0]), "is_bot": True, "first_name": "Shop", "username": "shop_bot"},
            "chat": {"id": chat_id, "type": "private"}, "date": record["at"], "text": text}})

    def get_updates(self):
        state = self.state
        try:
            offset = int(self.param("offset", 0) or 0)
            timeout = float(self.param("timeout", 0) or 0)
        except (TypeError, ValueError):
            return self.error(400, "Bad Request: wrong parameter")
        allowed = self.param("allowed_updates")
        if isinstance(allowed, str):
            try:
                allowed = json.loads(allowed)
            except ValueError:
                allowed = None
        failure = state.take_failure("updates")
        if failure and failure.get("mode") == "hold":
            state.hold()
            failure = None
        if failure and failure.get("mode") in ("accept_then_hang", "accept_then_close"):
            return self.hang(failure)
        if self.injected(failure):
            return
        deadline = fake_messaging.time.time() + max(0.0, min(timeout, 50.0))
        with state.lock:
            while True:
                if offset:
                    state.updates = [u for u in state.updates if u["update_id"] >= offset]
                pending = [u for u in state.updates if not allowed or any(kind in u for kind in allowed)]
                remaining = deadline - fake_messaging.time.time()
                if pending or remaining <= 0 or state.stopping.is_set():
                    break
                state.lock.wait(min(remaining, 0.5))
        self.answer(200, {"ok": True, "result": pending[:100]})


def extra(handler, path, body):
    state = handler.state
    if path == "/control/updates":
        chat = body["chat_id"]
        with state.lock:
            update_id = state.next_update
            state.next_update += 1
            message = {"message_id": state.next_message, "date": fake_messaging.now(),
                       "from": {"id": int(chat), "is_bot": False, "first_name": body.get("first_name", ""), "language_code": "ru"},
                       "chat": {"id": int(chat), "type": "private", "first_name": body.get("first_name", "")}}
            state.next_message += 1
            if "text" in body:
                message["text"] = body["text"]
                if body["text"].startswith("/"):
                    message["entities"] = [{"offset": 0, "length": len(body["text"].split(" ")[0]), "type": "bot_command"}]
            if "sticker" in body:
                message["sticker"] = {"file_id": "sticker", "emoji": body["sticker"]}
            update = {"update_id": update_id, "message": message}
            state.updates.append(update)
            state.lock.notify_all()
        return 200, update
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", default="7000000001:AA" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y"))
    arguments = parser.parse_args()
    state = TelegramState(arguments.token)
    fake_messaging.run(state, TelegramHandler, extra, {"token": arguments.token})


if __name__ == "__main__":
    main()
