"""The kiosk (self-booking on the counter, role `kiosk`) against a real demo box, at phone size
and on a tablet: the whole flow to a confirmation with the guest's link, the slot taken meanwhile,
live refresh of the offered times, no client data and no way to the front desk's screens, the
three languages with screenshots and the accessibility check."""
import re
import urllib.parse

from conftest import PHONE, TABLET, wait_for

LINK = re.compile(r"/b/([a-z2-7]{26})$")


def services(box):
    return box.ok("GET", "/v1/services", token=box.tokens["kiosk"])["items"]


def open_kiosk(tablet, language="ru", viewport=PHONE):
    page = tablet(role="kiosk", viewport=viewport, language=language)
    page.locator('[data-testid="service"]').first.wait_for()
    return page


def pick_service(page, service_id):
    page.click(f'[data-testid="service"][data-id="{service_id}"]')
    page.locator('[data-testid="staff-anyone"]').wait_for()


def pick_day_after_cutoff(page):
    """Clicks the first day with free times at least two days ahead (outside the 24 h cut-off)."""
    page.locator('[data-testid="time"], .kiosk-main .empty').first.wait_for()
    days = page.eval_on_selector_all('[data-testid="day"]', "els => els.map(e => [e.dataset.date, e.disabled])")
    for index, (date, disabled) in enumerate(days):
        if index >= 2 and not disabled:
            page.click(f'[data-testid="day"][data-date="{date}"]')
            page.locator(f'[data-testid="day"][data-date="{date}"][aria-pressed="true"]').wait_for()
            return date
    raise AssertionError(f"no free day two or more days ahead: {days}")


def pick_first_time(page):
    button = page.locator('[data-testid="time"]').first
    start = button.get_attribute("data-start")
    button.click()
    page.locator('input[name="name"]').wait_for()
    return start


def fill_details(page, name, phone, email=""):
    page.fill('input[name="name"]', name)
    page.fill('input[name="phone"]', phone)
    if email:
        page.fill('input[name="email"]', email)
    page.click('[data-testid="kiosk-next"]')
    page.locator('[data-testid="kiosk-book"]').wait_for()


def test_kiosk_books_a_guest_at_phone_size_and_the_guest_cancels_by_link(box, tablet, check_accessibility, screenshot):
    haircut = services(box)[0]
    page = open_kiosk(tablet, "ru")
    assert page.locator('[data-testid="kiosk-step"]').inner_text() == "Шаг 1 из 5"
    # The language switch on the first step.
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="Choose a service").wait_for()
    assert haircut["names"]["en"] in page.locator(f'[data-testid="service"][data-id="{haircut["id"]}"]').inner_text()
    check_accessibility(page, "kiosk service step (phone)")

    pick_service(page, haircut["id"])
    assert page.locator('[data-testid="kiosk-step"]').inner_text() == "Step 2 of 5"
    page.click('[data-testid="staff-anyone"]')
    page.locator('[data-testid="day"]').first.wait_for()
    pick_day_after_cutoff(page)
    check_accessibility(page, "kiosk time step (phone)")
    start = pick_first_time(page)

    # Required fields are explained next to them; nothing is lost.
    page.click('[data-testid="kiosk-next"]')
    page.get_by_text("Enter your name.").wait_for()
    check_accessibility(page, "kiosk details step (phone)")
    # A phone number the box cannot read: the box's reason next to the phone field, the rest kept.
    fill_details(page, "Гүлнар Тестова", "12345", "gulnar@example.com")
    page.click('[data-testid="kiosk-book"]')
    phone_error = page.locator('input[name="phone"] ~ .field-error')
    phone_error.wait_for()
    assert "country code" in phone_error.inner_text()
    assert page.input_value('input[name="name"]') == "Гүлнар Тестова"
    assert page.input_value('input[name="email"]') == "gulnar@example.com"
    fill_details(page, "Гүлнар Тестова", "+7 701 555 12 34")
    assert page.locator('[data-testid="confirm-name"]').inner_text() == "Гүлнар Тестова"
    # Back keeps what was typed.
    page.click('[data-testid="kiosk-back"]')
    assert page.input_value('input[name="phone"]') == "+7 701 555 12 34"
    page.click('[data-testid="kiosk-next"]')
    page.click('[data-testid="kiosk-book"]')

    link = page.locator('[data-testid="tracking-link"]')
    link.wait_for()
    order = page.locator('[data-testid="done-order"]').inner_text()
    assert re.match(r"^[A-Z0-9]+-\d+$", order), order
    assert page.locator('[data-testid="done-staff"]').inner_text()
    token = LINK.search(link.inner_text()).group(1)
    screenshot(page, "kiosk-done-en-phone")
    check_accessibility(page, "kiosk confirmation (phone)")

    # The box has it: a kiosk booking for the guest, at the chosen start.
    booking = box.ok("GET", f"/v1/bookings/{token}")
    assert booking["source"] == "kiosk" and booking["guest"]["name"] == "Гүлнар Тестова"
    assert booking["start"] == start and booking["order_number"] == order

    # "Done" forgets everything: the first step again, in the kiosk's own language, nothing typed anywhere.
    page.click('[data-testid="kiosk-done"]')
    page.get_by_role("heading", name="Выберите услугу").wait_for()
    assert "Гүлнар" not in page.content()
    stored = page.evaluate("() => JSON.stringify([Object.keys(localStorage), Object.keys(sessionStorage), Object.values(localStorage)])")
    assert "Гүлнар" not in stored and "555" not in stored and "@" not in stored, stored

    # The guest opens the link on their own phone (a fresh browser context, no device credential) and cancels.
    guest = tablet(role="kiosk", viewport=PHONE, language="ru", pair=False, path=f"/b/{token}")
    guest.locator('[data-testid="guest-status"][data-status="confirmed"]').wait_for()
    assert guest.locator('[data-testid="guest-order"]').inner_text() == order
    assert haircut["names"]["ru"] in guest.locator('[data-testid="guest-services"]').inner_text()
    guest.get_by_text("Atyrau Beauty").first.wait_for()
    guest.click('[data-testid="guest-cancel"]')
    dialog = guest.locator("dialog")
    dialog.wait_for()
    dialog.locator("textarea").fill("Заболела")
    check_accessibility(guest, "guest cancel dialog (ru)")
    guest.click('[data-testid="guest-confirm-cancel"]')
    guest.locator('[data-testid="guest-status"][data-status="cancelled"]').wait_for()
    guest.get_by_text("Ваша запись отменена.").wait_for()
    assert guest.locator('[data-testid="guest-cancel"]').count() == 0
    assert box.ok("GET", f"/v1/bookings/{token}")["status_reason"] == "Заболела"


