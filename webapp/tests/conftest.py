"""Browser tests of the web app: a real `edgenode serve` and Debian's Chromium driven by
Playwright for Python (never `playwright install`: the browser is /usr/bin/chromium).

Fixtures:
- `box`: a fresh demo box (`edgenode serve --demo --port 0`) with its device tokens and the
  owner's PIN; `box.api(method, path, body, token=...)` calls its API directly (test set-up).
- `tablet(role=..., viewport=..., language=...)`: a browser context paired with the box for that
  role the way a tablet pairs (a pairing request, approved with the owner's token, claimed with
  `credential: cookie`), opened at the app. Every page of it fails its test on a Content-Security-
  Policy violation or an uncaught script error.
- `check_accessibility(page, name)`: axe-core (axe-playwright-python) on the page; no serious or
  critical violation.
- `screenshot(page, name)`: saves a PNG under the artefacts folder ($WEBAPP_ARTIFACTS, default
  .build/webapp-artifacts).

WEBAPP_BINARY names the edgenode binary (default .build/debug/edgenode). With
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


def start_box(arguments=("serve", "--demo", "--port", "0"), environment=None):
    """Starts the binary and reads its demo banner (URL, device tokens, owner PIN)."""
    assert os.path.exists(BINARY), f"build edgenode first ({BINARY} is missing)"
    process = subprocess.Popen([BINARY, *arguments], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(environment or {})}, start_new_session=True)
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


@pytest.fixture
def tablet(box, browser):
    """Factory: tablet(role='front_desk', viewport=TABLET, language='en', pair=True) → a page at the app."""
    contexts, problems, servers = [], [], []

    def open_tablet(role="front_desk", viewport=TABLET, language="en", pair=True, path="/"):
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
