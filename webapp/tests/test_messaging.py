"""The messaging screens of issue 17 in a real Chromium against a real demo box (docs/messaging.md):
the outbox lists a message that did not go with its reason, and Send again makes a new one; the
template editor previews, refuses an unknown variable next to the field, saves and resets; the
messaging settings save; a client's channels record a consent and show the Telegram link QR; an
appointment shows its messages; the calendar feeds screen creates a feed, shows its URL once (which
then serves the .ics) and revokes it (which then answers 404); the front desk sees no settings,
templates or feeds; each screen in ru, kk and en with the accessibility check."""
import random, re, urllib.error, urllib.parse, urllib.request

import pytest
from playwright.sync_api import expect

from conftest import DEV, SOURCES, TABLET, guard, pair_context, serve_sources, sign_in_context, wait_for
from test_day import tomorrow, bookable_slot, book, a_client, open_details
from twoboxes import Boxes

UNSENT = ("failed", "skipped", "expired")
# A booking's messages are planned and sent by the box's dispatcher on its next round (tens of
# seconds; on a fresh demo box after the demo's own backlog of about a minute): what the tests wait
# for, at most.
MESSAGES = 180


def open_at(tablet, path, role="owner", language="en", **kwargs):
    """A tablet of `role` (a person of that role signed in) at hash `path`."""
    page = tablet(role=role, language=language, **kwargs)
    page.locator(".topbar").wait_for()
    page.evaluate("path => { location.hash = '#' + path; }", path)
    page.locator("main#main h1").first.wait_for()
    return page


def go(page, path):
    page.evaluate("path => { location.hash = '#' + path; }", path)
    page.wait_for_function("path => location.hash === '#' + path", arg=path)


def booked(box, client=None):
    """A confirmed appointment of tomorrow (for `client`, else a demo client), booked for the test."""
    date = tomorrow(box)
    staff, service, start = bookable_slot(box, date)
    return date, book(box, staff, service["id"], start, client=client)


def messages_of(box, appointment_id):
    return box.ok("GET", f"/v1/appointments/{appointment_id}/messages")["items"]


def unreachable_client(box):
    """A client whose only address is a phone ending in 00, which the demo's SMS gateway refuses
    (Sources/EdgeNodeApp/DemoMessaging.swift): their messages fail."""
    number = f"+7701{random.randint(10000, 99999)}00"
    return box.ok("POST", "/v1/clients", {"name": "Сообщение Недоставлено", "phone": number})


def an_unsent_message(box):
    """A booking's confirmation that failed (`rejected: …` by the demo's SMS gateway)."""
    date, appointment = booked(box, client=unreachable_client(box)["id"])
    return wait_for(lambda: next((m for m in messages_of(box, appointment["id"]) if m["kind"] == "confirmation" and m["state"] == "failed"), None),
                    timeout=MESSAGES, interval=0.5, message="the booking's confirmation, refused by the demo's SMS gateway")


# --- the outbox ---------------------------------------------------------------------------------

