"""The Kaspi QR screen end to end, with no stand-in for any of our own components: the fake Kaspi
server (Tests/python/fake_kaspi.py, HTTPS on loopback, the merchant protocol), a real
`edgenode-relay` process as the business's Kaspi gateway (`kaspi new-key`, `kaspi set`, `serve
--kaspi-key-file --kaspi-ca-file`), and a real demo box with `relay.url` and `payments.kaspi_qr`
that registers its business and enrols itself at the relay. The customer is played through the
fake's control API, with our payment id as Kaspi's ExternalId.

- a checkout from the day taken by Kaspi QR: the QR drawn large with its countdown, waiting; the
  client pays → paid, the receipt;
- the client's payment fails (and a QR expires) → said so, with the static QR or cash offered;
- the desk cancels the QR while it waits → said so; the payment never counts.
"""
import json, os, queue, re, signal, subprocess, threading, time, urllib.request

import pytest
from playwright.sync_api import expect

from conftest import DEV, REPO, BINARY, clean_environment, start_box, wait_for
from test_day import tomorrow, bookable_slot, book

pytestmark = pytest.mark.skipif(DEV, reason="runs a real relay and box")

RELAY = os.environ.get("WEBAPP_RELAY_BINARY") or os.path.join(os.path.dirname(BINARY), "edgenode-relay")
FAKE_KASPI = os.path.join(REPO, "Tests", "python", "fake_kaspi.py")


class Process:
    """A child process whose output lines are collected (and can be waited for)."""

    def __init__(self, arguments, environment=None):
        self.process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**clean_environment(), **(environment or {})}, start_new_session=True)
        self.lines, self.output = queue.Queue(), []

        def read():
            for line in self.process.stdout:
                self.output.append(line)
                self.lines.put(line)
            self.lines.put(None)
        threading.Thread(target=read, daemon=True).start()

    def wait_line(self, pattern, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None:
                raise AssertionError("exited:\n" + "".join(self.output))
            match = re.search(pattern, line or "")
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}:\n" + "".join(self.output))

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Kaspi:
    """The fake Kaspi server: its ports and files, and its control API (the customer)."""

    def __init__(self, directory):
        self.child = Process(["python3", FAKE_KASPI, "--dir", directory])
        self.info = json.loads(self.child.wait_line(r"^\{.*\}$").group(0))
        self.base_url = f"https://127.0.0.1:{self.info['https_port']}"

    def control(self, path, body):
        request = urllib.request.Request(f"http://127.0.0.1:{self.info['control_port']}{path}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def state(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.info['control_port']}/state", timeout=10) as response:
            return json.loads(response.read())


def relay_command(*arguments):
    result = subprocess.run([RELAY, *arguments], capture_output=True, text=True, timeout=60, env=clean_environment())
    assert result.returncode == 0, f"edgenode-relay {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def kaspi(tmp_path):
    fake = Kaspi(str(tmp_path / "kaspi"))
    yield fake
    fake.child.stop()


@pytest.fixture
def relay(tmp_path, kaspi):
    """An `edgenode-relay` process that is a Kaspi gateway (SQLite in tmp_path): its URL and how to
    store a business's access (`kaspi set`)."""
    assert os.path.exists(RELAY), f"build edgenode-relay first ({RELAY} is missing)"
    directory = tmp_path / "relay"
    directory.mkdir()
    storage, key = f"sqlite:{directory}/relay.sqlite", str(directory / "kaspi.key")
    relay_command("kaspi", "new-key", key)
    child = Process([RELAY, "serve", "--storage", storage, "--bind", "127.0.0.1", "--port", "0", "--kaspi-key-file", key,
                     "--kaspi-ca-file", kaspi.info["ca_file"]])
    child.url = "http://127.0.0.1:" + child.wait_line(r"relay\.port=(\d+)").group(1)

    def set_access(business):
        relay_command("kaspi", "set", "--storage", storage, "--kaspi-key-file", key, "--business", business, "--scheme", "r3",
                      "--base-url", kaspi.base_url, "--trade-point", str(kaspi.info["trade_point_id"]), "--bin", "123456789012",
                      "--certificate", kaspi.info["client_certificate"], "--private-key", kaspi.info["client_key"])
    child.set_access = set_access
    yield child
    child.stop()


@pytest.fixture
def box(relay):
    """The demo box with the relay as its uplink and Kaspi QR on; it registers its business at the
    relay itself (it holds the owner key), and the relay's operator stores the business's access."""
    started = start_box(environment={"EDGENODE_RELAY_URL": relay.url, "EDGENODE_PAYMENTS_KASPI_QR": "true"})
    try:
        status = wait_for(lambda: (lambda s: s if s["uplink"] and s["uplink"]["connected"] else None)(started.ok("GET", "/v1/status")),
                          timeout=60, message="the box to reach the relay")
        relay.set_access(status["business"])
        assert "kaspi_qr" in started.ok("GET", "/v1/money/settings")["methods"]
    except BaseException:
        started.stop()
        raise
    yield started
    started.stop()


