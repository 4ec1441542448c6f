"""The app's frame against a real box: pairing in the browser, the cookie credential, PIN sign-in,
lock and switch, revocation logging a tablet out, an unreachable box, the pages' security headers,
caching, and the demo's banner."""
import os, re, subprocess, urllib.request

import pytest
from playwright.sync_api import expect

from conftest import BINARY, DEV, clean_environment, TABLET, PHONE, start_box, wait_for

pytestmark = pytest.mark.skipif(DEV, reason="needs the box's own pages and cookies")


def add_person(box, name, role, pin, staff=None):
    body = {"name": name, "role": role, "pin": pin}
    if staff:
        body["staff"] = staff
    return box.ok("POST", "/v1/people", body)


def test_pairing_in_the_browser_with_edgenode_pair(box, tablet, check_accessibility, screenshot):
    page = tablet(role="front_desk", pair=False, language="ru", sign_in=False)
    expect(page.get_by_role("heading", name="Подключите планшет")).to_be_visible()
    check_accessibility(page, "pairing")
    screenshot(page, "pairing-ru")
    page.get_by_label("Название планшета").fill("Ресепшн")
    page.get_by_role("button", name="Запросить подключение").click()
    code_element = page.get_by_test_id("pairing-code")
    expect(code_element).to_have_text(re.compile(r"^\d{3} \d{3}$"))
    screenshot(page, "pairing-code-ru")
    code = code_element.inner_text().replace(" ", "")
    result = subprocess.run([BINARY, "pair", code, "--role", "front_desk", "--data-dir", box.data_dir], capture_output=True, text=True, timeout=60,
                            env=clean_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    # Approved: the tablet claims its credential; the shop has people, so it asks who works.
    expect(page.get_by_role("heading", name="Кто работает?")).to_be_visible(timeout=15000)
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    device = cookies["edgenode_device"]
    assert device["httpOnly"] and device["sameSite"] == "Strict"
    # Script cannot read it (HttpOnly), so an injected script could not carry it away.
    assert "edgenode_device" not in page.evaluate("document.cookie")
    devices = box.ok("GET", "/v1/devices")["items"]
    assert any(d["name"] == "Ресепшн" and d["role"] == "front_desk" for d in devices)


def test_pin_sign_in_lock_and_switch_person(box, tablet, check_accessibility, screenshot):
    add_person(box, "Асель Нурланова", "front_desk", "2580")
    add_person(box, "Марат Ахметов", "manager", "1470")
    page = tablet(role="front_desk", language="en", sign_in=False)
    expect(page.get_by_role("heading", name="Who is working?")).to_be_visible()
    check_accessibility(page, "lock")
    screenshot(page, "lock-en")
    page.get_by_role("radio", name=re.compile("Асель Нурланова")).click()
    page.get_by_label("PIN", exact=True).fill("9999")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="Wrong PIN.")).to_be_visible()
    expect(page.get_by_label("PIN", exact=True)).to_have_value("")
    page.get_by_label("PIN", exact=True).fill("2580")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("person-name")).to_have_text("Асель Нурланова")
    # A front-desk person sees no catalogue editing.
    expect(page.get_by_role("link", name="Catalogue and staff")).to_have_count(0)
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["edgenode_session"]["httpOnly"] and cookies["edgenode_session"]["sameSite"] == "Strict"
    # Lock, then the manager signs in on the same tablet and acts with her role.
    page.get_by_test_id("lock").click()
    expect(page.get_by_role("heading", name="Who is working?")).to_be_visible()
    page.get_by_role("radio", name=re.compile("Марат Ахметов")).click()
    for digit in "1470":
        page.get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("person-name")).to_have_text("Марат Ахметов")
    expect(page.get_by_role("link", name="Catalogue and staff")).to_be_visible()
    audit = box.ok("GET", "/v1/audit")["items"]
    assert sum(1 for event in audit if event["operation"] == "session.start") >= 2


def test_revoking_the_tablet_logs_it_out_at_once(box, tablet):
    page = tablet(role="front_desk", language="en")
    expect(page.get_by_role("link", name="Day")).to_be_visible()
    me = page.context.request.get(box.url + "/v1/me").json()
    box.ok("POST", f"/v1/devices/{me['device']['id']}/revoke", {})
    expect(page.get_by_role("heading", name="Connect this tablet")).to_be_visible(timeout=10000)


def test_an_unreachable_box_refuses_writes_and_keeps_what_was_typed(box, tablet):
    add_person(box, "Асель Нурланова", "front_desk", "2580")
    page = tablet(role="front_desk", language="en", sign_in=False)
    page.get_by_role("radio", name=re.compile("Асель")).click()
    box.stop()
    page.get_by_label("PIN", exact=True).fill("2580")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text="The box cannot be reached: nothing was saved.")).to_be_visible()


@pytest.mark.parametrize("language,title", [("ru", "Кто работает?"), ("kk", "Кім жұмыс істейді?"), ("en", "Who is working?")])
def test_lock_screen_in_each_language(box, tablet, language, title, check_accessibility, screenshot):
    add_person(box, "Асель Нурланова", "front_desk", "2580")
    page = tablet(role="front_desk", language=language, viewport=PHONE, sign_in=False)
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == language
    check_accessibility(page, f"lock-{language}")
    screenshot(page, f"lock-{language}")


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_pages_are_locked_down_and_cached_by_content(box):
    status, headers, body = fetch(box.url + "/", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-cache"
    import gzip
    html = gzip.decompress(body).decode()
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
    assert len(assets) == 2, html
    for asset in assets:
        status, asset_headers, _ = fetch(box.url + asset)
        assert status == 200 and "immutable" in asset_headers["Cache-Control"]
        status, _, _ = fetch(box.url + asset, {"If-None-Match": asset_headers["ETag"]})
        assert status == 304
    status, _, _ = fetch(box.url + "/", {"If-None-Match": headers["ETag"]})
    assert status == 304
    # Nothing personal is kept by the browser's cache: API answers are no-store.
    request = urllib.request.Request(box.url + "/v1/clients", headers={"Authorization": f"Bearer {box.tokens['front_desk']}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Cache-Control"] == "no-store"


def test_the_demo_prints_the_web_app_first():
    process = subprocess.Popen([BINARY, "serve", "--demo", "--port", "0", "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=clean_environment())
    try:
        first = process.stdout.readline()
        match = re.match(r"^Web app: (http://127\.0\.0\.1:\d+/)$", first.rstrip("\n"))
        assert match, first
        status, headers, body = fetch(match.group(1))
        assert status == 200 and b"<div id=\"app\"" in body
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_a_signed_in_tablet_locks_itself_when_left_idle(box, tablet):
    add_person(box, "Асель Нурланова", "front_desk", "2580")
    page = tablet(role="front_desk", language="en", sign_in=False, path="/")
    page.clock.install()
    page.evaluate("localStorage.setItem('edgenode.autolock_minutes', '2')")
    page.reload()
    page.get_by_role("radio", name=re.compile("Асель")).click()
    page.get_by_label("PIN", exact=True).fill("2580")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("person-name")).to_have_text("Асель Нурланова")
    # A minute and a half idle: still signed in; past two minutes: locked, and the box's session ended.
    page.clock.run_for(90_000)
    expect(page.get_by_test_id("person-name")).to_have_text("Асель Нурланова")
    page.clock.run_for(40_000)
    expect(page.get_by_role("heading", name="Who is working?")).to_be_visible()
    me = page.context.request.get(box.url + "/v1/me").json()
    assert "person" not in me or me["person"] is None