def test_the_outbox_lists_an_unsent_message_with_its_reason_sends_it_again_and_says_why_not(tablet, box):
    message = an_unsent_message(box)
    assert message["reason"], message
    page = open_at(tablet, "/messages", role="front_desk")
    # The demo has hundreds of messages that did not go (reminders for clients with no address,
    # too late after its start): the failed ones are a filter away.
    expect(page.locator("[data-testid=message]").first).to_be_visible()
    page.locator("[data-testid=filter-failed]").click()
    item = page.locator(f"[data-testid=message][data-id='{message['id']}']")
    expect(item).to_be_visible()
    expect(item.locator("[data-testid=message-state]")).to_have_text("failed")
    reason = item.locator("[data-testid=message-reason]")
    expect(reason).not_to_be_empty()
    assert "_" not in reason.inner_text().split("(")[0], "the reason is shown in words, not as its code"
    before = {m["id"] for m in box.ok("GET", f"/v1/messages?appointment={message['appointment']}")["items"]}
    item.locator("[data-testid=resend]").click()
    expect(page.locator(".notice").filter(has_text="sent again")).to_be_visible()
    after = wait_for(lambda: [m for m in box.ok("GET", f"/v1/messages?appointment={message['appointment']}")["items"] if m["id"] not in before],
                     timeout=MESSAGES, interval=0.5, message="the new message of the resend")
    assert after[0]["kind"] == message["kind"] and after[0]["channel"] == message["channel"]
    # The appointment's messages in the outbox (reached from the client's profile): the new one is
    # there, and follows its state live (`message` events).
    go(page, f"/clients/{message['client']}")
    page.locator("[data-testid=client-outbox]").click()
    expect(page).to_have_url(re.compile(r"#/messages\?filter=all&client=" + message["client"] + "$"))
    expect(page.locator("[data-testid=outbox-scope]")).to_be_visible()
    again = page.locator(f"[data-testid=message][data-id='{after[0]['id']}']")
    expect(again).to_be_visible()
    expect(page.locator(f"[data-testid=message][data-id='{message['id']}']")).to_be_visible()
    state = box.ok("GET", f"/v1/messages/{after[0]['id']}")["state"]
    expect(again).to_have_attribute("data-state", state)
    # The appointment is cancelled (on another tablet): its confirmation may not go again, and the
    # screen says why (409 not_resendable); nothing new is made.
    box.ok("POST", f"/v1/appointments/{message['appointment']}/cancel", {"by": "shop", "reason": "test"})
    confirmations = lambda: [m["id"] for m in messages_of(box, message["appointment"]) if m["kind"] == "confirmation"]
    known = confirmations()
    page.locator(f"[data-testid=message][data-id='{message['id']}'] [data-testid=resend]").click()
    expect(page.locator("main .alert")).to_contain_text("cannot be sent again")
    assert confirmations() == known


def test_the_outbox_shows_new_messages_live_and_filters_by_state(tablet, box):
    client = unreachable_client(box)
    page = open_at(tablet, f"/messages?filter=all&client={client['id']}", role="owner")
    expect(page.locator("[data-testid=outbox] .empty")).to_be_visible()
    date, appointment = booked(box, client=client["id"])
    first = wait_for(lambda: messages_of(box, appointment["id"]), timeout=MESSAGES, interval=0.5, message="the booking's messages")
    expect(page.locator(f"[data-testid=message][data-id='{first[0]['id']}']")).to_be_visible()
    failed = wait_for(lambda: next((m for m in messages_of(box, appointment["id"]) if m["state"] == "failed"), None),
                      timeout=MESSAGES, interval=0.5, message="the confirmation refused by the demo's SMS gateway")
    expect(page.locator(f"[data-testid=message][data-id='{failed['id']}']")).to_have_attribute("data-state", "failed")
    page.locator("[data-testid=filter-failed]").click()
    expect(page).to_have_url(re.compile(r"#/messages\?filter=failed&client=" + client["id"] + "$"))
    expect(page.locator(f"[data-testid=message][data-id='{failed['id']}']")).to_be_visible()
    page.locator("[data-testid=outbox] ul, [data-testid=outbox] .empty").first.wait_for()
    states = page.locator("[data-testid=message]").evaluate_all("items => items.map(i => i.dataset.state)")
    assert all(state == "failed" for state in states), states


# --- an appointment's messages ----------------------------------------------------------------------

def test_the_appointment_shows_its_messages(tablet, box):
    date, appointment = booked(box)
    # The demo's SMS "delivers" to the box's log at once: the confirmation went.
    went = wait_for(lambda: next((m for m in messages_of(box, appointment["id"]) if m["kind"] == "confirmation" and m["state"] in ("sent", "delivered")), None),
                    timeout=MESSAGES, interval=0.5, message="the booking's confirmation sent")
    expected = messages_of(box, appointment["id"])
    page = open_at(tablet, f"/day/{date}", role="front_desk")
    dialog = open_details(page, appointment["id"])
    section = dialog.locator("[data-testid=appointment-messages]")
    expect(section.locator("[data-testid=message]")).to_have_count(len(messages_of(box, appointment["id"])))
    for message in expected:
        item = section.locator(f"[data-testid=message][data-id='{message['id']}']")
        expect(item).to_contain_text({"confirmation": "Confirmation", "reminder": "Reminder"}.get(message["kind"], ""))
        if message["reason"]:
            expect(item.locator("[data-testid=message-reason]")).not_to_be_empty()
    # What went says when it went, by which channel, to whom (masked), and its text.
    item = section.locator(f"[data-testid=message][data-id='{went['id']}']")
    expect(item.locator("[data-testid=message-state]")).to_have_text(went["state"])
    expect(item).to_contain_text("sent ")
    expect(item).to_contain_text(f"SMS · {went['recipient']}")
    item.locator("summary").click()
    expect(item.locator("[data-testid=message-text]")).to_have_text(went["text"])


