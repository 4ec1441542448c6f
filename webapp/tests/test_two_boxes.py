"""Two boxes of one business, each with a tablet: a booking made on the other box appears live; a
double booking made while the boxes were apart shows on both calendars once they meet, is resolved
from one box's app, and the resolution appears on the other's."""
import datetime, re

import pytest
from playwright.sync_api import expect

from conftest import DEV, TABLET, guard, pair_context, sign_in_context, wait_for
from twoboxes import Boxes

pytestmark = pytest.mark.skipif(DEV, reason="runs real boxes that sync")


def block(page, appointment_id):
    return page.locator(f"[data-testid=appointment][data-id='{appointment_id}']")


def book(box, service, staff, start, name):
    return box.ok("POST", "/v1/appointments", {"services": [{"service": service["id"], "staff": staff["id"]}], "start": start,
                                              "guest": {"name": name}, "source": "phone"})


def test_merged_changes_and_a_conflict_between_two_boxes(browser, tmp_path, screenshot):
    boxes = Boxes(str(tmp_path))
    problems, contexts = [], []
    try:
        boxes.start_b()
        boxes.start_a(with_peer=True)
        _, service, staff = boxes.seed_catalogue()

        def b_has_catalogue():
            status, document = boxes.b.api("GET", f"/v1/staff/{staff['id']}/services")
            return status == 200 and any(item.get("service") == service["id"] for item in document["items"])
        wait_for(b_has_catalogue, message="box B to have A's catalogue")

        date = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
        pages = {}
        for name, box in (("a", boxes.a), ("b", boxes.b)):
            context = browser.new_context(viewport=TABLET, locale="en-GB")
            contexts.append(context)
            context.add_init_script("try { localStorage.setItem('edgenode.lang', 'en'); } catch (e) {}")
            pair_context(box, context, "manager", name=f"Tablet {name.upper()}")
            sign_in_context(box, context, "owner")
            page = context.new_page()
            guard(page, problems)
            page.goto(f"{box.url}/#/day/{date}")
            expect(page.locator("[data-testid=column]")).to_have_count(1)
            pages[name] = page

        # A's status line names the other box it syncs with, and when it last did.
        expect(pages["a"].get_by_test_id("peer")).to_contain_text(re.compile("synced"), timeout=20000)

        # A booking made on box B is merged into A and drawn on A's tablet without a reload.
        merged = book(boxes.b, service, staff, f"{date}T10:00:00+05:00", "Merged From B")
        expect(block(pages["a"], merged["id"])).to_be_visible(timeout=15000)

        # Apart: A restarts without B as its peer; both book the same stylist at noon.
        boxes.start_a(with_peer=False)
        on_a = book(boxes.a, service, staff, f"{date}T12:00:00+05:00", "Booked On A")
        on_b = book(boxes.b, service, staff, f"{date}T12:00:00+05:00", "Booked On B")
        expect(block(pages["a"], on_a["id"])).to_be_visible(timeout=15000)
        expect(block(pages["a"], on_b["id"])).to_have_count(0)

        # Together again: each box finds the double booking and both calendars mark it.
        boxes.start_a(with_peer=True)
        for name in ("a", "b"):
            for appointment in (on_a, on_b):
                expect(block(pages[name], appointment["id"])).to_have_class(re.compile("in-conflict"), timeout=20000)
            screenshot(pages[name], f"conflict-box-{name}")

        # Resolved from B's app: the appointment booked on A is cancelled.
        pages["b"].goto(f"{boxes.b.url}/#/queue")
        conflict = pages["b"].get_by_test_id("conflict").first
        expect(conflict).to_contain_text("Booked On A")
        conflict.locator("li.conflict-appt", has_text="Booked On A").get_by_role("button", name="Cancel this one").click()
        # Cancelling one of the two ends the double booking: the queue empties.
        expect(pages["b"].get_by_test_id("conflict")).to_have_count(0, timeout=15000)

        # The resolution replicates: A's calendar drops the cancelled booking and the marker.
        expect(block(pages["a"], on_a["id"])).to_have_count(0, timeout=20000)
        expect(block(pages["a"], on_b["id"])).not_to_have_class(re.compile("in-conflict"), timeout=20000)
        assert boxes.a.ok("GET", f"/v1/appointments/{on_a['id']}")["status"] == "cancelled"
        assert not problems, "\n".join(problems)
    finally:
        for context in contexts:
            context.close()
        boxes.stop()
