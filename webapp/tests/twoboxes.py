"""Two boxes of one business on loopback (127.0.0.1 and 127.0.0.2, so that each has its own
cookies in the browser), syncing directly with `sync.peers` (no mDNS): box A is made with
`edgenode init`, box B with `keygen` + `certify` on A + `join --certificate`. A can be restarted
with or without B as its peer, to keep the two apart while both take bookings and to bring them
together again."""
import json, os, signal, socket, subprocess, time

from conftest import BINARY, Box, wait_for

WEEK = {day: [["09:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def free_port(host):
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def run(*arguments):
    result = subprocess.run([BINARY, *arguments], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"edgenode {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Boxes:
    def __init__(self, root):
        self.root = root
        self.a_dir, self.b_dir = os.path.join(root, "a"), os.path.join(root, "b")
        self.a_host, self.b_host = "127.0.0.1", "127.0.0.2"
        self.a_port, self.b_port = free_port(self.a_host), free_port(self.b_host)
        run("init", "--data-dir", self.a_dir, "--branch", "Atyrau Central", "--time-zone", "Asia/Atyrau", "--owner-name", "Aigerim")
        self.branch_id = json.loads(run("status", "--data-dir", self.a_dir, "--json"))["branch_id"]
        key = run("keygen", "--data-dir", self.b_dir).strip().splitlines()[-1].strip()
        run("certify", "--data-dir", self.a_dir, "--public-key", key, "--branch", self.branch_id, "--out", os.path.join(root, "b.cert"))
        run("join", "--certificate", os.path.join(root, "b.cert"), "--data-dir", self.b_dir)
        self.a = None
        self.b = None

    def _serve(self, directory, host, port, peers):
        environment = {**os.environ, "EDGENODE_DISCOVERY_ENABLED": "false", "EDGENODE_SYNC_PEERS": ",".join(peers)}
        environment = {k: v for k, v in environment.items() if not k.startswith("WEBAPP_")}
        log = open(os.path.join(self.root, f"{os.path.basename(directory)}.log"), "a")
        process = subprocess.Popen([BINARY, "serve", "--data-dir", directory, "--bind", host, "--port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
        token = open(os.path.join(directory, "console.token")).read().strip()
        box = Box(process, f"http://{host}:{port}", {"owner": token}, None, [])
        wait_for(lambda: _ready(box) or process.poll() is not None, timeout=60, message=f"{directory} to serve")
        assert process.poll() is None, open(log.name).read()
        return box

    def start_a(self, with_peer):
        if self.a:
            self.a.stop()
        self.a = self._serve(self.a_dir, self.a_host, self.a_port, [f"{self.b_host}:{self.b_port}"] if with_peer else [])
        return self.a

    def start_b(self):
        self.b = self._serve(self.b_dir, self.b_host, self.b_port, [])
        return self.b

    def stop(self):
        for box in (self.a, self.b):
            if box:
                box.stop()

    def seed_catalogue(self):
        """On A: the branch open every day 09–20, a stylist and a one-hour haircut she does."""
        branch = self.a.ok("GET", "/v1/branches")["items"][0]
        self.a.ok("PUT", f"/v1/branches/{branch['id']}", {**{k: branch[k] for k in ("name", "time_zone", "currency", "region")}, "opening_hours": WEEK})
        service = self.a.ok("POST", "/v1/services", {"names": {"ru": "Стрижка", "kk": "Шаш қию", "en": "Haircut"}, "category": "hair",
                                                     "duration_minutes": 60, "price": {"amount_minor": 500000, "currency": "KZT"}})
        staff = self.a.ok("POST", "/v1/staff", {"name": "Динара Касымова", "schedule": WEEK})
        self.a.ok("PUT", f"/v1/staff/{staff['id']}/services/{service['id']}", {})
        return branch, service, staff


def _ready(box):
    try:
        status, _ = box.api("GET", "/v1/me")
        return status == 200
    except OSError:
        return False
