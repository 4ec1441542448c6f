"""The owner reports' pages of issue 19 in a real Chromium against a real demo box (docs/reports.md,
docs/webapp.md): the demo's eight weeks of history at two branches give the figures.

- the dashboard and the revenue and utilisation pages in ru, kk and en, with screenshots and the
  accessibility check;
- every figure on the dashboard equals the box's JSON (`GET /v1/reports/dashboard`);
- a table's CSV downloaded from the page (the button: fetch with the device's cookie, a Blob link),
  parsed by Python's `csv` — with `,` and with the decimal comma's `;` — equals the table shown, row
  by row, headers included;
- a manager sees only their branch, and the branch filter offers only it;
- printing (print media emulated) hides the navigation and the filters and keeps the summary line,
  the charts and the tables;
- a bad range shows the box's refusal in the person's language and changes nothing;
- the owner gives a manager every branch from the people screen (`PUT /v1/people/{id}/report-access`).

Set-up goes through the API; what the test checks is on the screens."""
import csv, io, os, re

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, SIGN_IN_NAMES

MANAGER = SIGN_IN_NAMES["manager"]
LANGUAGES = ["ru", "kk", "en"]
# The visible error for an end date before the start date, in each language (locales/reports.js).
BACKWARDS = {"en": "end date is before its start date", "ru": "раньше даты начала", "kk": "басталу күнінен бұрын"}


def open_at(tablet, path, role="owner", language="en"):
    page = tablet(role=role, language=language)
    page.locator(".topbar").wait_for()
    page.evaluate("path => { location.hash = '#' + path; }", path)
    page.locator("main#main h1").first.wait_for()
    return page


def digits(text):
    return re.sub(r"[^\d]", "", text)


def api_json(page, box, path):
    """The box's JSON as this page's person sees it (the context's cookies)."""
    response = page.request.get(box.url + path, headers={"Accept": "application/json"})
    assert response.ok, f"{path} → {response.status} {response.text()}"
    return response.json()


def major_digits(minor):
    """The digits the app shows for an amount in minor units of a two-digit currency (whole amounts without decimals)."""
    return str(minor // 100) if minor % 100 == 0 else f"{minor // 100}{minor % 100:02d}"


def one_decimal(value):
    """The digits of a percentage with one decimal, rounded half away from zero as the box and the app do (41.06 → "411", 0 → "00")."""
    tenths = int(abs(value) * 10 + 0.5)
    return f"{tenths // 10}{tenths % 10}"


def table_shown(page, name):
    """The table as shown: its headers, each cell's CSV text (data-value), its text, and whether it is a number."""
    table = page.locator(f"[data-testid=table-{name}]")
    expect(table).to_be_visible()
    headers = table.locator("thead th").all_inner_texts()
    rows = table.evaluate("""table => [...table.querySelectorAll('tbody tr')].map((row) =>
        [...row.querySelectorAll('td')].map((cell) => ({ value: cell.dataset.value, text: cell.innerText, number: cell.classList.contains('num') })))""")
    return headers, rows


def download_csv(page, name, comma):
    """Clicks the table's CSV button with the decimal-comma option set; returns the parsed rows and the file name."""
    option = page.locator("[data-testid=csv-comma]")
    if option.is_checked() != comma:
        option.click()
    with page.expect_download() as info:
        page.locator(f"[data-testid=csv-{name}]").click()
    download = info.value
    path = os.path.join(ARTIFACTS, f"report-{download.suggested_filename}")
    os.makedirs(ARTIFACTS, exist_ok=True)
    download.save_as(path)
    raw = open(path, "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM for Excel"
    assert b"\r\n" in raw
    text = raw.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if comma else ",")), download.suggested_filename


def assert_csv_is_the_table(page, name, comma):
    headers, shown = table_shown(page, name)
    assert shown, f"the {name} table has rows"
    parsed, filename = download_csv(page, name, comma)
    assert filename.endswith(".csv") and name in filename
    assert parsed[0] == headers, f"{name}: the CSV's headers are the table's"
    assert len(parsed) - 1 == len(shown), f"{name}: {len(parsed) - 1} CSV rows, {len(shown)} shown"
    for line, (fields, cells) in enumerate(zip(parsed[1:], shown), start=1):
        assert len(fields) == len(cells), f"{name} row {line}: {fields} vs {cells}"
        for field, cell in zip(fields, cells):
            expected = cell["value"].replace(".", ",") if comma and cell["number"] else cell["value"]
            assert field == expected, f"{name} row {line}: CSV {field!r}, table {cell!r}"
            if cell["number"]:
                # What is shown is that number in the person's locale (grouping, decimal mark, %).
                assert digits(cell["text"]) == digits(field), f"{name} row {line}: shown {cell['text']!r}, CSV {field!r}"
    return parsed


