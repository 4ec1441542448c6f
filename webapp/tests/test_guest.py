"""The guest's own page (/b/<tracking token>) against a real demo box, at phone size, opened with
no device credential: the booking with the shop's names, moving it to an offered start (also
when that start is taken meanwhile), cancelling, the cut-off and an unknown link explained, in
ru, kk and en with screenshots and the accessibility check."""
import datetime
import re
import zoneinfo

from conftest import PHONE, wait_for


def branch(box):
    return box.ok("GET", "/v1/branches", token=box.tokens["kiosk"])["items"][0]


def book_guest(box, days_ahead=2, name="Асель Гостева", staff_index=0):
    """Books the first service for a guest through the kiosk's API, `days_ahead` days from today or later."""
    service = box.ok("GET", "/v1/services", token=box.tokens["kiosk"])["items"][0]
    today = datetime.datetime.now(zoneinfo.ZoneInfo(branch(box)["time_zone"])).date()
    first = (today + datetime.timedelta(days=days_ahead)).isoformat()
    offered = box.ok("GET", f"/v1/availability?service={service['id']}&date={first}&days=7", token=box.tokens["kiosk"])
    staff = [entry for entry in offered["staff"] if entry["starts"]][staff_index]
    created = box.ok("POST", "/v1/appointments", {"services": [{"service": service["id"], "staff": staff["staff"]}],
                                                  "start": staff["starts"][0], "guest": {"name": name, "phone": "+77015550101"}},
                     token=box.tokens["kiosk"])
    return created, service, staff


def book_soon(box):
    """A guest booking inside the 24 h cut-off: the earliest offered start from today on."""
    service = box.ok("GET", "/v1/services", token=box.tokens["kiosk"])["items"][0]
    today = datetime.datetime.now(zoneinfo.ZoneInfo(branch(box)["time_zone"])).date().isoformat()
    offered = box.ok("GET", f"/v1/availability?service={service['id']}&date={today}&days=2", token=box.tokens["kiosk"])
    start = offered["slots"][0]["start"]
    limit = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=24)
    assert datetime.datetime.fromisoformat(start) < limit, "the earliest start is outside the cut-off"
    return box.ok("POST", "/v1/appointments", {"services": [{"service": service["id"]}], "start": start,
                                               "guest": {"name": "Скоро Придёт"}}, token=box.tokens["kiosk"])


def open_guest(tablet, token, language="ru"):
    page = tablet(role="kiosk", viewport=PHONE, language=language, pair=False, path=f"/b/{token}")
    page.locator('[data-testid="guest-status"], [data-testid="guest-error"]').first.wait_for()
    return page


def test_guest_moves_the_booking_to_another_offered_start(box, tablet, check_accessibility, screenshot):
    created, service, staff = book_guest(box)
    token = created["tracking_token"]
    page = open_guest(tablet, token, "ru")
    assert staff["name"] in page.locator('[data-testid="guest-staff"]').inner_text()
    page.click('[data-testid="guest-reschedule"]')
    times = page.locator('[data-testid="time"]')
    times.first.wait_for()
    check_accessibility(page, "guest moving (ru)")
    target = times.nth(1)
    new_start = target.get_attribute("data-start")
    assert new_start != created["start"]
    target.click()
    page.click('[data-testid="guest-confirm-move"]')
    page.locator('[data-testid="guest-message"]').wait_for()
    assert "перенесена" in page.locator('[data-testid="guest-message"]').inner_text()
    moved = box.ok("GET", f"/v1/bookings/{token}")
    assert moved["start"] == new_start
    assert moved["items"][0]["staff"] == staff["staff"]
    screenshot(page, "guest-moved-ru")


def test_guest_move_to_a_time_taken_meanwhile_is_explained_and_refreshed(box, tablet):
    created, service, staff = book_guest(box)
    page = open_guest(tablet, created["tracking_token"], "en")
    page.click('[data-testid="guest-reschedule"]')
    page.locator('[data-testid="time"]').first.wait_for()
    target = page.locator('[data-testid="time"]').nth(1)
    start = target.get_attribute("data-start")
    target.click()
    box.ok("POST", "/v1/appointments", {"services": [{"service": service["id"], "staff": staff["staff"]}], "start": start,
                                        "guest": {"name": "Walk-in"}}, token=box.tokens["front_desk"])
    page.click('[data-testid="guest-confirm-move"]')
    alert = page.locator('[data-testid="guest-move-alert"]')
    wait_for(lambda: alert.is_visible() and "just booked" in alert.inner_text(), timeout=10, message="the slot-taken message")
    assert page.locator(f'[data-testid="time"][data-start="{start}"]').count() == 0
    assert box.ok("GET", f"/v1/bookings/{created['tracking_token']}")["start"] == created["start"]


def test_guest_inside_the_cutoff_is_told_to_call_the_shop(box, tablet, screenshot):
    created = book_soon(box)
    page = open_guest(tablet, created["tracking_token"], "ru")
    note = page.locator('[data-testid="guest-cutoff"]')
    note.wait_for()
    phone = branch(box)["phone"]
    assert "Позвоните в салон" in note.inner_text() and phone in note.inner_text()
    assert "24 часа" in note.inner_text()
    assert page.locator('[data-testid="guest-cancel"]').count() == 0
    assert page.locator('[data-testid="guest-call"]').get_attribute("href") == "tel:" + phone
    screenshot(page, "guest-cutoff-ru")
    # The box refuses it too.
    status, problem = box.api("POST", f"/v1/bookings/{created['tracking_token']}/cancel", {})
    assert status == 409 and problem["type"].endswith("inside_cancellation_cutoff")


def test_unknown_link_is_explained(tablet, check_accessibility, screenshot):
    page = open_guest(tablet, "a" * 26, "kk")
    error = page.locator('[data-testid="guest-error"]')
    assert "Бұл сілтеме бойынша жазба жоқ" in error.inner_text()
    screenshot(page, "guest-unknown-kk")
    check_accessibility(page, "guest unknown link (kk)")


def test_guest_page_in_three_languages(box, tablet, check_accessibility, screenshot):
    created, service, staff = book_guest(box)
    texts = {"ru": ("Ваша запись", "Подтверждена", "Отменить запись"), "kk": ("Сіздің жазбаңыз", "Расталды", "Жазбаны болдырмау"),
             "en": ("Your booking", "Confirmed", "Cancel the booking")}
    for language, (title, status, cancel) in texts.items():
        page = open_guest(tablet, created["tracking_token"], language)
        page.get_by_role("heading", name=title).wait_for()
        assert status in page.locator('[data-testid="guest-status"]').inner_text()
        page.get_by_role("button", name=cancel).wait_for()
        assert service["names"][language] in page.locator('[data-testid="guest-services"]').inner_text()
        assert not re.search(r"\b(guest|kiosk)\.[a-z_.]+\b", page.inner_text("body")), "a missing text key"
        screenshot(page, f"guest-{language}")
        check_accessibility(page, f"guest {language}")
        page.context.close()