# --- templates ------------------------------------------------------------------------------------------

def test_the_template_editor_previews_refuses_an_unknown_variable_saves_and_resets(tablet, box):
    default = next(t for t in box.ok("GET", "/v1/messaging/templates")["items"] if (t["kind"], t["channel"], t["language"]) == ("reminder", "sms", "en"))
    page = open_at(tablet, "/manage/templates?kind=reminder&channel=sms&language=en")
    body = page.locator("[data-testid=template-body]")
    expect(body).to_have_value(default["body"])
    expect(page.locator("[data-testid=preview-text]")).not_to_be_empty()
    expect(page.locator("[data-testid=preview-text]")).not_to_contain_text("{first_name}")
    # An unknown variable: the box's message next to the field, no preview, nothing saved.
    body.fill("Hello {frist_name}, see you at {start_time}")
    expect(page.locator("[data-testid=preview-refused]")).to_be_visible()
    error = page.locator(".field").filter(has=body).locator(".field-error")
    expect(error).to_contain_text("frist_name")
    page.locator("[data-testid=save-template]").click()
    expect(error).to_contain_text("frist_name")
    assert not next(t for t in box.ok("GET", "/v1/messaging/templates")["items"] if (t["kind"], t["channel"], t["language"]) == ("reminder", "sms", "en"))["customised"]
    # A variable inserted by its button at the cursor; the preview fills it in.
    body.fill("Hello , see you at {start_time}")
    body.evaluate("el => { el.focus(); el.setSelectionRange(6, 6); }")
    page.locator("[data-testid=variable][data-name=first_name]").click()
    expect(body).to_have_value("Hello {first_name}, see you at {start_time}")
    expect(error).to_be_hidden()
    expect(page.locator("[data-testid=preview-text]")).to_contain_text("Hello ")
    expect(page.locator("[data-testid=preview-text]")).not_to_contain_text("{")
    page.locator("[data-testid=save-template]").click()
    expect(page.locator(".notice").filter(has_text="Template saved")).to_be_visible()
    saved = next(t for t in box.ok("GET", "/v1/messaging/templates")["items"] if (t["kind"], t["channel"], t["language"]) == ("reminder", "sms", "en"))
    assert saved["customised"] and saved["body"] == "Hello {first_name}, see you at {start_time}"
    expect(page.locator("[data-testid=template-origin]")).to_have_text("Edited")
    # Another language is its own template.
    page.locator("[data-testid=template-language]").select_option("ru")
    expect(body).not_to_have_value(saved["body"])
    page.locator("[data-testid=template-language]").select_option("en")
    expect(body).to_have_value(saved["body"])
    # Back to the built-in text.
    page.locator("[data-testid=reset-template]").click()
    page.locator("dialog[open] [data-testid=confirm]").click()
    expect(body).to_have_value(default["body"])
    expect(page.locator("[data-testid=template-origin]")).to_have_text("Built-in")
    reset = next(t for t in box.ok("GET", "/v1/messaging/templates")["items"] if (t["kind"], t["channel"], t["language"]) == ("reminder", "sms", "en"))
    assert not reset["customised"] and reset["body"] == default["body"]


# --- settings ----------------------------------------------------------------------------------------------