# --- the three pages in three languages ---------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_dashboard_and_two_reports_in_each_language(box, tablet, check_accessibility, screenshot, language):
    page = open_at(tablet, "/dashboard", language=language)
    expect(page.locator("[data-testid=nav-reports]")).to_be_visible()
    expect(page.locator("[data-testid=dash-today]")).to_be_visible()
    expect(page.locator("[data-testid=freshness]")).to_have_count(2)
    expect(page.locator("[data-testid=freshness][data-state=this_box]")).to_have_count(1)
    screenshot(page, f"reports-dashboard-{language}")
    check_accessibility(page, f"dashboard ({language})")

    page.locator("[data-testid=report-tab-revenue]").click()
    expect(page.locator("[data-testid=table-by_day]")).to_be_visible()
    chart = page.locator("svg[data-testid=chart-revenue-KZT]")
    expect(chart.locator("rect.previous").first).to_be_attached()       # the previous period, beside this one
    expect(chart).to_have_attribute("role", "img")
    assert chart.locator(":scope > title").text_content() == chart.get_attribute("aria-label") != ""
    screenshot(page, f"reports-revenue-{language}")
    check_accessibility(page, f"revenue report ({language})")

    page.locator("[data-testid=report-tab-utilisation]").click()
    expect(page.locator("[data-testid=table-by_hour]")).to_be_visible()
    expect(page.locator("svg[data-testid=chart-bookings-heat] rect.heat-5").first).to_be_attached()
    screenshot(page, f"reports-utilisation-{language}")
    check_accessibility(page, f"utilisation report ({language})")


def test_every_dashboard_figure_is_the_boxs(box, tablet):
    page = open_at(tablet, "/dashboard", language="ru")
    expect(page.locator("[data-testid=dash-today-bookings]")).to_be_visible()
    data = api_json(page, box, "/v1/reports/dashboard")
    assert len(data["sparkline"]) == 14
    for name in ("today", "week"):
        window = data[name]
        for currency, minor in window["net_minor"].items():
            figure = page.locator(f"[data-testid=dash-{name}-net-{currency}]")
            assert figure.get_attribute("data-value") == str(minor)
            assert digits(figure.locator(".figure-value").inner_text()) == major_digits(minor)
        assert window["net_minor"], f"{name}: some money"
        bookings = page.locator(f"[data-testid=dash-{name}-bookings]")
        assert bookings.get_attribute("data-value") == str(window["bookings"]["scheduled"])
        assert digits(bookings.locator(".figure-value").inner_text()) == str(window["bookings"]["scheduled"])
        no_shows = page.locator(f"[data-testid=dash-{name}-no-shows]")
        assert digits(no_shows.locator(".figure-value").inner_text()) == str(window["bookings"]["no_shows"])
        available, booked = window["available_minutes"], window["booked_minutes"]
        utilisation = page.locator(f"[data-testid=dash-{name}-utilisation]")
        assert digits(utilisation.locator(".figure-value").inner_text()) == one_decimal(booked / available * 100 if available else 0)
    # One sparkline per figure, 14 days each.
    points = page.locator("[data-testid=dash-today-bookings] svg.sparkline polyline").get_attribute("points")
    assert len(points.split(" ")) == 14
    assert page.locator("[data-testid=dash-week] svg.sparkline").count() == len(data["week"]["net_minor"]) + 3


# --- CSV ------------------------------------------------------------------------------------------------

def test_a_downloaded_csv_is_the_table_shown(box, tablet):
    page = open_at(tablet, "/reports/revenue", language="en")
    # Point and comma, on a table of amounts and on one of codes and counts.
    by_day = assert_csv_is_the_table(page, "by_day", comma=False)
    assert len(by_day) > 20 and re.fullmatch(r"\d+\.\d\d", by_day[1][2])
    comma = assert_csv_is_the_table(page, "by_method", comma=True)
    assert {row[1] for row in comma[1:]} >= {"cash", "card", "kaspi_qr"}
    assert re.fullmatch(r"\d+,\d\d", comma[1][2])
    assert_csv_is_the_table(page, "summary", comma=True)
    # In Russian, the utilisation page: headers in Russian, percentages with the comma.
    page.evaluate("() => { localStorage.setItem('edgenode.lang', 'ru'); }")
    page.reload()
    page.locator(".topbar").wait_for()
    page.evaluate("() => { location.hash = '#/reports/utilisation'; }")
    staff = assert_csv_is_the_table(page, "staff", comma=True)
    assert staff[0][0] == "Сотрудник"
    assert_csv_is_the_table(page, "by_hour", comma=False)
    assert_csv_is_the_table(page, "bookings_heat", comma=True)


# --- who sees which branch --------------------------------------------------------------------------------

