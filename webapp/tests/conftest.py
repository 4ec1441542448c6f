"""Browser tests of the web app: a real `edgenode serve` and Debian's Chromium driven by
Playwright for Python (never `playwright install`: the browser is /usr/bin/chromium).

Fixtures:
- `box`: a fresh demo box (`edgenode serve --demo --port 0`) with its device tokens and the
  owner's PIN; `box.api(method, path, body, token=...)` calls its API directly (test set-up).
- `tablet(role=..., viewport=..., language=..., sign_in=True)`: a browser context paired with the
  box for that role the way a tablet pairs (a pairing request, approved with the owner's token,
  claimed with `credential: cookie`), with a person of that role signed in by PIN (the demo's owner
  for `owner`; none on a kiosk, or with `sign_in=False`: the lock screen), opened at the app. Every page of it fails its test on a Content-Security-
  Policy violation or an uncaught script error.
- `check_accessibility(page, name)`: axe-core (axe-playwright-python) on the page; no serious or
  critical violation.
- `screenshot(page, name)`: saves a PNG under the artefacts folder ($WEBAPP_ARTIFACTS, default
  .build/webapp-artifacts).

WEBAPP_BINARY names the edgenode binary (default .build/debug/edgenode). With
WEBAPP_SOURCES=1 the box's pages carry the app bundled from the sources instead of the binary's
embedded copy (a binary built before the sources changed). With
WEBAPP_DEV=1 the pages are served by webapp/tools/devserver.py from the sources (with
the role's bearer token) instead of the box's embedded copy: for developing screens only.
"""
import json, os, queue, re, signal, subprocess, sys, threading, time, urllib.error, urllib.request

import pytest
from playwright.sync_api import sync_playwright

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("WEBAPP_BINARY") or os.path.join(REPO, ".build", "debug", "edgenode")
ARTIFACTS = os.environ.get("WEBAPP_ARTIFACTS") or os.path.join(REPO, ".build", "webapp-artifacts")
CHROMIUM = os.environ.get("WEBAPP_CHROMIUM") or "/usr/bin/chromium"
DEV = os.environ.get("WEBAPP_DEV") == "1"
# The box's pages and API, but the app bundled from this checkout's sources (for a box built
# before the sources changed): Playwright answers / and /assets/dev-app.* itself.
SOURCES = os.environ.get("WEBAPP_SOURCES") == "1"
ROLES = {"owner": "owner console", "front_desk": "front desk", "kiosk": "kiosk"}
TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