@pytest.fixture
def settings(box):
    """The messaging settings before the test, put back after it (the module shares one box)."""
    before = box.ok("GET", "/v1/messaging/settings")
    yield before
    box.ok("PUT", "/v1/messaging/settings", {key: before[key] for key in (
        "kinds", "reminder_offsets_minutes", "min_reminder_lead_minutes", "change_threshold_minutes", "channel_order",
        "review_delay_minutes", "review_expiry_hours", "telegram_bot", "unsubscribe")})


def test_messaging_settings_save_and_show_the_channels_and_the_sending_box(tablet, box, settings):
    page = open_at(tablet, "/manage/messaging")
    form = page.locator("[data-testid=messaging-settings]")
    expect(form).to_be_visible()
    for channel in settings["channels"]:
        row = page.locator(f"[data-testid=channel-config][data-channel={channel['channel']}]")
        expect(row.locator(".badge")).to_have_text("configured" if channel["configured"] else "not configured")
    expect(page.locator("[data-testid=sender]")).to_have_count(len(settings["senders"]))
    # A bad bot name is refused on the spot; nothing is sent.
    page.locator("[data-testid=telegram_bot]").fill("a b")
    page.locator("[data-testid=save-messaging]").click()
    expect(form.get_by_text("5 to 32 Latin letters")).to_be_visible()
    assert box.ok("GET", "/v1/messaging/settings")["telegram_bot"] == settings["telegram_bot"]
    # One reminder, 3 hours before; no review requests; SMS first.
    offsets = page.locator("[data-testid=reminder-offset]")
    while offsets.count() > 1:
        page.get_by_role("button", name=re.compile(r"Remove reminder \d")).last.click()
    if offsets.count() == 0:
        page.locator("[data-testid=add-reminder]").click()
    offsets.first.fill("3")
    page.locator("[data-testid=reminder-unit]").first.select_option("hours")
    page.locator("[data-testid=kind-review_request]").uncheck()
    sms = page.locator("[data-testid=channel-order-item][data-channel=sms]")
    while page.locator("[data-testid=channel-order-item]").first.get_attribute("data-channel") != "sms":
        sms.get_by_role("button", name="Move SMS up").click()
    page.locator("[data-testid=telegram_bot]").fill("edgenode_test_bot")
    page.locator("[data-testid=save-messaging]").click()
    expect(page.locator(".notice").filter(has_text="Messaging settings saved")).to_be_visible()
    saved = box.ok("GET", "/v1/messaging/settings")
    assert saved["reminder_offsets_minutes"] == [180]
    assert saved["kinds"]["review_request"] is False and saved["kinds"]["confirmation"] is True
    assert saved["channel_order"][0] == "sms"
    assert saved["telegram_bot"] == "edgenode_test_bot"


def test_send_from_this_box(tablet, box):
    settings = box.ok("GET", "/v1/messaging/settings")
    page = open_at(tablet, "/manage/messaging")
    for sender in settings["senders"]:
        row = page.locator(f"[data-testid=sender][data-branch='{sender['branch']}']")
        if sender["this_box"]:
            expect(row.locator("[data-testid=sender-box]")).to_have_text("this box")
            expect(row.locator("[data-testid=send-from-here]")).to_have_count(0)
            continue
        row.locator("[data-testid=send-from-here]").click()
        if sender["site"]:       # another box sends: only after the take-over confirmation
            dialog = page.locator("dialog[open]")
            expect(dialog).to_contain_text(sender["box"])
            dialog.locator("[data-testid=confirm]").click()
        expect(row.locator("[data-testid=sender-box]")).to_have_text("this box")
        assert next(s for s in box.ok("GET", "/v1/messaging/settings")["senders"] if s["branch"] == sender["branch"])["this_box"]


# --- a client's channels ------------------------------------------------------------------------------------