def test_a_manager_sees_only_their_branch(box, tablet):
    home = box.ok("GET", "/v1/me")["home_branch"]
    branches = box.ok("GET", "/v1/branches")["items"]
    assert len(branches) == 2
    page = open_at(tablet, "/reports/revenue", role="manager", language="en")
    me = api_json(page, box, "/v1/me")
    assert me["report_branches"] == [home]
    choices = page.locator("[data-testid=report-branch]")
    expect(choices).to_have_count(1)
    assert choices.get_attribute("value") == home
    expect(page.locator("[data-testid=freshness]")).to_have_count(1)
    _, rows = table_shown(page, "by_branch")
    home_name = next(b["name"] for b in branches if b["id"] == home)
    assert [row[1]["value"] for row in rows] == [home_name]
    # The other branch is refused by the box itself.
    other = next(b["id"] for b in branches if b["id"] != home)
    refused = page.request.get(box.url + f"/v1/reports/revenue?from=2026-01-01&to=2026-01-31&branch={other}")
    assert refused.status == 403
    page.evaluate("() => { location.hash = '#/dashboard'; }")
    expect(page.locator("[data-testid=freshness]")).to_have_count(1)
    expect(page.locator("[data-testid=dashboard-branch]")).to_have_count(0)


def test_the_owner_gives_a_manager_every_branch(box, tablet):
    page = open_at(tablet, "/devices", language="en")
    manager = open_at(tablet, "/dashboard", role="manager", language="en")   # creates the manager
    people = box.ok("GET", "/v1/people")["items"]
    person = next(p for p in people if p["name"] == MANAGER)
    assert person["report_access"] == "own"
    page.reload()
    page.locator(".topbar").wait_for()
    row = page.locator("[data-testid=person]", has_text=MANAGER)
    row.locator("[data-testid=report-access]").click()
    form = page.locator("[data-testid=report-access-form]")
    form.locator("[data-testid=access-all]").check()
    form.locator("[data-testid=report-access-save]").click()
    expect(form).to_have_count(0)
    assert next(p for p in box.ok("GET", "/v1/people")["items"] if p["id"] == person["id"])["report_access"] == "all"
    assert len(api_json(manager, box, "/v1/me")["report_branches"]) == 2


# --- printing, and a bad range -------------------------------------------------------------------------------

def test_print_hides_the_navigation_and_keeps_the_tables(box, tablet, screenshot):
    page = open_at(tablet, "/reports/utilisation", language="en")
    expect(page.locator("[data-testid=table-staff]")).to_be_visible()
    expect(page.locator("[data-testid=print-summary]")).to_be_hidden()
    page.emulate_media(media="print")
    expect(page.locator(".topbar nav")).to_be_hidden()
    expect(page.locator("[data-testid=report-filters]")).to_be_hidden()
    expect(page.locator("[data-testid=report-print]")).to_be_hidden()
    summary = page.locator("[data-testid=print-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("printed")
    for name in ("staff", "by_day", "by_hour", "bookings_heat"):
        expect(page.locator(f"[data-testid=table-{name}]")).to_be_visible()
    expect(page.locator("svg[data-testid=chart-bookings-heat]")).to_be_visible()
    breaks = page.evaluate("() => [...document.querySelectorAll('.report-section')].slice(1).map((s) => getComputedStyle(s).breakBefore)")
    assert breaks and all(b == "page" for b in breaks), breaks
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.pdf(path=os.path.join(ARTIFACTS, "reports-utilisation-print.pdf"), format="A4")
    screenshot(page, "reports-utilisation-print")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_bad_range_shows_the_boxs_refusal_in_the_persons_language_and_changes_nothing(box, tablet, language):
    page = open_at(tablet, "/reports/revenue", language=language)
    body = page.locator("[data-testid=report-body]")
    expect(page.locator("[data-testid=table-by_day]")).to_be_visible()
    before, url = body.inner_text(), page.url
    refusals = []
    page.on("response", lambda response: refusals.append(response.status) if "/v1/reports/revenue?" in response.url else None)
    page.locator("[data-testid=report-from]").fill("2026-03-10")
    page.locator("[data-testid=report-to]").fill("2026-03-01")
    page.locator("[data-testid=report-apply]").click()
    error = page.locator("[data-testid=report-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text(BACKWARDS[language])
    assert 400 in refusals, "the box refused it (the app does not decide on its own)"
    assert body.inner_text() == before and page.url == url
    # Three years or more: refused too.
    page.locator("[data-testid=report-from]").fill("2023-01-01")
    page.locator("[data-testid=report-to]").fill("2026-01-01")
    page.locator("[data-testid=report-apply]").click()
    expect(error).to_contain_text({"en": "3 years", "ru": "3 лет", "kk": "3 жыл"}[language])
    assert body.inner_text() == before and page.url == url