def test_slot_taken_meanwhile_keeps_name_and_phone(box, tablet, screenshot):
    haircut = services(box)[0]
    page = open_kiosk(tablet, "ru")
    pick_service(page, haircut["id"])
    staff_button = page.locator('[data-testid="staff"]').first
    staff_id = staff_button.get_attribute("data-id")
    staff_button.click()
    page.locator('[data-testid="day"]').first.wait_for()
    pick_day_after_cutoff(page)
    start = pick_first_time(page)
    fill_details(page, "Дана Слотова", "+7 702 111 22 33")

    # Someone at the front desk books the same specialist at the same time meanwhile.
    box.ok("POST", "/v1/appointments", {"services": [{"service": haircut["id"], "staff": staff_id}], "start": start,
                                        "guest": {"name": "Front desk walk-in"}}, token=box.tokens["front_desk"])
    page.click('[data-testid="kiosk-book"]')
    notice = page.locator('[data-testid="kiosk-notice"]')
    notice.wait_for()
    assert "только что заняли" in notice.inner_text()
    screenshot(page, "kiosk-slot-taken-ru")
    # The offered times are fresh: the taken start is not offered any more.
    page.locator('[data-testid="time"]').first.wait_for()
    assert page.locator(f'[data-testid="time"][data-start="{start}"]').count() == 0
    # Another time; what was typed is still there.
    page.locator('[data-testid="time"]').first.click()
    assert page.input_value('input[name="name"]') == "Дана Слотова"
    assert page.input_value('input[name="phone"]') == "+7 702 111 22 33"
    page.click('[data-testid="kiosk-next"]')
    page.click('[data-testid="kiosk-book"]')
    page.locator('[data-testid="tracking-link"]').wait_for()


def test_offered_times_refresh_live(box, tablet):
    haircut = services(box)[0]
    page = open_kiosk(tablet, "en", viewport=TABLET)
    pick_service(page, haircut["id"])
    staff_button = page.locator('[data-testid="staff"]').first
    staff_id = staff_button.get_attribute("data-id")
    staff_button.click()
    page.locator('[data-testid="day"]').first.wait_for()
    pick_day_after_cutoff(page)
    start = page.locator('[data-testid="time"]').first.get_attribute("data-start")
    box.ok("POST", "/v1/appointments", {"services": [{"service": haircut["id"], "staff": staff_id}], "start": start,
                                        "guest": {"name": "Phone booking"}}, token=box.tokens["front_desk"])
    page.locator(f'[data-testid="time"][data-start="{start}"]').wait_for(state="detached", timeout=5000)


