"""The manager's and owner's screens: the catalogue (a service named in three languages), devices
(approving a pending pairing request, revoking a device, a device refused revoking itself),
people (adding one with a PIN who can then sign in), the tablet's auto-lock setting, and each
screen in ru, kk and en (screenshots and the accessibility check)."""
import pytest
from playwright.sync_api import expect

from clients_admin_helpers import open_app, go, open_request
from conftest import DEV


def test_create_service_named_in_three_languages(box, tablet, check_accessibility):
    page = open_app(tablet, box, role="owner", path="/manage/services")
    page.get_by_test_id("add-service").click()
    form = page.get_by_test_id("service-form")
    check_accessibility(page, "the service form")
    form.get_by_test_id("service-name-ru").fill("Укладка локонов")
    form.get_by_test_id("service-name-kk").fill("Бұйра шаш сәндеу")
    form.get_by_test_id("service-name-en").fill("Curls styling")
    form.get_by_label("Category").fill("hair")
    form.get_by_label("Duration, minutes").fill("50")
    form.get_by_test_id("service-price").fill("7500")
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)
    row = page.get_by_test_id("service").filter(has_text="Curls styling")
    expect(row).to_be_visible()
    expect(row).to_contain_text("50 min")
    created = [s for s in box.ok("GET", "/v1/services")["items"] if s["names"].get("en") == "Curls styling"]
    assert len(created) == 1
    assert created[0]["names"] == {"ru": "Укладка локонов", "kk": "Бұйра шаш сәндеу", "en": "Curls styling"}
    assert created[0]["price"] == {"amount_minor": 750000, "currency": "KZT"}
    assert created[0]["duration_minutes"] == 50 and created[0]["category"] == "hair"


def test_edit_a_service_keeps_what_the_form_does_not_show(box, tablet):
    service = next(s for s in box.ok("GET", "/v1/services")["items"] if s["names"].get("en") == "Women's haircut")
    page = open_app(tablet, box, role="owner", path="/manage/services")
    page.get_by_test_id("service").filter(has_text="Women's haircut").get_by_role("button").click()
    form = page.get_by_test_id("service-form")
    expect(form.get_by_test_id("service-name-ru")).to_have_value(service["names"]["ru"])
    form.get_by_test_id("service-price").fill("8500")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("service").filter(has_text="Women's haircut")).to_contain_text("8,500")
    after = box.ok("GET", f"/v1/services/{service['id']}")
    assert after["price"]["amount_minor"] == 850000
    for key in ("names", "descriptions", "resources", "display_order", "buffer_after_minutes", "category", "capacity"):
        assert after[key] == service[key], key


def test_add_a_staff_member(box, tablet):
    page = open_app(tablet, box, role="owner", path="/manage/staff")
    page.get_by_test_id("add-staff").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Гульнара Тестова")
    dialog.get_by_label("Saturday").first.fill("10:00-16:00")
    dialog.get_by_label("Monday").nth(1).fill("13:00-14:00")
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("staff-form").get_by_label("Name")).to_have_value("Гульнара Тестова")
    member = next(s for s in box.ok("GET", "/v1/staff")["items"] if s["name"] == "Гульнара Тестова")
    assert member["schedule"]["sat"] == [["10:00", "16:00"]] and member["schedule"]["mon"] == [["09:00", "18:00"]]
    assert member["breaks"] == {"mon": [["13:00", "14:00"]]}
    assert page.evaluate("location.hash") == f"#/manage/staff?id={member['id']}"


def test_service_field_error_keeps_what_was_typed(box, tablet):
    page = open_app(tablet, box, role="owner", path="/manage/services")
    page.get_by_test_id("add-service").click()
    form = page.get_by_test_id("service-form")
    form.get_by_test_id("service-name-en").fill("Too long")
    form.get_by_label("Duration, minutes").fill("5000")
    form.get_by_test_id("service-price").fill("100")
    form.get_by_role("button", name="Save").click()
    duration = form.get_by_label("Duration, minutes")
    expect(duration).to_have_attribute("aria-invalid", "true")
    expect(duration).to_have_value("5000")
    expect(form.get_by_test_id("service-name-en")).to_have_value("Too long")