def a_sale(box):
    date = tomorrow(box)
    staff, service, start = bookable_slot(box, date)
    appointment = book(box, staff, service["id"], start)
    return box.ok("POST", "/v1/sales", {"appointments": [appointment["id"]], "lines": [], "tips": []})


def open_at(tablet, path, role="front_desk"):
    page = tablet(role=role)
    page.locator(".topbar").wait_for()
    page.evaluate("path => { location.hash = '#' + path; }", path)
    page.locator("main#main h1").first.wait_for()
    return page


def take_kaspi_qr(page):
    """Takes the balance by Kaspi QR, noting whether the dialog ever says Kaspi cannot be reached
    (`saw_unreachable(page)`)."""
    page.evaluate("""() => {
        window.__sawUnreachable = false;
        new MutationObserver(() => { if (document.querySelector('[data-testid=kaspi-unreachable]')) window.__sawUnreachable = true; })
            .observe(document.body, { childList: true, subtree: true });
    }""")
    page.locator("[data-testid=method-kaspi_qr]").click()
    page.locator("[data-testid=take-payment]").click()


def saw_unreachable(page):
    return page.evaluate("() => window.__sawUnreachable")


def kaspi_payment(box, sale_id):
    """The sale's Kaspi QR payment as the box has it (its id is the QR's ExternalId at Kaspi)."""
    return next(p for p in box.ok("GET", f"/v1/sales/{sale_id}")["payments"] if p["method"] == "kaspi_qr")


