"""A stand-in for the box's money API (docs/money.md), for developing the money screens before the
box serves it: with WEBAPP_FAKE_MONEY=1, test_money.py routes the browser's money requests
(/v1/sales…, /v1/payments…, /v1/drawer…, /v1/z-reports…, /v1/money/…, /v1/receipts/…) here
through Playwright's request interception, and adds the money permissions to /v1/me. Everything
else (appointments, people, sessions, the live stream) is the real demo box.

It follows the contract of the brief and docs/money.md — the rounding rule, the balance, payment
states, approvals, caps, the drawer and Z figures — only as far as the screens need. It is not the
box: without WEBAPP_FAKE_MONEY the tests run against the real API, which wins where they differ.
"""
import datetime, json, os, re, threading, urllib.parse, uuid

RIGHTS = {
    "money.read": ["owner", "manager", "staff", "front_desk"],
    "money.take": ["owner", "manager", "staff", "front_desk"],
    "money.discount": ["owner", "manager"], "money.refund": ["owner", "manager"], "money.verify": ["owner", "manager"],
    "money.reports": ["owner", "manager"], "drawer.operate": ["owner", "manager", "front_desk"], "money.settings": ["owner"],
}
DENOMINATIONS = [2000000, 1000000, 500000, 200000, 100000, 50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100]
PROBLEM = "urn:edgenode:problem:"


def now():
    return datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=5))).replace(microsecond=0)


def rfc(moment):
    return moment.isoformat()