def test_approve_a_pending_pairing_request(box, tablet, check_accessibility, screenshot):
    page = open_app(tablet, box, role="owner", path="/devices")
    created = open_request(box, "Reception iPad 2")
    row = page.locator(f"[data-testid=pairing-request][data-code='{created['code']}']")
    expect(row).to_be_visible(timeout=10000)  # the list refreshes itself every few seconds
    expect(row).to_contain_text("Reception iPad 2")
    screenshot(page, "devices-pending-en")
    check_accessibility(page, "devices with a pending request")
    row.get_by_test_id("pairing-role").select_option("staff")
    row.get_by_test_id("approve").click()
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("pairing-approved").filter(has_text="Reception iPad 2")).to_be_visible()
    # The tablet claims its token (as its pairing screen does); the device is then listed.
    claimed = box.api("POST", "/v1/pairing-requests/claim", {"secret": created["secret"]})
    assert claimed[0] == 200 and claimed[1]["device"]["role"] == "staff"
    device = page.locator("[data-testid=device][data-name='Reception iPad 2']")
    expect(device).to_be_visible(timeout=10000)
    expect(device).to_contain_text("Staff")
    expect(page.get_by_test_id("pairing-approved")).to_have_count(0)


@pytest.mark.skipif(DEV, reason="a tablet that is not paired yet needs the box's own pages and cookies")
def test_a_tablet_pairs_in_the_browser_approved_from_the_devices_screen(box, tablet):
    owner = open_app(tablet, box, role="owner", path="/devices")
    newcomer = tablet(role="front_desk", pair=False)
    newcomer.get_by_label("Name of this tablet").fill("Reception tablet 3")
    newcomer.get_by_role("button", name="Ask to pair").click()
    code = newcomer.get_by_test_id("pairing-code").inner_text().replace(" ", "")
    row = owner.locator(f"[data-testid=pairing-request][data-code='{code}']")
    expect(row).to_be_visible(timeout=10000)
    row.get_by_test_id("pairing-role").select_option("front_desk")
    row.get_by_test_id("approve").click()
    # The tablet claims its credential by itself and leaves the pairing screen…
    newcomer.wait_for_selector(".topbar, .card.lock", timeout=15000)
    # …and the owner's list shows it as soon as it has.
    device = owner.locator("[data-testid=device][data-name='Reception tablet 3']")
    expect(device).to_be_visible(timeout=10000)
    expect(device).to_contain_text("Front desk")
    expect(owner.get_by_test_id("pairing-approved")).to_have_count(0)


def test_an_owner_may_give_the_owner_role_and_reject(box, tablet):
    page = open_app(tablet, box, role="owner", path="/devices")
    created = open_request(box, "Role check tablet")
    row = page.get_by_test_id("pairing-request").filter(has_text="Role check tablet")
    expect(row).to_be_visible(timeout=10000)
    expect(row.get_by_test_id("pairing-role").locator("option[value=owner]")).to_have_count(1)
    row.get_by_test_id("reject").click()
    expect(row).to_have_count(0)
    status, _ = box.api("POST", "/v1/pairing-requests/claim", {"secret": created["secret"]})
    assert status == 401  # rejected


def test_a_manager_is_not_offered_the_owner_role(box, tablet):
    page = open_app(tablet, box, role="manager", path="/devices")
    open_request(box, "Manager's view tablet")
    row = page.get_by_test_id("pairing-request").filter(has_text="Manager's view tablet")
    expect(row).to_be_visible(timeout=10000)
    expect(row.get_by_test_id("pairing-role").locator("option[value=manager]")).to_have_count(1)
    expect(row.get_by_test_id("pairing-role").locator("option[value=owner]")).to_have_count(0)
    page.get_by_test_id("add-person").click()
    expect(page.get_by_test_id("person-form").get_by_label("Role").locator("option[value=owner]")).to_have_count(0)


def test_revoke_a_device_and_a_device_cannot_revoke_itself(box, tablet):
    page = open_app(tablet, box, role="owner", path="/devices")
    front_desk = page.locator("[data-testid=device][data-name='Front desk tablet (demo)']")
    front_desk.get_by_test_id("revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Front desk tablet (demo)")
    dialog.get_by_test_id("confirm").click()
    expect(dialog).to_have_count(0)
    expect(front_desk).to_contain_text("revoked")
    expect(front_desk.get_by_test_id("revoke")).to_have_count(0)
    status, _ = box.api("GET", "/v1/me", token=box.tokens["front_desk"])
    assert status == 401

    # This tablet: the box refuses, and the app says so in the dialog.
    this = page.locator("[data-testid=device]", has=page.locator(".badge.self"))
    this.get_by_test_id("revoke").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("confirm").click()
    expect(dialog.locator(".alert")).to_be_visible()
    expect(dialog.locator(".alert")).to_have_attribute("data-kind", "conflict")