def wait_for(condition, timeout=30.0, interval=0.05, message="condition"):
    """Polls `condition` until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class Box:
    """A running `edgenode serve` and how to reach it."""

    def __init__(self, process, url, tokens, owner_pin, output):
        self.process, self.url, self.tokens, self.owner_pin, self.output = process, url, tokens, owner_pin, output

    def api(self, method, path, body=None, token=None, session=None, headers=None):
        """One API call with a bearer token (the owner's by default): (status, JSON or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token or self.tokens['owner']}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if session:
            request.add_header("Edgenode-Session", session)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, (json.loads(text) if text else None)

    def ok(self, method, path, body=None, **kwargs):
        status, document = self.api(method, path, body, **kwargs)
        assert 200 <= status < 300, f"{method} {path} → {status} {document}"
        return document

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def clean_environment():
    """This process's environment without EDGENODE_ variables (the box refuses ones it does not
    know, such as the test script's EDGENODE_TEST_POSTGRES_URL) and without the tests' own."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("EDGENODE_", "WEBAPP_"))}


def start_box(arguments=("serve", "--demo", "--port", "0"), environment=None):
    """Starts the binary and reads its demo banner (URL, device tokens, owner PIN)."""
    assert os.path.exists(BINARY), f"build edgenode first ({BINARY} is missing)"
    process = subprocess.Popen([BINARY, *arguments], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**clean_environment(), **(environment or {})}, start_new_session=True)
    lines = queue.Queue()
    output = []

    def read():
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    url, tokens, pin, data_dir, first = None, {}, None, None, None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            raise AssertionError("edgenode exited:\n" + "".join(output))
        if first is None and not re.match(r"^\d{4}-\d\d-\d\dT", line):
            first = line.rstrip("\n")
        match = re.match(r"^Data directory \(deleted on exit\): (\S+)", line)
        if match:
            data_dir = match.group(1)
        match = re.match(r"^API: (http://\S+)", line)
        if match:
            url = match.group(1)
        for role, label in ROLES.items():
            match = re.match(rf"^\s+{label}\s+(\S+)\s*$", line)
            if match:
                tokens[role] = match.group(1)
        match = re.match(r"^Owner PIN for (.+): (\d+)", line)
        if match:
            pin = (match.group(1), match.group(2))
        if line.startswith("Stop with Ctrl-C"):
            break
    assert url and tokens, "no demo banner:\n" + "".join(output)
    box = Box(process, url, tokens, pin, output)
    box.data_dir, box.first_line = data_dir, first
    return box


@pytest.fixture
def box():
    started = start_box()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


def guard(page, problems):
    """Fails the test on CSP violations and script errors of the page."""
    def console(message):
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(f"CSP: {message.text}")
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))


def pair_context(box, context, role, name="Test tablet"):
    """Pairs a browser context with the box for `role` as a tablet does, leaving the HttpOnly cookie."""
    created = context.request.post(box.url + "/v1/pairing-requests", data={"device_name": name})
    assert created.status == 201, created.text()
    document = created.json()
    box.ok("POST", "/v1/pairing-requests/approve", {"code": document["code"], "role": role})
    claimed = context.request.post(box.url + "/v1/pairing-requests/claim", data={"secret": document["secret"], "credential": "cookie"},
                                   headers={"Edgenode-CSRF": "1"})
    assert claimed.status == 200, claimed.text()


SIGN_IN_NAMES = {"front_desk": "Гульнара Сейтова", "manager": "Марат Ахметов", "staff": "Дана Ержанова"}


def sign_in_context(box, context, role):
    """Signs a person of `role` in on the tablet (PIN session as a cookie), as the lock screen does:
    the demo's owner for `owner`, else a person made for the test."""
    if role == "owner":
        people = box.ok("GET", "/v1/people")["items"]
        person, pin = next(p for p in people if p["name"] == box.owner_pin[0]), box.owner_pin[1]
    else:
        pin = "1357"
        existing = [p for p in box.ok("GET", "/v1/people")["items"] if p["name"] == SIGN_IN_NAMES[role]]
        person = existing[0] if existing else box.ok("POST", "/v1/people", {"name": SIGN_IN_NAMES[role], "role": role, "pin": pin})
    started = context.request.post(box.url + "/v1/sessions", data={"person": person["id"], "pin": pin, "credential": "cookie"},
                                   headers={"Edgenode-CSRF": "1"})
    assert started.status == 201, started.text()


@pytest.fixture
def tablet(box, browser):
    """Factory: tablet(role='front_desk', viewport=TABLET, language='en', pair=True) → a page at the app."""
    contexts, problems, servers = [], [], []

    def open_tablet(role="front_desk", viewport=TABLET, language="en", pair=True, path="/", sign_in=True):
        context = browser.new_context(viewport=viewport, locale={"en": "en-GB", "ru": "ru-RU", "kk": "kk-KZ"}[language])
        contexts.append(context)
        context.add_init_script(f"try {{ if (!localStorage.getItem('edgenode.lang')) localStorage.setItem('edgenode.lang', '{language}'); }} catch (e) {{}}")
        base = box.url
        if DEV:
            port = int(os.environ.get("WEBAPP_DEV_PORT", "18600")) + len(servers)
            env = {**os.environ, "EDGENODE_URL": box.url, "EDGENODE_TOKEN": box.tokens.get(role, box.tokens["owner"])}
            servers.append(subprocess.Popen([sys.executable, os.path.join(REPO, "webapp", "tools", "devserver.py"), "--port", str(port)], env=env))
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(base), message="the development server")
        elif pair:
            pair_context(box, context, role)
            if sign_in and role != "kiosk":
                sign_in_context(box, context, role)
        if SOURCES and not DEV:
            serve_sources(context, box.url)
        page = context.new_page()
        guard(page, problems)
        page.goto(base + path)
        page.base_url = base
        return page

    yield open_tablet
    for context in contexts:
        context.close()
    for server in servers:
        server.kill()
    assert not problems, "\n".join(problems)


_bundles = {}


def _bundle(kind):
    """The app's sources bundled now (as devserver.py does), cached for the test run."""
    if kind not in _bundles:
        entry = "src/main.js" if kind == "js" else "src/app.css"
        environment = {**os.environ, "NODE_PATH": os.pathsep.join(filter(None, [os.environ.get("NODE_PATH"), "/usr/share/nodejs"]))}
        _bundles[kind] = subprocess.run(["esbuild", entry, "--bundle", "--format=esm", "--target=es2020", "--loader:.svg=dataurl"],
                                        cwd=os.path.join(REPO, "webapp"), check=True, capture_output=True, env=environment).stdout
    return _bundles[kind]


def serve_sources(context, box_url):
    """The box's pages (with its own headers: CSP and all) but the app of this checkout's sources,
    also at /r/<token> (a box without that route yet): for a box built before these screens."""
    def page(route, request):
        response = route.fetch(url=box_url + "/")
        html = open(os.path.join(REPO, "webapp", "index.html"), encoding="utf-8").read()
        html = html.replace('href="app.css"', 'href="/assets/dev-app.css"').replace('src="app.js"', 'src="/assets/dev-app.js"')
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "etag", "content-encoding")}
        route.fulfill(status=200, headers=headers, body=html)

    def asset(route, request):
        kind = "js" if request.url.endswith(".js") else "css"
        route.fulfill(status=200, content_type="text/javascript" if kind == "js" else "text/css", body=_bundle(kind))
    context.route(re.compile(re.escape(box_url) + r"/(r/[^/?#]+)?(\?.*)?$"), page)
    context.route(re.compile(re.escape(box_url) + r"/assets/dev-app\.(js|css)$"), asset)


def _answers(url):
    try:
        urllib.request.urlopen(url + "/", timeout=1).read()
        return True
    except Exception:
        return False


@pytest.fixture
def check_accessibility():
    from axe_playwright_python.sync_playwright import Axe
    axe = Axe()

    def check(page, name):
        results = axe.run(page)
        serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
        described = "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}" for v in serious)
        assert not serious, f"accessibility violations on {name}:\n{described}"
    return check


@pytest.fixture
def screenshot(request):
    os.makedirs(ARTIFACTS, exist_ok=True)

    def save(page, name):
        path = os.path.join(ARTIFACTS, f"{name}.png")
        page.screenshot(path=path, full_page=True)
        return path
    return save