def digits_major(minor):
    return re.compile(r"\D*".join(str(minor // 100)))


def test_checkout_paid_by_kaspi_qr_through_the_relay(box, kaspi, tablet, screenshot, check_accessibility):
    date = tomorrow(box)
    staff, service, start = bookable_slot(box, date)
    appointment = book(box, staff, service["id"], start)
    page = open_at(tablet, f"/day/{date}")
    page.locator(f"[data-testid=appointment][data-id='{appointment['id']}']").first.click()
    page.locator("[data-testid=action-checkout]").click()
    page.locator("[data-testid=create-sale]").click()
    expect(page).to_have_url(re.compile(r"#/sales/[0-9a-f-]+$"))
    sale_id = page.url.split("/sales/")[1]
    take_kaspi_qr(page)

    # The QR Kaspi made for this payment, drawn large, counting down, waiting for the client.
    qr = page.locator("[data-testid=kaspi-qr]")
    expect(qr).to_be_visible(timeout=15000)
    payment = kaspi_payment(box, sale_id)
    at_kaspi = [p for p in kaspi.state()["payments"].values() if p["external_id"] == payment["id"]]
    assert len(at_kaspi) == 1 and at_kaspi[0]["amount"] == payment["amount_minor"], at_kaspi
    assert payment["qr"]["token"] == qr.get_attribute("data-token")
    assert qr.bounding_box()["width"] >= 250, "the QR is not drawn large"
    countdown = page.locator("[data-testid=kaspi-countdown]")
    expect(countdown).to_contain_text("left")
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)           # it counts down
    expect(page.locator("[data-testid=kaspi-status]")).to_contain_text("Waiting")
    expect(page.locator("[data-testid=kaspi]")).to_contain_text(digits_major(payment["amount_minor"]))
    # The box asks for the QR outside the request: meanwhile the dialog says it is asking, never
    # that Kaspi cannot be reached.
    assert not saw_unreachable(page), "the dialog said Kaspi could not be reached while the QR was being made"
    screenshot(page, "kaspi-qr-en")
    check_accessibility(page, "Kaspi QR")

    # The client scans and pays: the relay learns it from Kaspi, the box from the relay.
    kaspi.control("/scan", {"external_id": payment["id"]})
    kaspi.control("/pay", {"external_id": payment["id"]})
    expect(page.locator("[data-testid=kaspi-status]")).to_contain_text("Paid", timeout=20000)
    assert kaspi_payment(box, sale_id)["status"] == "settled"
    page.locator("[data-testid=kaspi]").get_by_role("button", name="Close").click()
    page.locator("[data-testid=open-receipt]").click()
    expect(page).to_have_url(re.compile(r"#/sales/" + sale_id + "/receipt$"))
    receipt = page.locator("[data-testid=receipt]")
    expect(receipt.locator("[data-testid=receipt-payment]")).to_have_count(1)
    expect(receipt.locator("[data-testid=receipt-payment]")).to_contain_text("Kaspi QR")
    assert box.ok("GET", f"/v1/sales/{sale_id}")["state"] == "paid"


@pytest.mark.parametrize("outcome,text", [("fail", "The payment failed."), ("expire", "The payment failed.")])
def test_a_failed_or_expired_kaspi_qr_says_so_and_offers_the_static_qr_or_cash(box, kaspi, tablet, screenshot, outcome, text):
    sale = a_sale(box)
    page = open_at(tablet, f"/sales/{sale['id']}")
    take_kaspi_qr(page)
    expect(page.locator("[data-testid=kaspi-qr]")).to_be_visible(timeout=15000)
    payment = kaspi_payment(box, sale["id"])
    kaspi.control(f"/{outcome}", {"external_id": payment["id"]})
    dialog = page.locator("[data-testid=kaspi]")
    expect(page.locator("[data-testid=kaspi-status]")).to_have_text(text, timeout=20000)
    expect(page.locator("[data-testid=kaspi-qr]")).to_have_count(0)
    expect(dialog.locator("[data-testid=fallback-static]")).to_be_visible()
    expect(dialog.locator("[data-testid=fallback-cash]")).to_be_visible()
    assert kaspi_payment(box, sale["id"])["status"] == "failed"
    screenshot(page, f"kaspi-qr-{outcome}-en")
    # The static QR instead: the payment form with it chosen, for what is still due.
    dialog.locator("[data-testid=fallback-static]").click()
    expect(page.locator("[data-testid=method-kaspi_static]")).to_have_attribute("aria-checked", "true")
    expect(page.locator("[data-testid=static-info]")).to_be_visible()
    expect(page.locator("[data-testid=balance-due]")).to_contain_text(digits_major(sale["total_minor"]))


def test_the_desk_cancels_a_kaspi_qr_while_it_waits(box, kaspi, tablet):
    sale = a_sale(box)
    page = open_at(tablet, f"/sales/{sale['id']}")
    take_kaspi_qr(page)
    expect(page.locator("[data-testid=kaspi-qr]")).to_be_visible(timeout=15000)
    expect(page.locator("[data-testid=kaspi-status]")).to_contain_text("Waiting")
    payment = kaspi_payment(box, sale["id"])
    page.locator("[data-testid=kaspi-cancel]").click()
    status = page.locator("[data-testid=kaspi-status]")
    expect(status).to_have_text("The QR code was cancelled.")
    expect(page.locator("[data-testid=kaspi-qr]")).to_have_count(0)
    expect(page.locator("[data-testid=kaspi-countdown]")).to_have_count(0)
    # It stays cancelled when the dialog next asks the box (the payment is still pending until Kaspi ends it).
    with page.expect_response(lambda r: r.url.endswith(f"/v1/payments/{payment['id']}") and r.request.method == "GET", timeout=15000):
        pass
    expect(status).to_have_text("The QR code was cancelled.")
    expect(page.locator("[data-testid=kaspi-qr]")).to_have_count(0)
    after = box.ok("GET", f"/v1/sales/{sale['id']}")
    assert after["paid_minor"] == 0 and after["balance_minor"] == sale["total_minor"], after
    # The cancelled QR no longer holds the amount back: cash for all of it.
    page.locator("[data-testid=kaspi] [data-testid=fallback-cash]").click()
    expect(page.locator("[data-testid=method-cash]")).to_have_attribute("aria-checked", "true")
    page.locator("[data-testid=take-payment]").click()
    expect(page).to_have_url(re.compile(r"#/sales/" + sale["id"] + "/receipt$"))
    assert box.ok("GET", f"/v1/sales/{sale['id']}")["state"] == "paid"


def test_kaspi_unreachable_through_the_relay_offers_the_static_qr_or_cash(box, kaspi, tablet, screenshot):
    # Kaspi answers no definite answer (-999) to every QR request: the relay says unavailable, the
    # box keeps the payment pending with the reason and asks again.
    kaspi.control("/faults", {"action": "error", "code": -999, "count": 1000, "path": "qr/create"})
    sale = a_sale(box)
    page = open_at(tablet, f"/sales/{sale['id']}")
    take_kaspi_qr(page)
    dialog = page.locator("[data-testid=kaspi]")
    expect(dialog.locator("[data-testid=kaspi-unreachable]")).to_be_visible(timeout=20000)
    expect(page.locator("[data-testid=kaspi-status]")).to_have_text("Kaspi cannot be reached now.")
    expect(page.locator("[data-testid=kaspi-qr]")).to_have_count(0)
    payment = kaspi_payment(box, sale["id"])
    assert payment["status"] == "pending" and payment.get("qr_error") and not payment.get("qr"), payment
    screenshot(page, "kaspi-qr-unreachable-en")
    # Cash instead, for the whole amount: the QR that was never made is given up.
    dialog.locator("[data-testid=fallback-cash]").click()
    expect(page.locator("[data-testid=method-cash]")).to_have_attribute("aria-checked", "true")
    expect(page.locator("[data-testid=balance-due]")).to_contain_text(digits_major(sale["total_minor"]))
    page.locator("[data-testid=take-payment]").click()
    expect(page).to_have_url(re.compile(r"#/sales/" + sale["id"] + "/receipt$"))
    after = box.ok("GET", f"/v1/sales/{sale['id']}")
    assert after["state"] == "paid" and after["paid_minor"] == sale["total_minor"], after