def test_add_a_person_with_a_pin(box, tablet, check_accessibility):
    page = open_app(tablet, box, role="owner", path="/devices")
    page.get_by_test_id("add-person").click()
    form = page.get_by_test_id("person-form")
    check_accessibility(page, "the person form")
    form.get_by_label("Name").fill("Dana Stylist")
    form.get_by_label("Role").select_option("staff")
    staff = box.ok("GET", "/v1/staff")["items"][0]
    form.get_by_label("Is this person a staff member?").select_option(staff["id"])
    pin = form.get_by_label("PIN", exact=True)
    pin.fill("12")
    form.get_by_role("button", name="Save").click()
    expect(pin).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Name")).to_have_value("Dana Stylist")
    pin.fill("4821")
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)
    row = page.locator("[data-testid=person][data-name='Dana Stylist']")
    expect(row).to_be_visible()
    expect(row).to_contain_text(staff["name"])
    person = next(p for p in box.ok("GET", "/v1/people")["items"] if p["name"] == "Dana Stylist")
    assert person["role"] == "staff" and person["staff"] == staff["id"]
    # The PIN works: the person can sign in on a tablet.
    status, session = box.api("POST", "/v1/sessions", {"person": person["id"], "pin": "4821"}, token=box.tokens["front_desk"])
    assert status == 201 and session["role"] == "staff"

    # Deactivate them.
    row.get_by_test_id("edit-person").click()
    form = page.get_by_test_id("person-form")
    form.get_by_label("Active (may sign in)").uncheck()
    form.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Deactivated")


def test_auto_lock_minutes_are_kept_on_the_tablet(box, tablet):
    page = open_app(tablet, box, role="owner", path="/devices")
    page.get_by_test_id("autolock").select_option("15")
    assert page.evaluate("localStorage.getItem('edgenode.autolock_minutes')") == "15"


def test_staff_schedule_time_off_and_branch_holiday(box, tablet):
    staff = box.ok("GET", "/v1/staff")["items"][0]
    page = open_app(tablet, box, role="owner", path=f"/manage/staff?id={staff['id']}")
    form = page.get_by_test_id("staff-form")
    expect(form).to_be_visible()
    form.get_by_label("Sunday").first.fill("10:00-14:00")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".notice").filter(has_text="Saved.")).to_be_visible()
    page.wait_for_function(f"""async () => {{
        const r = await fetch('/v1/staff/{staff['id']}'); const s = await r.json();
        return JSON.stringify(s.schedule.sun) === JSON.stringify([["10:00", "14:00"]]); }}""")
    # An unreadable line stays, with its error.
    form = page.get_by_test_id("staff-form")
    form.get_by_label("Monday").first.fill("nine to six")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_label("Monday").first).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Monday").first).to_have_value("nine to six")

    # Time off ahead, then removed.
    page.get_by_label("From", exact=True).fill("2027-01-11T09:00")
    page.get_by_label("Until", exact=True).fill("2027-01-16T18:00")
    page.get_by_label("Reason").fill("Отпуск")
    page.get_by_role("button", name="Add time off").click()
    time_off = page.get_by_test_id("time-off").filter(has_text="Отпуск")
    expect(time_off).to_be_visible()
    items = box.ok("GET", f"/v1/staff/{staff['id']}/time-off")["items"]
    assert any(i["reason"] == "Отпуск" and i["start"].startswith("2027-01-11T09:00:00") for i in items)
    time_off.get_by_role("button").click()
    page.get_by_role("dialog").get_by_test_id("confirm").click()
    expect(time_off).to_have_count(0)
    # A service assignment saves at once.
    service = box.ok("GET", "/v1/services")["items"][-1]
    assigned = {i["service"] for i in box.ok("GET", f"/v1/staff/{staff['id']}/services")["items"]}
    box_ = page.locator(f"#assign-{service['id']}")
    box_.set_checked(service["id"] not in assigned)
    page.wait_for_function(f"""async () => {{
        const r = await fetch('/v1/staff/{staff['id']}/services'); const s = await r.json();
        return s.items.some((i) => i.service === '{service['id']}') === {str(service["id"] not in assigned).lower()}; }}""")

    go(page, "/manage/branch")
    page.get_by_label("Date", exact=True).fill("2027-03-22")
    page.get_by_label("Note").fill("Наурыз")
    page.get_by_role("button", name="Set hours for the date").click()
    expect(page.locator("[data-testid=override][data-date='2027-03-22']")).to_contain_text("closed")
    branch = box.ok("GET", "/v1/branches")["items"][0]
    overrides = box.ok("GET", f"/v1/branches/{branch['id']}/overrides")["items"]
    assert any(o["date"] == "2027-03-22" and o["intervals"] == [] and o["note"] == "Наурыз" for o in overrides)