def test_kiosk_shows_no_client_data_and_no_way_to_the_front_desk(box, tablet):
    clients = box.ok("GET", "/v1/clients", token=box.tokens["front_desk"])["items"][:20]
    assert clients
    assert box.api("GET", "/v1/clients", token=box.tokens["kiosk"])[0] == 403
    page = open_kiosk(tablet, "ru", viewport=TABLET)
    haircut = services(box)[0]
    texts = [page.content()]
    pick_service(page, haircut["id"])
    page.click('[data-testid="staff-anyone"]')
    page.locator('[data-testid="time"]').first.wait_for()
    texts.append(page.content())
    for html in texts:
        for client in clients:
            assert client["name"] not in html, client["name"]
            assert client.get("phone", "") == "" or client["phone"] not in html
        for route in ("#/clients", "#/day", "#/queue", "#/manage", "#/devices", "#/sync"):
            assert route not in html
    assert page.locator("nav.nav, a.nav-link").count() == 0
    # Inputs never offer the browser's remembered values of earlier clients.
    page.locator('[data-testid="time"]').first.click()
    for name in ("name", "phone", "email"):
        assert page.get_attribute(f'input[name="{name}"]', "autocomplete") == "off"


def test_kiosk_in_three_languages(box, tablet, check_accessibility, screenshot):
    haircut = services(box)[0]
    expected = {"ru": ("Выберите услугу", "Волосы", "Любой мастер"), "kk": ("Қызметті таңдаңыз", "Шаш", "Кез келген шебер"),
                "en": ("Choose a service", "Hair", "Anyone")}
    for language, (title, category, anyone) in expected.items():
        for viewport, size in ((PHONE, "phone"), (TABLET, "tablet")):
            page = open_kiosk(tablet, language, viewport=viewport)
            page.get_by_role("heading", name=title).wait_for()
            page.get_by_role("heading", name=category).wait_for()
            assert haircut["names"][language] in page.content()
            assert not re.search(r"\bkiosk\.[a-z_.]+\b", page.inner_text("body")), "a missing text key"
            screenshot(page, f"kiosk-{language}" if size == "phone" else f"kiosk-{language}-tablet")
            check_accessibility(page, f"kiosk {language} {size}")
            if size == "phone":
                pick_service(page, haircut["id"])
                page.get_by_text(anyone).first.wait_for()
                page.click('[data-testid="staff-anyone"]')
                page.locator('[data-testid="time"]').first.wait_for()
                assert not re.search(r"\bkiosk\.[a-z_.]+\b", page.inner_text("body"))
                screenshot(page, f"kiosk-time-{language}")
                check_accessibility(page, f"kiosk time {language}")
            page.context.close()


def test_kiosk_forgets_the_client_after_a_minute_or_when_left_idle(box, tablet):
    haircut = services(box)[0]
    page = open_kiosk(tablet, "en", viewport=TABLET)
    page.clock.install()

    # Left half-way: after two idle minutes the kiosk starts over with nothing typed.
    pick_service(page, haircut["id"])
    page.click('[data-testid="staff-anyone"]')
    page.locator('[data-testid="day"]').first.wait_for()
    pick_day_after_cutoff(page)
    pick_first_time(page)
    page.fill('input[name="name"]', "Walked Away")
    page.clock.run_for(121_000)
    page.get_by_role("heading", name="Choose a service").wait_for()
    assert "Walked Away" not in page.content()

    # Booked: the confirmation counts down a minute, then clears itself.
    pick_service(page, haircut["id"])
    page.click('[data-testid="staff-anyone"]')
    page.locator('[data-testid="day"]').first.wait_for()
    pick_day_after_cutoff(page)
    pick_first_time(page)
    assert page.input_value('input[name="name"]') == ""
    fill_details(page, "Left Quickly", "+7 701 555 77 88")
    page.click('[data-testid="kiosk-book"]')
    page.locator('[data-testid="tracking-link"]').wait_for()
    page.clock.run_for(30_000)
    assert "30 seconds" in page.locator('[data-testid="kiosk-countdown"]').inner_text()
    page.clock.run_for(31_000)
    page.get_by_role("heading", name="Choose a service").wait_for()
    assert "Left Quickly" not in page.content() and "/b/" not in page.content()