def test_a_clients_channels_record_a_consent_and_show_the_telegram_link_qr(tablet, box, settings):
    client = a_client(box)
    box.ok("PUT", "/v1/messaging/settings", {"telegram_bot": "edgenode_test_bot"})
    before = len(box.ok("GET", f"/v1/clients/{client['id']}/messaging")["consents"])
    page = open_at(tablet, f"/clients/{client['id']}", role="front_desk")
    section = page.locator("[data-testid=client-messaging]")
    expect(section.locator("[data-testid=client-channel]").first).to_be_visible()
    # Consent to marketing by SMS, given in person.
    section.locator("[data-testid=record-consent]").click()
    form = page.locator("[data-testid=consent-form]")
    form.locator("[data-testid=consent-channel]").select_option("sms")
    form.locator("[data-testid=consent-purpose]").select_option("marketing")
    form.locator("[data-testid=consent-granted]").select_option("true")
    form.locator("[data-testid=consent-source]").select_option("in_person")
    form.locator("[data-testid=consent-note]").fill("Signed the card")
    form.locator("[data-testid=save-consent]").click()
    expect(form).to_have_count(0)
    expect(section.locator("[data-testid=consent]")).to_have_count(before + 1)
    expect(section.locator("[data-testid=consent]").first).to_contain_text("Signed the card")
    document = box.ok("GET", f"/v1/clients/{client['id']}/messaging")
    consent = max(document["consents"], key=lambda c: c["at"])
    assert (consent["channel"], consent["purpose"], consent["granted"], consent["source"]) == ("sms", "marketing", True, "in_person")
    sms = next(c for c in document["channels"] if c["channel"] == "sms")
    if sms["marketing"]:
        expect(section.locator("[data-testid=client-channel][data-channel=sms] [data-testid=consent-marketing]")).to_have_text("yes")
    # The Telegram link: a one-time t.me link as a QR.
    section.locator("[data-testid=telegram-link]").click()
    dialog = page.locator("[data-testid=telegram-link-dialog]")
    expect(dialog.locator("[data-testid=telegram-qr]")).to_be_visible()
    link = dialog.locator("[data-testid=telegram-url]")
    expect(link).to_have_attribute("href", re.compile(r"^https://t\.me/edgenode_test_bot\?start=[A-Za-z0-9_-]{32}$"))
    assert dialog.locator("[data-testid=telegram-qr]").get_attribute("data-token") == link.get_attribute("href")


def test_without_a_bot_the_telegram_link_says_so(tablet, box, settings):
    client = a_client(box)
    box.ok("PUT", "/v1/messaging/settings", {"telegram_bot": ""})
    page = open_at(tablet, f"/clients/{client['id']}", role="front_desk")
    section = page.locator("[data-testid=client-messaging]")
    section.locator("[data-testid=telegram-link]").click()
    expect(section.locator(".alert")).to_contain_text("No Telegram bot")
    expect(page.locator("[data-testid=telegram-qr]")).to_have_count(0)


def test_a_clients_message_preferences(tablet, box):
    client = box.ok("POST", "/v1/clients", {"name": "Предпочтения Тестовые", "phone": f"+7701{random.randint(10000, 99999)}17"})
    page = open_at(tablet, f"/clients/{client['id']}", role="front_desk")
    section = page.locator("[data-testid=client-messaging]")
    expect(section.locator("[data-testid=client-channel]").first).to_be_visible()
    section.locator("[data-testid=client-messaging-edit]").click()
    form = page.locator("[data-testid=client-messaging-form]")
    form.locator("[data-testid=client-language-select]").select_option("kk")
    form.get_by_label("Review request").check()
    form.locator("[data-testid=save-client-messaging]").click()
    expect(form).to_have_count(0)
    expect(section.locator("[data-testid=client-language]")).to_have_text("Kazakh")
    document = box.ok("GET", f"/v1/clients/{client['id']}/messaging")
    assert document["language"] == "kk" and "review_request" in document["kinds_off"]


# --- calendar feeds ---------------------------------------------------------------------------------------

def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), ""


