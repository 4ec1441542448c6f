#!/usr/bin/env python3
"""Benchmark of the web app (not a test): what a tablet downloads, how fast the day calendar is
interactive on a slow tablet, and how fast a booking on one tablet appears on another.

Against `edgenode serve --demo` (seed 2026) in headless Debian Chromium (Playwright for Python):

1. Bytes of a first load (empty cache) and of a reload, as transferred (compressed), split into the
   app (HTML, JS, CSS) and its API calls; which requests a reload makes (goal: revalidations only).
2. Time from navigation to an interactive day calendar (every appointment of the day drawn) with
   Chromium's CPU throttled 4× (a low-end tablet), for the demo's busiest day and for a busy day
   (20 more staff × 40 appointments each, 15 minutes apart from 09:00), each against a baseline: a
   static page of the same size served by the same box (the app's own script bundle, opened as a
   document, which the browser shows as text) under the same throttle. Median of --runs cold loads.
3. Time from a booking made on one tablet to its block on another tablet's calendar (goal ≤ 1 s),
   against the time until the second tablet's own event stream delivers the change (the transport's
   share). Median and worst of --bookings bookings.

The workload is fixed: the demo's seed, the busy day's staff names and times; the day is the first
weekday from two days ahead (the box refuses bookings in the past and inside minimum notice, so the
date moves with the calendar, the work does not).

    python3 scripts/bench-webapp.py [--binary .build/release/edgenode] [--runs 5] [--bookings 10]
"""
import argparse, os, statistics, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "webapp", "tests"))
import conftest  # noqa: E402  (the browser tests' box and pairing helpers)
from playwright.sync_api import sync_playwright  # noqa: E402

THROTTLE = 4


def day_for_bench(box):
    """The first date from two days ahead that is not a Sunday (the demo's shorter day)."""
    import datetime
    day = datetime.date.today() + datetime.timedelta(days=2)
    while day.weekday() == 6:
        day += datetime.timedelta(days=1)
    return day.isoformat()


def shown_count(box, date):
    """How many appointments the calendar shows that day (not cancelled or rejected)."""
    branch = box.ok("GET", "/v1/branches")["items"][0]
    offset = "+05:00" if branch["time_zone"] == "Asia/Atyrau" else "Z"
    ids, cursor = set(), None
    while True:
        query = f"/v1/appointments?from={date}T00:00:00{offset}&to={date}T23:59:59{offset}&limit=500".replace("+", "%2B")
        page = box.ok("GET", query + (f"&cursor={cursor}" if cursor else ""))
        ids |= {a["id"] for a in page["items"] if a["status"] not in ("cancelled", "rejected")}
        cursor = page.get("next_cursor")
        if not cursor:
            return len(ids)


