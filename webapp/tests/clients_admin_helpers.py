"""Helpers shared by test_clients.py and test_admin.py: open the app as a role (signing a person in
with their PIN on a real box, where a paired tablet with people shows the lock screen first) and
go to a screen."""
import json, urllib.request

from conftest import DEV

FRONT_DESK_PERSON = ("Front Desk Tester", "2468")


def person_for(box, role):
    """(name, PIN) of a person of `role` on the demo box, made if needed (the demo has only the owner)."""
    if role == "owner":
        return box.owner_pin
    name, pin = FRONT_DESK_PERSON if role == "front_desk" else (f"{role} tester", "1357")
    people = box.ok("GET", "/v1/people")["items"]
    if not any(p["name"] == name for p in people):
        box.ok("POST", "/v1/people", {"name": name, "role": role, "pin": pin})
    return name, pin


def open_app(tablet, box, role="owner", language="en", path="/clients", **kwargs):
    """A tablet of `role` showing `path` (a hash route), signed in as a person of that role when the
    box shows the lock screen (real box); in development mode the device's token is the role."""
    name, pin = person_for(box, role)  # before the lock screen lists the people
    page = tablet(role=role, language=language, **kwargs)
    page.wait_for_selector(".topbar, .card.lock", timeout=20000)
    if page.locator(".card.lock").count():
        page.get_by_role("radio", name=name).click()
        page.fill("#pin", pin)
        page.keyboard.press("Enter")
        page.wait_for_selector(".topbar", timeout=20000)
    go(page, path)
    return page


def go(page, path):
    page.evaluate("path => { location.hash = '#' + path; }", path)
    page.wait_for_function("path => location.hash === '#' + path", arg=path)
    page.wait_for_selector("main#main h1")


def open_request(box, device_name):
    """Asks to pair as a new tablet would: the open endpoint, no device token."""
    request = urllib.request.Request(box.url + "/v1/pairing-requests", data=json.dumps({"device_name": device_name}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())