def test_the_feeds_screen_creates_a_feed_shows_its_url_once_and_revokes_it(tablet, box):
    staff = next(s for s in box.ok("GET", "/v1/staff")["items"] if s["active"])
    page = open_at(tablet, "/manage/feeds")
    form = page.locator("[data-testid=feed-form]")
    form.locator("[data-testid=feed-scope]").select_option("staff")
    form.locator("[data-testid=feed-subject]").select_option(staff["id"])
    form.locator("[data-testid=feed-content]").select_option("busy")
    form.locator("[data-testid=create-feed]").click()
    created = page.locator("[data-testid=feed-created]")
    url = created.locator("[data-testid=feed-url]").input_value()
    assert re.search(r"/feeds/[^/]+\.ics$", url), url
    expect(created.locator("[data-testid=feed-qr]")).to_be_visible()
    assert created.locator("[data-testid=feed-qr]").get_attribute("data-token") == url
    # The URL works (asked of this box: the URL names the box's LAN address).
    path = urllib.parse.urlparse(url).path
    status, kind, text = fetch(box.url + path)
    assert status == 200 and kind.startswith("text/calendar") and "BEGIN:VCALENDAR" in text
    page.keyboard.press("Escape")
    feed = next(f for f in box.ok("GET", "/v1/calendar-feeds")["items"] if f["subject"] == staff["id"] and not f["revoked"])
    row = page.locator(f"[data-testid=feed][data-id='{feed['id']}']")
    expect(row).to_contain_text(staff["name"])
    # Shown once: not in the list, nor after a reload.
    page.reload()
    expect(row).to_be_visible()
    assert path.split("/")[-1] not in page.content()
    # Revoked, with a confirmation: the URL answers 404.
    row.locator("[data-testid=revoke-feed]").click()
    page.locator("dialog[open] [data-testid=confirm]").click()
    expect(row).to_have_attribute("data-revoked", "true")
    expect(row.locator("[data-testid=revoke-feed]")).to_have_count(0)
    assert fetch(box.url + path)[0] == 404


# --- who sees what ----------------------------------------------------------------------------------------

def test_front_desk_sees_the_outbox_but_no_settings_templates_or_feeds(tablet, box):
    page = open_at(tablet, "/messages", role="front_desk")
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Messages")).to_be_visible()
    expect(nav.get_by_role("link", name="Catalogue and staff")).to_have_count(0)
    for path in ("/manage/messaging", "/manage/templates", "/manage/feeds"):
        go(page, path)
        expect(page.locator("main#main .alert")).to_contain_text("Your role may not do this.")
        expect(page.locator("[data-testid=messaging-settings], [data-testid=template-editor], [data-testid=feed-form]")).to_have_count(0)
        expect(page.locator("[data-testid=tab-messaging], [data-testid=tab-templates], [data-testid=tab-feeds]")).to_have_count(0)
    owner = open_at(tablet, "/manage/services")
    for tab in ("messaging", "templates", "feeds"):
        expect(owner.locator(f"[data-testid=tab-{tab}]")).to_be_visible()


# --- languages ----------------------------------------------------------------------------------------------

def test_messaging_screens_in_each_language(tablet, box, check_accessibility, screenshot):
    """Each screen in ru, kk and en (one box: its messages take a minute to appear)."""
    an_unsent_message(box)
    client = a_client(box)
    date, appointment = booked(box)
    wait_for(lambda: messages_of(box, appointment["id"]), timeout=MESSAGES, interval=0.5, message="the booking's messages")
    box.ok("PUT", "/v1/messaging/settings", {"telegram_bot": "edgenode_test_bot"})
    page = open_at(tablet, "/messages", language="ru")
    titles = {"ru": "Сообщения клиентам", "kk": "Клиенттерге хабарламалар", "en": "Messages to clients"}
    for language in ("ru", "kk", "en"):
        if language != "ru":
            page.get_by_role("button", name={"kk": "Қазақша", "en": "English"}[language]).click()
        screens = [
            ("/messages?filter=failed", "messages-outbox", "[data-testid=message]"),
            ("/manage/messaging", "messaging-settings", "[data-testid=messaging-settings]"),
            ("/manage/templates?kind=confirmation&channel=email&language=" + language, "messaging-templates", "[data-testid=preview-text]"),
            ("/manage/feeds", "calendar-feeds", "[data-testid=feed-form]"),
            (f"/clients/{client['id']}", "client-messaging", "[data-testid=client-channel]"),
        ]
        for path, name, ready in screens:
            go(page, path)
            page.locator(ready).first.wait_for()
            assert page.evaluate("document.documentElement.lang") == language
            if name == "messages-outbox":
                expect(page.locator("main h1")).to_have_text(titles[language])
            text = page.locator("main#main").inner_text()
            assert "msg." not in text and "manage.tab" not in text, f"{name}: a key without text\n{text}"
            screenshot(page, f"{name}-{language}")
            check_accessibility(page, f"{name}-{language}")
        # The Telegram link dialog and an appointment's messages.
        page.locator("[data-testid=telegram-link]").click()
        page.locator("[data-testid=telegram-qr]").wait_for()
        screenshot(page, f"client-telegram-link-{language}")
        check_accessibility(page, f"client-telegram-link-{language}")
        page.keyboard.press("Escape")
        go(page, f"/day/{date}")
        dialog = open_details(page, appointment["id"])
        dialog.locator("[data-testid=appointment-messages] [data-testid=message]").first.wait_for()
        assert "msg." not in dialog.inner_text()
        screenshot(page, f"appointment-messages-{language}")
        check_accessibility(page, f"appointment-messages-{language}")
        page.keyboard.press("Escape")


