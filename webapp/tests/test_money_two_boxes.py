"""Money anomalies on two real boxes of one business (twoboxes.py, syncing over loopback): the same
appointment checked out and paid on both boxes while they were apart is, once they meet, listed on
both boxes' anomalies screens as the same anomaly; resolved from one box's app, it shows resolved,
with the note, on the other's."""
import datetime, re

import pytest
from playwright.sync_api import expect

from conftest import DEV, SOURCES, TABLET, guard, pair_context, serve_sources, sign_in_context, wait_for
from twoboxes import Boxes

pytestmark = pytest.mark.skipif(DEV, reason="runs real boxes that sync")


def checkout_by_card(box, appointment, last4):
    sale = box.ok("POST", "/v1/sales", {"appointments": [appointment["id"]], "lines": [], "tips": []})
    box.ok("POST", f"/v1/sales/{sale['id']}/payments", {"method": "card", "amount_minor": sale["total_minor"], "card_last4": last4})
    return sale


def anomalies(box):
    return box.ok("GET", "/v1/money/anomalies")["items"]


@pytest.fixture
def boxes(tmp_path):
    started = Boxes(str(tmp_path))
    yield started
    started.stop()


def test_a_double_checkout_made_apart_is_listed_on_both_boxes_and_resolved_on_one(boxes, browser, screenshot, check_accessibility):
    problems, contexts = [], []
    try:
        boxes.start_b()
        boxes.start_a(with_peer=True)
        _, service, staff = boxes.seed_catalogue()
        date = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()
        appointment = boxes.a.ok("POST", "/v1/appointments", {"services": [{"service": service["id"], "staff": staff["id"]}],
                                                              "start": f"{date}T11:00:00+05:00", "guest": {"name": "Paid Twice"}, "source": "phone"})

        def b_has(path):
            return lambda: boxes.b.api("GET", path)[0] == 200
        wait_for(b_has(f"/v1/appointments/{appointment['id']}"), message="box B to have the appointment")

        # Apart: A restarts without B as its peer; each box checks the visit out and takes a card.
        boxes.start_a(with_peer=False)
        on_a = checkout_by_card(boxes.a, appointment, "1111")
        on_b = checkout_by_card(boxes.b, appointment, "2222")
        assert not anomalies(boxes.a) and not anomalies(boxes.b), "an anomaly before the boxes met"

        # Together again: both find the same double checkout (same id), nothing netted.
        boxes.start_a(with_peer=True)

        def double_checkouts(box):
            return [a for a in anomalies(box) if a["kind"] == "double_checkout"]
        found_a = wait_for(lambda: double_checkouts(boxes.a), message="box A to find the double checkout")
        found_b = wait_for(lambda: double_checkouts(boxes.b), message="box B to find the double checkout")
        assert [a["id"] for a in found_a] == [a["id"] for a in found_b]
        anomaly = found_a[0]
        assert sorted(anomaly["sales"]) == sorted([on_a["id"], on_b["id"]])
        assert anomaly["amount_minor"] == on_a["total_minor"]

        pages = {}
        for name, box in (("a", boxes.a), ("b", boxes.b)):
            context = browser.new_context(viewport=TABLET, locale="en-GB")
            contexts.append(context)
            context.add_init_script("try { localStorage.setItem('edgenode.lang', 'en'); } catch (e) {}")
            pair_context(box, context, "manager", name=f"Tablet {name.upper()}")
            sign_in_context(box, context, "owner")
            if SOURCES:
                serve_sources(context, box.url)
            page = context.new_page()
            guard(page, problems)
            page.goto(f"{box.url}/#/money/anomalies")
            row = page.locator("[data-testid=anomaly]")
            expect(row).to_have_count(1, timeout=15000)
            expect(row).to_have_attribute("data-kind", "double_checkout")
            expect(row).to_contain_text("Checked out twice")
            expect(row).to_contain_text("the client may have paid twice")
            links = row.locator("[data-testid=anomaly-sale]")
            expect(links).to_have_count(2)
            assert sorted(links.evaluate_all("els => els.map(e => e.getAttribute('href'))")) == sorted(f"#/sales/{s['id']}" for s in (on_a, on_b))
            expect(row.locator("[data-testid=resolve]")).to_be_visible()
            pages[name] = page
        screenshot(pages["a"], "anomalies-en")
        check_accessibility(pages["a"], "anomalies")

        # Resolved on A, with a note (required).
        page = pages["a"]
        page.locator("[data-testid=anomaly] [data-testid=resolve]").click()
        page.locator("[data-testid=confirm-resolve]").click()
        expect(page.get_by_text("Write how it was resolved.")).to_be_visible()
        page.locator("[data-testid=resolve-note]").fill("Refunded the second card payment")
        page.locator("[data-testid=confirm-resolve]").click()
        expect(page.locator("[data-testid=anomaly] [data-testid=resolution]")).to_contain_text("Refunded the second card payment")
        expect(page.locator("[data-testid=anomaly] [data-testid=resolve]")).to_have_count(0)

        # …and on B's open screen, without a reload, once the resolution has replicated.
        other = pages["b"]
        expect(other.locator("[data-testid=anomaly] [data-testid=resolution]")).to_contain_text("Refunded the second card payment", timeout=20000)
        assert [a["resolved"]["note"] for a in anomalies(boxes.b) if a["id"] == anomaly["id"]] == ["Refunded the second card payment"]
        expect(other.locator("[data-testid=anomaly] [data-testid=resolve]")).to_have_count(0)
        screenshot(other, "anomalies-resolved-en")
        assert not problems, "\n".join(problems)
    finally:
        for context in contexts:
            context.close()
