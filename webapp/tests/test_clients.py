"""The clients screens: search as you type (Cyrillic and phone fragments), the profile, notes that
appear live on a second tablet, field errors next to their field with nothing typed lost,
role-based hiding, and each screen in ru, kk and en (screenshots and the accessibility check)."""
import re

import pytest
from playwright.sync_api import expect

from clients_admin_helpers import open_app, go


def a_client(box):
    """A demo client with a Cyrillic name and a phone, beyond the list's first page (so that only
    a search can show it)."""
    for client in box.ok("GET", "/v1/clients?limit=200")["items"][100:]:
        if re.search("[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]", client["name"]) and client["phone"]:
            return client
    raise AssertionError("no Cyrillic client in the demo")


def test_find_by_cyrillic_and_phone_then_note_appears_live(box, tablet):
    client = a_client(box)
    first = open_app(tablet, box, role="front_desk")
    second = open_app(tablet, box, role="front_desk", path=f"/clients/{client['id']}")
    expect(second.get_by_test_id("client-name")).to_have_text(client["name"])

    # A Cyrillic fragment of the surname, typed in lower case.
    fragment = client["name"].split()[-1][:4].lower()
    first.get_by_test_id("client-search").fill(fragment)
    expect(first.get_by_test_id("client-row").filter(has_text=client["name"]).first).to_be_visible()
    # Cleared: the client is not on the first page of the whole list…
    first.get_by_test_id("client-search").fill("")
    expect(first.get_by_test_id("client-row").filter(has_text=client["name"])).to_have_count(0)
    # …and a phone fragment finds them (the last six digits, with a space as people type them).
    digits = client["phone"][-6:]
    first.get_by_test_id("client-search").fill(f"{digits[:3]} {digits[3:]}")
    row = first.get_by_test_id("client-row").filter(has_text=client["name"]).first
    expect(row).to_be_visible()
    row.click()
    expect(first.get_by_test_id("client-name")).to_have_text(client["name"])
    expect(first.get_by_test_id("client-phone")).to_have_text(client["phone"])
    expect(first.get_by_test_id("lifetime-spend")).not_to_be_empty()

    note = "Предпочитает кофе без сахара — test note"
    first.get_by_test_id("note-body").fill(note)
    first.get_by_test_id("add-note").click()
    expect(first.get_by_test_id("note").filter(has_text=note)).to_be_visible()
    expect(first.get_by_test_id("note-body")).to_have_value("")
    # The other tablet, which did nothing, shows it live.
    expect(second.get_by_test_id("note").filter(has_text=note)).to_be_visible(timeout=5000)
    notes = box.ok("GET", f"/v1/clients/{client['id']}/notes")["items"]
    assert any(n["body"] == note for n in notes)
    # Back to the list: the same search, which never went into the URL.
    first.get_by_role("link", name="All clients").click()
    expect(first.get_by_test_id("client-search")).to_have_value(f"{digits[:3]} {digits[3:]}")
    assert first.evaluate("location.hash") == "#/clients"


def test_bad_phone_shows_next_to_the_field_and_keeps_what_was_typed(box, tablet, check_accessibility):
    client = a_client(box)
    page = open_app(tablet, box, role="front_desk", path=f"/clients/{client['id']}")
    page.get_by_test_id("edit-client").click()
    form = page.get_by_test_id("client-form")
    check_accessibility(page, "the client form")
    form.get_by_label("Name").fill(client["name"] + " Jr")
    phone = form.get_by_label("Phone", exact=True)
    phone.fill("12")
    form.get_by_role("button", name="Save").click()
    error = form.locator(".field", has=page.locator("input[name=phone]")).locator(".field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_value("12")
    expect(form.get_by_label("Name")).to_have_value(client["name"] + " Jr")
    # Nothing was changed on the box.
    assert box.ok("GET", f"/v1/clients/{client['id']}")["phone"] == client["phone"]


def test_new_client(box, tablet):
    page = open_app(tablet, box, role="front_desk")
    page.get_by_test_id("new-client").click()
    form = page.get_by_test_id("client-form")
    form.get_by_label("Name").fill("Жанар Тестова")
    form.get_by_label("Phone", exact=True).fill("+7 701 555 12 34")
    form.get_by_label("Tags").fill("VIP, тест")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("client-name")).to_have_text("Жанар Тестова")
    expect(page.get_by_test_id("client-phone")).to_have_text("+77015551234")
    found = box.ok("GET", "/v1/clients?q=%D0%96%D0%B0%D0%BD%D0%B0%D1%80%20%D0%A2%D0%B5%D1%81%D1%82")["items"]
    assert found and found[0]["tags"] == ["VIP", "тест"]


def test_front_desk_sees_no_management_and_no_merge(box, tablet):
    client = a_client(box)
    page = open_app(tablet, box, role="front_desk", path=f"/clients/{client['id']}")
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Clients")).to_be_visible()
    for hidden in ("Catalogue and staff", "Devices and people", "Boxes and sync"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    expect(page.get_by_test_id("client-name")).to_have_text(client["name"])
    expect(page.get_by_test_id("edit-client")).to_be_visible()
    expect(page.get_by_test_id("merge")).to_have_count(0)
    # Typing a management address shows no data (and the box would refuse it anyway).
    for path in ("/devices", "/sync", "/manage/services"):
        go(page, path)
        expect(page.locator("main#main .alert")).to_contain_text("Your role may not do this.")
        expect(page.locator("main#main table, main#main [data-testid=service]")).to_have_count(0)

    owner = open_app(tablet, box, role="owner", path=f"/clients/{client['id']}")
    expect(owner.get_by_test_id("merge")).to_be_visible()


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_client_screens_in_each_language(box, tablet, check_accessibility, screenshot, language):
    client = a_client(box)
    page = open_app(tablet, box, role="owner", language=language)
    expect(page.get_by_test_id("client-row").first).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == language
    body = page.locator("main#main").inner_text()
    assert "clients." not in body, body
    screenshot(page, f"clients-{language}")
    check_accessibility(page, f"clients-{language}")
    go(page, f"/clients/{client['id']}")
    expect(page.get_by_test_id("client-name")).to_have_text(client["name"])
    expect(page.get_by_test_id("lifetime-spend")).to_be_visible()
    body = page.locator("main#main").inner_text()
    assert "clients." not in body, body
    screenshot(page, f"client-profile-{language}")
    check_accessibility(page, f"client-profile-{language}")


def test_merge_a_client_into_another_from_the_profile(box, tablet):
    clients = [c for c in box.ok("GET", "/v1/clients?limit=200")["items"] if c["phone"]]
    duplicate = box.ok("POST", "/v1/clients", {"name": "Дубликат Тестовый", "tags": ["из кассы"]})
    box.ok("POST", f"/v1/clients/{duplicate['id']}/notes", {"body": "note of the duplicate"})
    survivor = clients[0]
    page = open_app(tablet, box, role="owner", path=f"/clients/{duplicate['id']}")
    page.get_by_test_id("merge").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("searchbox").fill(survivor["phone"][-7:])
    dialog.get_by_role("button", name=survivor["name"]).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(survivor["name"]).check()
    dialog.get_by_test_id("confirm-merge").click()
    expect(page.get_by_test_id("client-name")).to_have_text(survivor["name"])
    assert page.evaluate("location.hash") == f"#/clients/{survivor['id']}"
    merged = box.ok("GET", f"/v1/clients/{duplicate['id']}")
    assert merged["merged_into"] == survivor["id"]
    assert "из кассы" in box.ok("GET", f"/v1/clients/{survivor['id']}")["tags"]