# --- which box sends, on two real boxes ---------------------------------------------------------------

@pytest.mark.skipif(DEV, reason="runs real boxes that sync")
def test_taking_over_the_sending_from_another_box_asks_first(tmp_path, browser, check_accessibility, screenshot):
    """Two boxes of one branch (twoboxes.py): A is made the sender from its app (nobody sent: no
    question asked); on B the row names A's box, and B takes over only after the confirmation."""
    boxes = Boxes(str(tmp_path))
    problems, contexts = [], []
    try:
        boxes.start_b()
        boxes.start_a(with_peer=True)

        def app(box, name):
            context = browser.new_context(viewport=TABLET, locale="en-GB")
            contexts.append(context)
            context.add_init_script("try { localStorage.setItem('edgenode.lang', 'en'); } catch (e) {}")
            pair_context(box, context, "manager", name=f"Tablet {name}")
            sign_in_context(box, context, "owner")
            if SOURCES:
                serve_sources(context, box.url)
            page = context.new_page()
            guard(page, problems)
            page.goto(f"{box.url}/#/manage/messaging")
            return page

        branch = boxes.branch_id
        row = lambda page: page.locator(f"[data-testid=sender][data-branch='{branch}']")
        a = app(boxes.a, "A")
        expect(row(a).locator("[data-testid=sender-box]")).to_have_text("no box yet")
        row(a).locator("[data-testid=send-from-here]").click()
        expect(row(a).locator("[data-testid=sender-box]")).to_have_text("this box")
        expect(a.locator("dialog[open]")).to_have_count(0)
        site_a = next(s for s in boxes.a.ok("GET", "/v1/messaging/settings")["senders"] if s["branch"] == branch)["site"]
        wait_for(lambda: next(s for s in boxes.b.ok("GET", "/v1/messaging/settings")["senders"] if s["branch"] == branch)["site"] == site_a,
                 message="box B to learn that A sends")

        b = app(boxes.b, "B")
        expect(row(b).locator("[data-testid=sender-box]")).to_have_text(f"box {site_a[:16]}")
        row(b).locator("[data-testid=send-from-here]").click()
        dialog = b.locator("dialog[open]")
        expect(dialog).to_contain_text(site_a[:16])
        expect(dialog).to_contain_text("switched off for good")
        screenshot(b, "messaging-take-over-en")
        check_accessibility(b, "messaging-take-over")
        dialog.get_by_role("button", name="Cancel").click()
        assert next(s for s in boxes.b.ok("GET", "/v1/messaging/settings")["senders"] if s["branch"] == branch)["site"] == site_a
        row(b).locator("[data-testid=send-from-here]").click()
        b.locator("dialog[open] [data-testid=confirm]").click()
        expect(row(b).locator("[data-testid=sender-box]")).to_have_text("this box")
        assert next(s for s in boxes.b.ok("GET", "/v1/messaging/settings")["senders"] if s["branch"] == branch)["this_box"]
        assert not problems, "\n".join(problems)
    finally:
        for context in contexts:
            context.close()
        boxes.stop()