def rnd(numerator, denominator):
    """Half away from zero."""
    sign = -1 if numerator * denominator < 0 else 1
    n, d = abs(numerator), abs(denominator)
    return sign * ((2 * n + d) // (2 * d))


class Problem(Exception):
    def __init__(self, status, kind, detail="", **extra):
        super().__init__(kind)
        self.status, self.kind, self.detail, self.extra = status, kind, detail, extra


class FakeMoney:
    """One business's money ledger, shared by every tablet of a test (thread-safe)."""

    def __init__(self, box, pins):
        self.box, self.pins = box, pins            # pins: {person name: PIN} of approvers
        self.lock = threading.Lock()
        self.sales, self.payments, self.zs, self.anomalies = {}, {}, [], []
        self.movements = []
        self.session = {"id": str(uuid.uuid4()), "box": "box-1", "till": "main", "opened_at": rfc(now()), "opened_by": None,
                        "float_minor": 0, "currency": "KZT"}
        self.settings = {"branch": None, "currency": "KZT", "tax_rates": [{"id": str(uuid.uuid4()), "name": "НДС", "rate_bp": 1200, "included": True}],
                         "default_tax_rate": None, "vat_registered": False, "vat_number": "", "seller_name": "Atyrau Beauty", "seller_address": "Атырау",
                         "unverified_payment_cap_minor": 2000000, "unverified_box_cap_minor": 5000000, "unverified_deadline_hours": 24,
                         "methods": ["cash", "card", "kaspi_qr", "kaspi_static", "bank_transfer"]}
        self.settings["default_tax_rate"] = self.settings["tax_rates"][0]["id"]
        self.number = 0
        self.z_number = 0
        self.gateway_down = False

    # --- browser side --------------------------------------------------------------------------
    def attach(self, context, role, person_id=None):
        """Routes a browser context's money requests here (and adds the money rights to /v1/me)."""
        fake = self

        def handle(route, request):
            path = urllib.parse.urlparse(request.url).path
            if path == "/v1/me":
                response = route.fetch()
                document = response.json()
                document["permissions"] = sorted(set(document.get("permissions", [])) | {r for r, roles in RIGHTS.items() if role in roles})
                route.fulfill(response=response, body=json.dumps(document))
                return
            history = re.match(r"^/v1/clients/([^/]+)/history$", path)
            if history:
                # What the box will add (issue 16): what was actually paid, in all and per visit.
                response = route.fetch()
                document = response.json()
                with fake.lock:
                    document.update(fake.paid_history(history.group(1), document))
                route.fulfill(response=response, body=json.dumps(document))
                return
            if not re.match(r"^/v1/(sales|payments|drawer|z-reports|money|receipts)(/|$)", path):
                route.continue_()
                return
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(request.url).query))
            body = json.loads(request.post_data) if request.post_data else {}
            try:
                with fake.lock:
                    status, document = fake.dispatch(request.method, path, query, body, role, person_id)
                route.fulfill(status=status, content_type="application/json", body=json.dumps(document))
            except Problem as problem:
                route.fulfill(status=problem.status, content_type="application/problem+json",
                              body=json.dumps({"type": PROBLEM + problem.kind, "title": problem.kind, "status": problem.status, "detail": problem.detail, **problem.extra}))
        context.route(re.compile(r".*/v1/.*"), handle)

    # --- the API -------------------------------------------------------------------------------
    def can(self, role, right):
        return role in RIGHTS[right]

    def need(self, role, right):
        if not self.can(role, right):
            raise Problem(403, "forbidden", f"{right}")

    def approve(self, role, right, approval):
        if self.can(role, right):
            return None
        if not approval:
            raise Problem(403, "approval_required", f"needs {right}", right=right)
        people = {p["id"]: p for p in self.box.ok("GET", "/v1/people")["items"]}
        person = people.get(approval.get("person"))
        if not person or person["role"] not in RIGHTS[right] or self.pins.get(person["name"]) != approval.get("pin"):
            raise Problem(403, "approval_failed", "wrong person or PIN for the approval")
        return person["id"]

    def dispatch(self, method, path, query, body, role, person):
        parts = path.strip("/").split("/")[1:]
        if parts[0] == "money" and parts[1] == "settings":
            if method == "GET":
                self.need(role, "money.read")
                return 200, {**self.settings, "unverified_outstanding_minor": self.outstanding()}
            self.need(role, "money.settings")
            self.settings.update({k: v for k, v in body.items() if k in self.settings})
            return 200, {**self.settings, "unverified_outstanding_minor": self.outstanding()}
        if parts[0] == "money" and parts[1] == "anomalies":
            self.need(role, "money.reports")
            if len(parts) == 2:
                return 200, {"items": self.anomalies}
            anomaly = next(a for a in self.anomalies if a["id"] == parts[2])
            anomaly["resolved"] = {"at": rfc(now()), "by": person, "note": body["note"]}
            return 200, anomaly
        if parts[0] == "sales":
            if len(parts) == 1 and method == "POST":
                self.need(role, "money.take")
                return 201, self.create_sale(body, role, person)
            if len(parts) == 1:
                self.need(role, "money.read")
                items = list(self.sales.values())
                if "appointment" in query:
                    items = [s for s in items if query["appointment"] in s["appointments"]]
                return 200, {"items": [self.view(s) for s in items]}
            sale = self.sales.get(parts[1])
            if not sale:
                raise Problem(404, "not_found")
            if len(parts) == 2:
                return 200, self.view(sale)
            if parts[2] == "receipt":
                return 200, self.receipt(sale)
            if parts[2] == "payments":
                self.need(role, "money.take")
                return 201, self.pay(sale, body, role, person)
            if parts[2] == "void":
                self.approve(role, "money.refund", body.get("approval"))
                sale["voided"] = {"at": rfc(now()), "by": person, "reason": body["reason"]}
                return 200, self.view(sale)
        if parts[0] == "payments":
            if parts[1] == "unverified":
                items = [{**p, "sale_number": self.sales[p["sale"]]["number"]} for p in self.payments.values() if p["status"] == "unverified"]
                return 200, {"items": [self.pview(p) | {"sale_number": p["sale_number"]} for p in items]}
            payment = self.payments[parts[1]]
            if len(parts) == 2:
                return 200, self.pview(payment)
            action = parts[2]
            if action == "refund":
                self.approve(role, "money.refund", body.get("approval"))
                if body["amount_minor"] > self.refundable(payment):
                    raise Problem(422, "refund_exceeds_paid")
                refund = self.new_payment(payment["sale"], {"method": payment["method"], "amount_minor": body["amount_minor"]}, person, kind="refund")
                refund["reverses"], refund["reason"] = payment["id"], body["reason"]
                return 201, self.pview(refund)
            if action == "void":
                self.approve(role, "money.refund", body.get("approval"))
                payment["status"], payment["reason"] = "voided", body["reason"]
                return 200, self.pview(payment)
            if action == "verify":
                self.need(role, "money.verify")
                payment["status"] = body["outcome"]
                return 200, self.pview(payment)
            if action == "cancel":
                payment["status"] = "failed"
                return 200, self.pview(payment)
        if parts[0] == "drawer":
            if len(parts) == 1:
                self.need(role, "money.read")
                return 200, {"session": self.session, "x": self.report("x") if self.session else None, "denominations": DENOMINATIONS, "currency": "KZT"}
            self.need(role, "drawer.operate")
            if parts[1] == "open":
                self.session = {"id": str(uuid.uuid4()), "box": "box-1", "till": "main", "opened_at": rfc(now()), "opened_by": person,
                                "float_minor": body["float_minor"], "currency": "KZT"}
                self.movements = []
                return 201, {"session": self.session, "x": self.report("x")}
            if not self.session:
                raise Problem(409, "drawer_closed")
            if parts[1] == "movements":
                self.movements.append(body)
                return 201, {"id": str(uuid.uuid4()), **body}
            if parts[1] == "x-report":
                return 200, self.report("x")
            if parts[1] == "close":
                z = self.report("z")
                denominations = [{"value_minor": int(v), "count": c} for v, c in sorted(body["counted"].items(), key=lambda kv: -int(kv[0]))]
                total = sum(d["value_minor"] * d["count"] for d in denominations)
                self.z_number += 1
                z.update(id=str(uuid.uuid4()), number=self.z_number, closed_at=rfc(now()), closed_by=person,
                         counted={"denominations": denominations, "total_minor": total}, variance_minor=total - z["expected_cash_minor"])
                self.zs.append(z)
                self.session = None
                return 201, z
        if parts[0] == "z-reports":
            if len(parts) == 1:
                self.need(role, "money.reports")
                return 200, {"items": self.zs}
            return 200, next(z for z in self.zs if z["id"] == parts[1])
        if parts[0] == "receipts":
            sale = next((s for s in self.sales.values() if s["receipt_token"] == parts[1]), None)
            if not sale:
                raise Problem(404, "not_found")
            return 200, self.receipt(sale)
        raise Problem(404, "not_found", path)

    # --- the ledger ----------------------------------------------------------------------------
    def create_sale(self, body, role, person):
        if body.get("discount"):
            approved_by = self.approve(role, "money.discount", body.get("approval")) or person
        lines = []
        services = {s["id"]: s for s in self.box.ok("GET", "/v1/services")["items"]}
        for appointment_id in body.get("appointments", []):
            for other in self.sales.values():
                if appointment_id in other["appointments"] and not other.get("voided"):
                    raise Problem(409, "already_checked_out")
            appointment = self.box.ok("GET", f"/v1/appointments/{appointment_id}")
            for item in appointment["items"]:
                lines.append({"kind": "service", "ref": item["service"], "staff": item["staff"], "name": services[item["service"]]["names"].get("ru") or "service",
                              "quantity": 1, "unit_price_minor": item["price_minor"], "rate": self.settings["default_tax_rate"]})
        for line in body.get("lines", []):
            lines.append({"kind": "custom", "name": line["name"], "quantity": line["quantity"], "unit_price_minor": line["unit_price_minor"],
                          "rate": line.get("tax_rate") or self.settings["default_tax_rate"]})
        client = body.get("client")
        if not client and body.get("appointments"):
            client = self.box.ok("GET", f"/v1/appointments/{body['appointments'][0]}").get("client")
        gross = [l["quantity"] * l["unit_price_minor"] for l in lines]
        discount = 0
        if body.get("discount"):
            d = body["discount"]
            discount = d["amount_minor"] if "amount_minor" in d else rnd(sum(gross) * int(round(d["percent"] * 100)), 10000)
        parts = [discount * g // sum(gross) if sum(gross) else 0 for g in gross]
        for i in range(discount - sum(parts)):
            parts[i % len(parts)] += 1
        rates = {r["id"]: r for r in self.settings["tax_rates"]}
        out = []
        for line, g, part in zip(lines, gross, parts):
            net = g - part
            rate = rates.get(line.pop("rate"))
            tax = 0
            if rate:
                tax = rnd(net * rate["rate_bp"], 10000 + rate["rate_bp"]) if rate["included"] else rnd(net * rate["rate_bp"], 10000)
            total = net if not rate or rate["included"] else net + tax
            out.append({**line, "discount_minor": part, "net_minor": net, "tax_rate": rate, "tax_minor": tax, "total_minor": total})
        tips = body.get("tips", [])
        self.number += 1
        sale = {"id": str(uuid.uuid4()), "number": f"1-{self.number:05d}", "branch": "branch", "client": client, "appointments": body.get("appointments", []),
                "currency": "KZT", "created_at": rfc(now()), "created_by": person, "lines": out,
                "discount": {**body["discount"], "amount_minor": discount, "approved_by": approved_by} if body.get("discount") else None,
                "tips": tips, "subtotal_minor": sum(gross), "discount_minor": discount, "tax_minor": sum(l["tax_minor"] for l in out),
                "tips_minor": sum(t["amount_minor"] for t in tips), "fiscal": {"status": "not_required"}, "receipt_token": "".join("abcdefghijklmnopqrstuvwxyz234567"[b % 32] for b in os.urandom(26))}
        sale["total_minor"] = sum(l["total_minor"] for l in out) + sale["tips_minor"]
        self.sales[sale["id"]] = sale
        return self.view(sale)

    def counting(self, sale):
        return [p for p in self.payments.values() if p["sale"] == sale["id"] and p["kind"] == "payment" and p["status"] in ("settled", "verified", "unverified")]

    def view(self, sale):
        refunds = [p for p in self.payments.values() if p["sale"] == sale["id"] and p["kind"] == "refund"]
        paid = sum(p["amount_minor"] for p in self.counting(sale)) - sum(p["amount_minor"] for p in refunds)
        balance = sale["total_minor"] - paid
        state = "voided" if sale.get("voided") else "due" if balance > 0 else "paid" if balance == 0 else "overpaid"
        return {**sale, "paid_minor": paid, "refunded_minor": sum(p["amount_minor"] for p in refunds), "balance_minor": balance, "state": state,
                "payments": [self.pview(p) for p in self.payments.values() if p["sale"] == sale["id"]]}

    def refundable(self, payment):
        if payment["status"] not in ("settled", "verified", "unverified"):
            return 0
        return payment["amount_minor"] - sum(p["amount_minor"] for p in self.payments.values() if p.get("reverses") == payment["id"])

    def pview(self, payment):
        return {**payment, "refundable_minor": self.refundable(payment) if payment["kind"] == "payment" else 0}

    def paid_history(self, client, history):
        sales = [self.view(s) for s in self.sales.values() if s.get("client") == client and not s.get("voided")]
        paid = [{"appointment": a, "sale": s["id"], "sale_number": s["number"], "paid_minor": s["paid_minor"], "currency": "KZT", "state": s["state"]}
                for s in sales for a in s["appointments"]]
        return {"lifetime_paid": [{"amount_minor": sum(s["paid_minor"] for s in sales), "currency": "KZT"}], "visits_paid": paid}

    def seed_anomaly(self, sale, kind="double_checkout"):
        anomaly = {"id": str(uuid.uuid4()), "kind": kind, "sale": sale["id"], "appointment": (sale["appointments"] or [None])[0],
                   "payments": [p["id"] for p in sale["payments"]], "amount_minor": sale["total_minor"], "currency": "KZT", "detected_at": rfc(now())}
        self.anomalies.append(anomaly)
        return anomaly

    def outstanding(self):
        return sum(p["amount_minor"] for p in self.payments.values() if p["status"] == "unverified")

    def new_payment(self, sale_id, body, person, kind="payment"):
        payment = {"id": str(uuid.uuid4()), "sale": sale_id, "kind": kind, "method": body["method"], "amount_minor": body["amount_minor"], "currency": "KZT",
                   "tendered_minor": body.get("tendered_minor", 0), "change_minor": 0, "card_last4": body.get("card_last4", ""),
                   "approval_code": body.get("approval_code", ""), "reference": body.get("reference", ""), "status": "settled",
                   "created_at": rfc(now()), "created_by": person, "reason": "", "box": "box-1"}
        self.payments[payment["id"]] = payment
        return payment

    def pay(self, sale, body, role, person):
        view = self.view(sale)
        if body["amount_minor"] > view["balance_minor"]:
            raise Problem(422, "overpayment")
        if body["method"] == "cash" and not self.session:
            raise Problem(409, "drawer_closed")
        if body["method"] == "kaspi_static":
            cap = self.settings["unverified_payment_cap_minor"]
            if body["amount_minor"] > cap or self.outstanding() + body["amount_minor"] > self.settings["unverified_box_cap_minor"]:
                self.approve(role, "money.verify", body.get("approval"))
        payment = self.new_payment(sale["id"], body, person)
        if body["method"] == "cash":
            payment["change_minor"] = payment["tendered_minor"] - payment["amount_minor"]
        if body["method"] == "kaspi_static":
            payment["status"] = "unverified"
            payment["deadline"] = rfc(now() + datetime.timedelta(hours=self.settings["unverified_deadline_hours"]))
        if body["method"] == "kaspi_qr" and self.gateway_down:
            payment["status"], payment["qr"], payment["qr_error"] = "pending", None, "gateway_unavailable"
        elif body["method"] == "kaspi_qr":
            payment["status"] = "pending"
            payment["qr"] = {"token": f"https://qr.kaspi.kz/{payment['id']}", "expires_at": rfc(now() + datetime.timedelta(minutes=5)), "poll_interval_seconds": 1}
        return self.pview(payment)

    def receipt(self, sale):
        return {"sale": self.view(sale), "seller": {"name": self.settings["seller_name"], "address": self.settings["seller_address"], "phone": "", "vat_number": self.settings["vat_number"]},
                "vat_registered": self.settings["vat_registered"], "fiscal": sale["fiscal"], "not_fiscal": True, "branch_name": "Atyrau Beauty", "box": "box-1"}

    def report(self, kind):
        session = self.session
        cash = [p for p in self.payments.values() if p["method"] == "cash" and p["status"] in ("settled",)]
        cash_sales = sum(p["amount_minor"] for p in cash if p["kind"] == "payment")
        cash_refunds = sum(p["amount_minor"] for p in cash if p["kind"] == "refund")
        paid_in = sum(m["amount_minor"] for m in self.movements if m["kind"] == "paid_in")
        paid_out = sum(m["amount_minor"] for m in self.movements if m["kind"] == "paid_out")
        methods = {}
        for p in self.payments.values():
            if p["status"] in ("settled", "verified", "unverified"):
                row = methods.setdefault(p["method"], {"method": p["method"], "payments_minor": 0, "refunds_minor": 0, "net_minor": 0, "count": 0})
                row["payments_minor" if p["kind"] == "payment" else "refunds_minor"] += p["amount_minor"]
                row["net_minor"] += p["amount_minor"] if p["kind"] == "payment" else -p["amount_minor"]
                row["count"] += 1
        people = {s["id"]: s["name"] for s in self.box.ok("GET", "/v1/staff")["items"]}
        tips = {}
        for sale in self.sales.values():
            for tip in sale["tips"]:
                tips[tip["staff"]] = tips.get(tip["staff"], 0) + tip["amount_minor"]
        return {"kind": kind, "box": "box-1", "till": "main", "branch": "branch", "session_id": session["id"], "opened_at": session["opened_at"], "opened_by": session["opened_by"],
                "currency": "KZT", "float_minor": session["float_minor"], "cash_sales_minor": cash_sales, "cash_refunds_minor": cash_refunds,
                "paid_in_minor": paid_in, "paid_out_minor": paid_out, "expected_cash_minor": session["float_minor"] + cash_sales - cash_refunds + paid_in - paid_out,
                "methods": list(methods.values()), "refunds_minor": sum(p["amount_minor"] for p in self.payments.values() if p["kind"] == "refund"),
                "discounts_minor": sum(s["discount_minor"] for s in self.sales.values()), "tax_minor": sum(s["tax_minor"] for s in self.sales.values()),
                "tips": [{"staff": k, "name": people.get(k, k), "amount_minor": v} for k, v in tips.items()],
                "sales_count": len(self.sales), "visits_count": sum(len(s["appointments"]) for s in self.sales.values()), "voids_count": 0,
                "unverified": [self.pview(p) for p in self.payments.values() if p["status"] == "unverified"],
                "unfiscalised": [], "over_midnight": False}