def test_resources_create_and_edit(box, tablet):
    page = open_app(tablet, box, role="owner", path="/manage/resources")
    page.get_by_test_id("add-resource").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Кресло для педикюра 2")
    dialog.get_by_label("Kind").fill("chair")
    dialog.get_by_label("Units").fill("2")
    dialog.get_by_role("button", name="Save").click()
    row = page.locator("[data-testid=resource][data-name='Кресло для педикюра 2']")
    expect(row).to_contain_text("chair")
    row.get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Units").fill("3")
    dialog.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("3")
    found = [r for r in box.ok("GET", "/v1/resources")["items"] if r["name"] == "Кресло для педикюра 2"]
    assert found and found[0]["units"] == 3 and found[0]["kind"] == "chair"


def test_sync_screen_shows_the_box_and_the_audit_trail(box, tablet):
    client = box.ok("GET", "/v1/clients?limit=1")["items"][0]
    box.ok("POST", f"/v1/clients/{client['id']}/notes", {"body": "audited"})
    page = open_app(tablet, box, role="owner", path="/sync")
    status = box.ok("GET", "/v1/status")
    expect(page.get_by_test_id("identity")).to_contain_text(status["site"])
    audit = page.get_by_test_id("audit")
    expect(audit).to_contain_text("Added a client note")
    expect(audit).to_contain_text("client.note.add")
    # A change made meanwhile appears without a reload.
    box.ok("POST", "/v1/clients", {"name": "Audit Live Test"})
    expect(audit.locator("tbody tr").first).to_contain_text("Added a client", timeout=5000)


def test_branch_hours_and_booking_rules(box, tablet):
    page = open_app(tablet, box, role="owner", path="/manage/branch")
    form = page.get_by_test_id("branch-form")
    form.get_by_label("Booking horizon, days").fill("90")
    # Overlapping hours are the box's to refuse: the message shows and the lines stay as typed.
    form.get_by_label("Sunday").fill("10:00-14:00, 13:00-18:00")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".alert")).to_be_visible()
    expect(form.get_by_label("Sunday")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".hours-day", has=page.get_by_label("Sunday")).locator(".field-error")).to_contain_text("overlap")
    expect(form.get_by_label("Sunday")).to_have_value("10:00-14:00, 13:00-18:00")
    expect(form.get_by_label("Booking horizon, days")).to_have_value("90")
    form.get_by_label("Sunday").fill("10:00-14:00")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".notice").filter(has_text="Saved.")).to_be_visible()
    expect(form.locator(".alert")).to_be_hidden()
    branch = box.ok("GET", "/v1/branches")["items"][0]
    assert branch["policy"]["horizon_days"] == 90
    assert branch["opening_hours"]["sun"] == [["10:00", "14:00"]]
    assert branch["opening_hours"]["mon"] == [["09:00", "20:00"]] and branch["currency"] == "KZT"


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_admin_screens_in_each_language(box, tablet, check_accessibility, screenshot, language):
    staff = box.ok("GET", "/v1/staff")["items"][0]
    page = open_app(tablet, box, role="owner", language=language, path="/manage/services")
    screens = [
        ("/manage/services", "catalogue-services", "[data-testid=service]"),
        (f"/manage/staff?id={staff['id']}", "catalogue-staff", "[data-testid=staff-form]"),
        ("/manage/branch", "catalogue-branch", "[data-testid=branch-form]"),
        ("/manage/resources", "catalogue-resources", "[data-testid=resource]"),
        ("/devices", "devices", "[data-testid=device]"),
        ("/sync", "sync", "[data-testid=audit], [data-testid=identity]"),
    ]
    for path, name, ready in screens:
        go(page, path)
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.lang") == language
        body = page.locator("main#main").inner_text()
        assert "manage." not in body and "clients." not in body, f"{name}: a key without text\n{body}"
        screenshot(page, f"{name}-{language}")
        check_accessibility(page, f"{name}-{language}")