def seed_busy_day(box, date):
    """20 more staff, each with 40 fifteen-minute appointments from 09:00 on `date`."""
    week = {d: [["09:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    service = box.ok("POST", "/v1/services", {"names": {"ru": "Экспресс-укладка", "kk": "Жылдам сәндеу", "en": "Express styling"},
                                             "category": "hair", "duration_minutes": 15, "price": {"amount_minor": 300000, "currency": "KZT"}})
    for number in range(20):
        staff = box.ok("POST", "/v1/staff", {"name": f"Мастер {number + 1:02d}", "schedule": week})
        box.ok("PUT", f"/v1/staff/{staff['id']}/services/{service['id']}", {})
        for slot in range(40):
            minutes = 9 * 60 + slot * 15
            start = f"{date}T{minutes // 60:02d}:{minutes % 60:02d}:00+05:00"
            box.ok("POST", "/v1/appointments", {"services": [{"service": service["id"], "staff": staff["id"]}], "start": start,
                                               "guest": {"name": f"Гость {number + 1}-{slot + 1}"}, "source": "phone"})


CREDENTIALS = {}


def new_tablet(browser, box, throttle=True):
    """A fresh browser context (empty cache) with the cookies of one tablet paired once per box
    (the box allows ten pairing requests per address in 15 minutes)."""
    if box.url not in CREDENTIALS:
        context = browser.new_context(viewport=conftest.TABLET)
        conftest.pair_context(box, context, "front_desk")
        conftest.sign_in_context(box, context, "owner")
        CREDENTIALS[box.url] = context.storage_state()
        context.close()
    context = browser.new_context(viewport=conftest.TABLET, storage_state=CREDENTIALS[box.url])
    page = context.new_page()
    if throttle:
        context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": THROTTLE})
    return context, page


def transferred(page_requests):
    total = {"app": 0, "api": 0}
    for request in page_requests:
        response = request.response()
        if response is None:
            continue
        sizes = request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        total["api" if "/v1/" in request.url else "app"] += size
    return total


def wait_calendar(page, count, timeout=120000):
    page.wait_for_function("(n) => new Set([...document.querySelectorAll('[data-testid=appointment]')].map(e => e.dataset.id)).size >= n",
                           arg=count, timeout=timeout, polling=20)


def time_to_calendar(browser, box, date, count, runs):
    """Median seconds from navigation to the page's load event (its HTML, script and stylesheet
    delivered, parsed and run: the static part) and to the interactive calendar."""
    loaded, ready = [], []
    for _ in range(runs):
        context, page = new_tablet(browser, box)
        started = time.perf_counter()
        page.goto(f"{box.url}/#/day/{date}", wait_until="load")
        loaded.append(time.perf_counter() - started)
        wait_calendar(page, count)
        ready.append(time.perf_counter() - started)
        context.close()
    return statistics.median(loaded), statistics.median(ready)


def time_to_static(browser, box, asset, runs):
    """Median seconds to the load event of a static document of the app's size from the same box:
    its script bundle opened as a document (shown as text)."""
    times = []
    for _ in range(runs):
        context, page = new_tablet(browser, box)
        started = time.perf_counter()
        page.goto(box.url + asset, wait_until="load")
        times.append(time.perf_counter() - started)
        context.close()
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=conftest.BINARY)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bookings", type=int, default=10)
    arguments = parser.parse_args()
    conftest.BINARY = arguments.binary
    box = conftest.start_box()
    busy = conftest.start_box()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=conftest.CHROMIUM, headless=True, args=["--no-sandbox"])
            date = day_for_bench(box)
            demo_count = shown_count(box, date)

            # 1. Bytes: a first load with an empty cache, then a reload.
            context, page = new_tablet(browser, box, throttle=False)
            requests = []
            page.on("requestfinished", lambda request: requests.append(request))
            page.goto(f"{box.url}/#/day/{date}")
            wait_calendar(page, demo_count)
            first = transferred(requests)
            first_requests = len(requests)
            assets = [r.url[len(box.url):] for r in requests if "/assets/" in r.url]
            requests.clear()
            page.reload()
            wait_calendar(page, demo_count)
            reload = transferred(requests)
            app_requests = [(r.url[len(box.url):], f"{r.sizes()['responseBodySize'] + r.sizes()['responseHeadersSize']} B")
                            for r in requests if "/v1/" not in r.url and r.response()]
            context.close()
            print(f"first load: app {first['app'] / 1024:.1f} KiB + API {first['api'] / 1024:.1f} KiB transferred "
                  f"({first_requests} requests; goal: app + API ≤ 200 KB)")
            print(f"reload: app {reload['app'] / 1024:.1f} KiB + API {reload['api'] / 1024:.1f} KiB; the app's requests and bytes on the wire: {app_requests}")

            # 2. Time to an interactive calendar under a 4× slower CPU, against the static baseline.
            script = next(a for a in assets if a.endswith(".js"))
            for label, target, count in (("demo day", box, demo_count), ("busy day", busy, None)):
                if count is None:
                    seed_busy_day(busy, date)
                    count = shown_count(busy, date)
                static = time_to_static(browser, target, script, arguments.runs)
                loaded, ready = time_to_calendar(browser, target, date, count, arguments.runs)
                print(f"{label} ({count} appointments): interactive calendar {ready * 1000:.0f} ms; the page's own load event "
                      f"{loaded * 1000:.0f} ms (ratio {ready / loaded:.2f}); a static document of the script's size {static * 1000:.0f} ms "
                      f"(ratio {ready / static:.2f})")

            # 3. A booking on one tablet until it is drawn on another.
            one, first_page = new_tablet(browser, box, throttle=False)
            two, second_page = new_tablet(browser, box, throttle=False)
            for tablet_page in (first_page, second_page):
                tablet_page.goto(f"{box.url}/#/day/{date}")
                wait_calendar(tablet_page, demo_count)
            second_page.evaluate("""() => {
                window.__drawn = {}; window.__events = {};
                new MutationObserver(() => {
                    for (const e of document.querySelectorAll('[data-testid=appointment]')) if (!(e.dataset.id in window.__drawn)) window.__drawn[e.dataset.id] = Date.now();
                }).observe(document.body, {subtree: true, childList: true});
                const source = new EventSource('/v1/events');
                source.addEventListener('appointment', (event) => { const d = JSON.parse(event.data); if (!(d.id in window.__events)) window.__events[d.id] = Date.now(); });
            }""")
            services = [s for s in box.ok("GET", "/v1/services")["items"] if s["active"]]
            drawn, delivered = [], []
            for number in range(arguments.bookings):
                # The first start the box offers for the next service in turn (the same each run).
                service = services[number % len(services)]
                slots = box.ok("GET", f"/v1/availability?service={service['id']}&date={date}")["slots"]
                if not slots:
                    continue
                sent = time.time() * 1000
                answer = one.request.post(box.url + "/v1/appointments", headers={"Edgenode-CSRF": "1"},
                                          data={"services": [{"service": service["id"]}], "start": slots[0]["start"], "guest": {"name": "Bench"}})
                assert answer.status == 201, answer.text()
                identifier = answer.json()["id"]
                second_page.wait_for_function("(id) => id in window.__drawn", arg=identifier, timeout=10000)
                drawn.append(second_page.evaluate("(id) => window.__drawn[id]", identifier) - sent)
                delivered.append(second_page.evaluate("(id) => window.__events[id]", identifier) - sent)
            one.close()
            two.close()
            print(f"booking on one tablet → drawn on another: median {statistics.median(drawn):.0f} ms, worst {max(drawn):.0f} ms "
                  f"({len(drawn)} bookings; goal ≤ 1000 ms); the event stream alone: median {statistics.median(delivered):.0f} ms, "
                  f"worst {max(delivered):.0f} ms; ratio {statistics.median(drawn) / max(1, statistics.median(delivered)):.2f}")
            browser.close()
    finally:
        box.stop()
        busy.stop()


if __name__ == "__main__":
    main()
