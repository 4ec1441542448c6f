#!/usr/bin/env python3
"""An independent check of a calendar feed (RFC 5545), with the `icalendar` package from PyPI.

    verify_ics.py SOURCE [EXPECTATIONS]

SOURCE is an http(s) URL (fetched with urllib: status 200 and a text/calendar type required) or
a file path. EXPECTATIONS, optional, is JSON (inline, or @path of a file):

    {"calname": "Aigerim", "count": 2,
     "events": [{"uid": "…@edgenode", "sequence": 1, "summary": "Ерлан — Haircut", "status": "CONFIRMED",
                 "dtstart": "2026-03-03T05:00:00Z", "dtend": "2026-03-03T06:00:00Z", "description": "…"}],
     "absent_uids": ["…"], "absent_text": ["Ерлан"]}

Each expected event is looked up by its uid; only the keys given are compared.

Checks, always:
  * the raw bytes: every line ends with CRLF (no bare CR or LF), no line longer than 75 octets,
    the whole text is UTF-8;
  * the calendar parses; VERSION 2.0, PRODID, REFRESH-INTERVAL (VALUE=DURATION) and
    X-PUBLISHED-TTL are present;
  * every VEVENT has UID, DTSTAMP and DTSTART; UIDs are unique;
  * every TZID used by a property has a VTIMEZONE; a DATE-TIME without TZID is in UTC (…Z),
    never floating.

Prints a JSON summary of the events to stdout; exits 1 listing every problem on stderr.
"""
import datetime
import json
import sys
import urllib.request

import icalendar


def fetch(source):
    if source.startswith("http://") or source.startswith("https://"):
        with urllib.request.urlopen(source, timeout=30) as response:
            content_type = response.headers.get("Content-Type", "")
            return response.status, content_type, response.read()
    with open(source, "rb") as handle:
        return 200, "text/calendar", handle.read()


def raw_problems(data):
    problems = []
    if not data.endswith(b"\r\n"):
        problems.append("the text does not end with CRLF")
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    for number, line in enumerate(lines, 1):
        if b"\r" in line or b"\n" in line:
            problems.append(f"line {number}: a bare CR or LF (lines must end with CRLF)")
        if len(line) > 75:
            problems.append(f"line {number}: {len(line)} octets (at most 75 before folding)")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"line {number}: not UTF-8 on its own (a fold split a multi-octet character)")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append("the text is not UTF-8")
    return problems


def utc_text(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def check(data, expectations):
    problems = raw_problems(data)
    try:
        calendar = icalendar.Calendar.from_ical(data.decode("utf-8", errors="replace"))
    except Exception as error:  # the parser's own words
        return problems + [f"icalendar cannot parse it: {error}"], {}
    if calendar.name != "VCALENDAR":
        problems.append(f"the top component is {calendar.name}, not VCALENDAR")
    if str(calendar.get("VERSION", "")) != "2.0":
        problems.append("VERSION is not 2.0")
    if not calendar.get("PRODID"):
        problems.append("no PRODID")
    refresh = calendar.get("REFRESH-INTERVAL")
    if refresh is None:
        problems.append("no REFRESH-INTERVAL")
    elif refresh.params.get("VALUE") != "DURATION":
        problems.append("REFRESH-INTERVAL lacks VALUE=DURATION")
    if calendar.get("X-PUBLISHED-TTL") is None:
        problems.append("no X-PUBLISHED-TTL")

    timezones = {str(zone.get("TZID")) for zone in calendar.walk("VTIMEZONE")}
    events = []
    uids = set()
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", ""))
        for name in ("UID", "DTSTAMP", "DTSTART"):
            if event.get(name) is None:
                problems.append(f"a VEVENT ({uid or 'no UID'}) has no {name}")
        if uid in uids:
            problems.append(f"UID {uid} appears twice")
        uids.add(uid)
        for name, prop in event.property_items(recursive=False):
            tzid = getattr(prop, "params", {}).get("TZID") if hasattr(prop, "params") else None
            if tzid and tzid not in timezones:
                problems.append(f"{uid}: {name} uses TZID {tzid} without a VTIMEZONE")
        for name in ("DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED"):
            prop = event.get(name)
            if prop is None or not isinstance(prop.dt, datetime.datetime):
                continue
            if "TZID" not in prop.params and prop.dt.tzinfo is None:
                problems.append(f"{uid}: {name} is a floating time (neither UTC nor a TZID)")
        events.append({
            "uid": uid,
            "sequence": int(event.get("SEQUENCE", 0)),
            "summary": str(event.get("SUMMARY", "")),
            "description": str(event.get("DESCRIPTION", "")) if event.get("DESCRIPTION") is not None else None,
            "status": str(event.get("STATUS", "")),
            "dtstart": utc_text(event.decoded("DTSTART")) if event.get("DTSTART") is not None else None,
            "dtend": utc_text(event.decoded("DTEND")) if event.get("DTEND") is not None else None,
        })
    summary = {"calname": str(calendar.get("X-WR-CALNAME", "")), "events": events}

    by_uid = {event["uid"]: event for event in events}
    if "calname" in expectations and summary["calname"] != expectations["calname"]:
        problems.append(f"X-WR-CALNAME is {summary['calname']!r}, expected {expectations['calname']!r}")
    if "count" in expectations and len(events) != expectations["count"]:
        problems.append(f"{len(events)} events, expected {expectations['count']}")
    for expected in expectations.get("events", []):
        actual = by_uid.get(expected.get("uid"))
        if actual is None:
            problems.append(f"no event with UID {expected.get('uid')}")
            continue
        for key, value in expected.items():
            if actual.get(key) != value:
                problems.append(f"{expected['uid']}: {key} is {actual.get(key)!r}, expected {value!r}")
    for uid in expectations.get("absent_uids", []):
        if uid in by_uid:
            problems.append(f"UID {uid} should not be in the feed")
    text = data.decode("utf-8", errors="replace")
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    for fragment in expectations.get("absent_text", []):
        if fragment in unfolded:
            problems.append(f"{fragment!r} should not be in the feed")
    return problems, summary


def main(argv):
    if len(argv) < 2 or len(argv) > 3:
        print(__doc__, file=sys.stderr)
        return 2
    expectations = {}
    if len(argv) == 3:
        text = argv[2]
        if text.startswith("@"):
            with open(text[1:], encoding="utf-8") as handle:
                text = handle.read()
        expectations = json.loads(text)
    status, content_type, data = fetch(argv[1])
    problems = []
    if status != 200:
        problems.append(f"HTTP status {status}")
    if not content_type.lower().startswith("text/calendar"):
        problems.append(f"Content-Type is {content_type!r}, not text/calendar")
    more, summary = check(data, expectations)
    problems += more
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
