"""The retail screens of issue 18 in a real Chromium against a real demo box (docs/retail.md): a
product sold with a barcode scanner (a keyboard wedge: digits typed at speed, then Enter, with no
field focused and in the search field) down to the stock level; a coupon at its limit refused with
the reason on its field; a sale paid partly with points and partly with a gift card; a stocktake
whose differences are shown before it is saved; a product with a bad barcode refused on the field;
a transfer sent to another branch and booked in there; products returned against a sale and then
refunded; a gift card sold for a client at checkout and shown on their profile with their points;
a gift card sold on one real box and refused on another with `held_elsewhere`, the move asked for
from the payment form, done by the first box, and the payment then taken (twoboxes.py); and the new
screens in the three languages.

Set-up goes through the API with the owner's token; what the test checks is done on the screens."""
import re, urllib.parse

import pytest
from playwright.sync_api import expect

from conftest import DEV, SOURCES, TABLET, guard, pair_context, serve_sources, sign_in_context, wait_for
from twoboxes import Boxes

PIN = "1357"
MANAGER = "Марат Ахметов"
GOOD_BARCODE = "4006381333931"     # EAN-13 with a valid check digit
BAD_BARCODE = "4006381333932"      # the same with a wrong one


@pytest.fixture
def retail(box):
    if not any(p["name"] == MANAGER for p in box.ok("GET", "/v1/people")["items"]):
        box.ok("POST", "/v1/people", {"name": MANAGER, "role": "manager", "pin": PIN})
    return box


def home_branch(box):
    home = box.ok("GET", "/v1/me")["home_branch"]
    return next(b for b in box.ok("GET", "/v1/branches")["items"] if b["id"] == home)


def make_product(box, name="Шампунь Loreal", barcode=GOOD_BARCODE, price=450000, stock=10, sku="SH-1"):
    """A product (names ru/en) with `stock` received at the home branch."""
    product = box.ok("POST", "/v1/products", {"names": {"ru": name, "en": name + " (en)"}, "sku": sku, "barcode": barcode,
                                              "category": "Hair", "price_minor": price, "tax_rate": "", "active": True})
    if stock:
        box.ok("POST", "/v1/stock/receipts", {"branch": home_branch(box)["id"], "supplier": "Test supplier",
                                              "lines": [{"product": product["id"], "quantity": stock, "unit_cost_minor": 200000}], "note": ""})
    return product


def level(box, product_id, branch_id=None):
    items = box.ok("GET", f"/v1/stock?branch={branch_id or home_branch(box)['id']}")["items"]
    found = [i for i in items if (i.get("product_id") or i.get("product")) == product_id]
    return found[0]["quantity"] if found else 0


def open_at(tablet, path, role="front_desk", language="en"):
    page = tablet(role=role, language=language)
    page.locator(".topbar").wait_for()
    page.evaluate("path => { location.hash = '#' + path; }", path)
    page.locator("main#main h1").first.wait_for()
    return page


def digits(text):
    return re.sub(r"[^\d]", "", text)


def pay_by_card(page, amount_text=None):
    page.locator("[data-testid=method-card]").click()
    if amount_text is not None:
        page.locator("[data-testid=pay-amount]").fill(amount_text)
    page.locator("[data-testid=pay-last4]").fill("4242")
    page.locator("[data-testid=take-payment]").click()


# --- the barcode scanner ----------------------------------------------------------------------------

def test_a_product_is_sold_with_a_scanned_barcode_and_its_stock_goes_down(tablet, retail, check_accessibility, screenshot):
    box = retail
    product = make_product(box, stock=10)
    page = open_at(tablet, "/checkout")
    expect(page.locator("[data-testid=checkout-product-search]")).to_be_visible()
    # A keyboard wedge with no field focused: the digits at speed, then Enter.
    page.locator("main#main h1").first.click()
    page.keyboard.type(GOOD_BARCODE, delay=0)
    page.keyboard.press("Enter")
    line = page.locator(f"[data-testid=product-line][data-product='{product['id']}']")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("Шампунь Loreal")
    expect(line.locator("[data-testid=product-quantity]")).to_have_value("1")
    # The same scanner typing into the search field: one more of it.
    page.locator("[data-testid=checkout-product-search]").click()
    page.keyboard.type(GOOD_BARCODE, delay=0)
    page.keyboard.press("Enter")
    expect(line.locator("[data-testid=product-quantity]")).to_have_value("2")
    expect(page.locator("[data-testid=checkout-product-search]")).to_have_value("")
    screenshot(page, "checkout-retail-en")
    check_accessibility(page, "retail checkout")
    page.locator("[data-testid=create-sale]").click()
    expect(page).to_have_url(re.compile(r"#/sales/[0-9a-f-]+$"))
    sale_id = page.url.split("/sales/")[1]
    expect(page.locator("[data-testid=sale-line]")).to_contain_text("Шампунь Loreal")
    sale = box.ok("GET", f"/v1/sales/{sale_id}")
    assert [(l["kind"], l["quantity"]) for l in sale["lines"]] == [("product", 2)]
    pay_by_card(page)
    expect(page).to_have_url(re.compile(r"#/sales/" + sale_id + "/receipt$"))
    assert level(box, product["id"]) == 8


def test_an_out_of_stock_product_is_refused_and_a_manager_overrides_it(tablet, retail):
    box = retail
    product = make_product(box, stock=0)
    page = open_at(tablet, "/checkout")
    page.locator("main#main h1").first.click()
    page.keyboard.type(GOOD_BARCODE, delay=0)
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=product-line]")).to_have_count(1)
    page.locator("[data-testid=create-sale]").click()
    refusal = page.locator("[data-testid=stock-refusal]")
    expect(refusal).to_contain_text("Not enough in stock")
    assert level(box, product["id"]) == 0           # nothing was sold
    # A manager approves with their PIN: the sale goes through below zero.
    refusal.locator("[data-testid=stock-override]").click()
    dialog = page.locator("[data-testid=approval-dialog]")
    dialog.locator("[data-testid=approver]", has_text=MANAGER).click()
    dialog.locator("[data-testid=approval-pin]").fill(PIN)
    dialog.locator("[data-testid=approve]").click()
    expect(page).to_have_url(re.compile(r"#/sales/[0-9a-f-]+$"))
    assert level(box, product["id"]) == -1


# --- coupons ----------------------------------------------------------------------------------------

def test_a_coupon_at_its_limit_is_refused_with_the_reason_on_its_field(tablet, retail):
    box = retail
    product = make_product(box, stock=5)
    coupon = box.ok("POST", "/v1/coupons", {"code": "ONCE-10", "name": "Once", "kind": "percent", "value": 10, "total_limit": 1,
                                   "per_client_limit": 0, "min_spend_minor": 0, "active": True, "allotments": {}})
    used = box.ok("POST", "/v1/sales", {"lines": [{"name": "Tea", "quantity": 1, "unit_price_minor": 100000}], "tips": [], "appointments": [], "coupon": "ONCE-10"})
    assert used["discount_minor"] > 0
    page = open_at(tablet, "/checkout")
    page.locator("main#main h1").first.click()
    page.keyboard.type(GOOD_BARCODE, delay=0)
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=product-line]")).to_have_count(1)
    page.locator("[data-testid=coupon-code]").fill("once-10")
    page.locator("[data-testid=create-sale]").click()
    coupon_field = page.locator("[data-testid=coupon-code]")
    expect(coupon_field).to_have_attribute("aria-invalid", "true")
    error = page.locator(".field", has=coupon_field).locator(".field-error")
    expect(error).to_contain_text("Coupon refused")
    expect(error).to_contain_text(re.compile("limit", re.I))
    expect(page).to_have_url(re.compile(r"#/checkout"))
    assert box.ok("GET", f"/v1/coupons/{coupon['id']}")["uses_known"] == 1
    assert level(box, product["id"]) == 5           # no sale was made


# --- points and gift cards --------------------------------------------------------------------------

def test_a_sale_is_paid_partly_with_points_and_partly_with_a_gift_card(tablet, retail, check_accessibility, screenshot):
    box = retail
    product = make_product(box, price=1000000, stock=5)      # 10 000 ₸
    box.ok("PUT", "/v1/loyalty/rules", {"enabled": True, "earn_points": 1, "earn_per_minor": 100, "visit_points": 0, "service_bonus": [],
                                        "point_value_minor": 100, "expiry_days": 0, "max_redeem_percent": 100})
    client = box.ok("POST", "/v1/clients", {"name": "Айгерим Points", "phone": "+77015550101"})
    # The client earns points: a 5 000 ₸ sale paid by card → 5 000 points at this box.
    earned = box.ok("POST", "/v1/sales", {"client": client["id"], "lines": [{"name": "Earlier visit", "quantity": 1, "unit_price_minor": 500000}], "tips": [], "appointments": []})
    box.ok("POST", f"/v1/sales/{earned['id']}/payments", {"method": "card", "amount_minor": earned["total_minor"], "card_last4": "1111"})
    # A gift card of 3 000 ₸ sold and paid.
    card_sale = box.ok("POST", "/v1/sales", {"gift_cards": [{"amount_minor": 300000}], "lines": [], "tips": [], "appointments": []})
    box.ok("POST", f"/v1/sales/{card_sale['id']}/payments", {"method": "card", "amount_minor": card_sale["total_minor"], "card_last4": "2222"})
    card_id = next(l.get("gift_card") or l.get("ref") for l in box.ok("GET", f"/v1/sales/{card_sale['id']}")["lines"] if l["kind"] == "gift_card")
    code = box.ok("GET", f"/v1/gift-cards/{card_id}")["code"].replace(" ", "")
    points_before = box.ok("GET", f"/v1/clients/{client['id']}/loyalty")["points"]["here"]
    assert points_before >= 1000

    sale = box.ok("POST", "/v1/sales", {"client": client["id"], "products": [{"product": product["id"], "quantity": 1}], "lines": [], "tips": [], "appointments": []})
    page = open_at(tablet, f"/sales/{sale['id']}")
    # Points: what the client holds here is shown; 1 000 ₸ of it (1 000 points).
    page.locator("[data-testid=method-points]").click()
    expect(page.locator("[data-testid=points-here]")).to_contain_text(f"{points_before} points at this box")
    page.locator("[data-testid=pay-amount]").fill("1000")
    page.locator("[data-testid=take-payment]").click()
    expect(page.locator("[data-testid=payment][data-method=points]")).to_have_count(1)
    # A gift card: the code typed, its balance shown, 3 000 ₸ of it.
    page.locator("[data-testid=method-gift_card]").click()
    page.locator("[data-testid=pay-gift-card-code]").fill(" ".join(code[i:i + 4] for i in range(0, len(code), 4)).lower())
    page.locator("[data-testid=check-gift-card]").click()
    expect(page.locator("[data-testid=gift-card-balance]")).to_contain_text("Active")
    wait_for(lambda: "3000" in digits(page.locator("[data-testid=gift-card-balance]").inner_text()), message="the card's balance")
    page.locator("[data-testid=pay-amount]").fill("3000")
    screenshot(page, "sale-gift-card-en")
    check_accessibility(page, "sale with a gift-card payment")
    page.locator("[data-testid=take-payment]").click()
    expect(page.locator("[data-testid=payment][data-method=gift_card]")).to_have_count(1)
    # The rest by card → paid.
    pay_by_card(page)
    expect(page).to_have_url(re.compile(r"#/sales/" + sale["id"] + "/receipt$"))
    methods = sorted(p["method"] for p in box.ok("GET", f"/v1/sales/{sale['id']}")["payments"] if p["kind"] == "payment")
    assert methods == ["card", "gift_card", "points"]
    assert box.ok("GET", f"/v1/gift-cards/{card_id}")["balance"]["here"] == 0


# --- stock --------------------------------------------------------------------------------------------

def test_a_stocktake_shows_the_differences_before_it_is_saved_and_changes_the_levels(tablet, retail, screenshot):
    box = retail
    product = make_product(box, stock=10)
    other = make_product(box, name="Маска для волос", barcode="", sku="MS-1", stock=4)
    page = open_at(tablet, "/stock/stocktake")
    page.locator("[data-testid=count-product]").select_option(product["id"])
    page.locator("[data-testid=count][data-product='%s'] [data-testid=counted]" % product["id"]).fill("7")
    page.locator("[data-testid=count-product]").select_option(other["id"])
    page.locator("[data-testid=count][data-product='%s'] [data-testid=counted]" % other["id"]).fill("4")
    page.locator("[data-testid=review-stocktake]").click()
    difference = page.locator(f"[data-testid=difference][data-product='{product['id']}'] [data-testid=difference-value]")
    expect(difference).to_have_text("-3")
    expect(page.locator(f"[data-testid=difference][data-product='{other['id']}'] [data-testid=difference-value]")).to_have_text("0")
    screenshot(page, "stocktake-en")
    assert level(box, product["id"]) == 10          # nothing saved yet
    page.locator("[data-testid=save-stocktake]").click()
    expect(page).to_have_url(re.compile(r"#/stock/levels"))
    expect(page.locator(f"[data-testid=level][data-product='{product['id']}'] [data-testid=level-quantity]")).to_have_text("7")
    assert level(box, product["id"]) == 7
    assert level(box, other["id"]) == 4


def test_a_product_with_a_bad_barcode_is_refused_on_the_field(tablet, retail, screenshot):
    box = retail
    page = open_at(tablet, "/products", role="owner")
    page.locator("[data-testid=add-product]").click()
    page.locator("[data-testid=product-name-ru]").fill("Гель для душа")
    page.locator("[data-testid=product-price]").fill("1500")
    page.locator("[data-testid=product-barcode]").fill(BAD_BARCODE)
    page.locator("[data-testid=save-product]").click()
    barcode = page.locator("[data-testid=product-barcode]")
    expect(barcode).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".field", has=barcode).locator(".field-error")).to_contain_text("check digit")
    assert [p for p in box.ok("GET", "/v1/products?q=" + urllib.parse.quote("Гель для душа"))["items"] if p["names"].get("ru") == "Гель для душа"] == []
    barcode.fill(GOOD_BARCODE)
    expect(barcode).not_to_have_attribute("aria-invalid", "true")
    page.locator("[data-testid=save-product]").click()
    expect(page.locator("[data-testid=product]", has_text="Гель для душа")).to_have_count(1)
    assert [p["names"]["ru"] for p in box.ok("GET", "/v1/products")["items"] if p["barcode"] == GOOD_BARCODE] == ["Гель для душа"]


def test_a_transfer_is_sent_to_another_branch_and_booked_in_there(tablet, retail):
    box = retail
    home = home_branch(box)
    other = box.ok("POST", "/v1/branches", {"name": "Филиал Самал", "time_zone": home["time_zone"], "currency": home["currency"],
                                            "opening_hours": {"mon": [["09:00", "18:00"]]}})
    product = make_product(box, stock=10)
    page = open_at(tablet, "/stock/transfers", role="owner")
    form = page.locator("[data-testid=transfer-form]")
    form.locator("[data-testid=transfer-to]").select_option(other["id"])
    form.locator("[data-testid=line-product]").select_option(product["id"])
    form.locator("[data-testid=line-quantity]").fill("3")
    form.locator("[data-testid=send-transfer]").click()
    sent_id = wait_for(lambda: next((tr["id"] for tr in box.ok("GET", f"/v1/stock/transfers?branch={other['id']}")["items"]), None), message="the transfer")
    sent = page.locator(f"[data-testid=transfer][data-id='{sent_id}']")
    expect(sent).to_have_attribute("data-direction", "out")
    expect(sent.locator("[data-testid=transfer-state]")).to_have_text("In transit")
    assert level(box, product["id"]) == 7
    # At the receiving branch: in transit until booked in.
    page.locator("[data-testid=stock-branch]").select_option(other["id"])
    incoming = page.locator(f"[data-testid=transfer][data-id='{sent_id}']")
    expect(incoming).to_have_attribute("data-direction", "in")
    expect(incoming.locator("[data-testid=transfer-state]")).to_have_text("In transit")
    assert level(box, product["id"], other["id"]) == 0
    incoming.locator("[data-testid=book-in]").click()
    expect(incoming.locator("[data-testid=transfer-state]")).to_have_text("Booked in")
    expect(incoming.locator("[data-testid=book-in]")).to_have_count(0)
    assert level(box, product["id"], other["id"]) == 3


# --- languages ------------------------------------------------------------------------------------------

TITLES = {
    "ru": {"products": "Товары", "stock": "Склад", "checkout": "Товары", "nav": "Склад"},
    "kk": {"products": "Тауарлар", "stock": "Қойма", "checkout": "Тауарлар", "nav": "Қойма"},
    "en": {"products": "Products", "stock": "Stock", "checkout": "Products", "nav": "Stock"},
}


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_the_retail_screens_render_in_each_language(tablet, retail, language, check_accessibility, screenshot):
    box = retail
    product = make_product(box, stock=3)
    page = open_at(tablet, "/products", role="owner", language=language)
    titles = TITLES[language]
    expect(page.locator("[data-testid=nav-stock]")).to_have_text(titles["nav"])
    expect(page.locator("main#main h1")).to_have_text(titles["products"])
    expect(page.locator(f"[data-testid=product][data-id='{product['id']}']")).to_have_count(1)
    screenshot(page, f"products-{language}")
    check_accessibility(page, f"products ({language})")
    page.evaluate("() => { location.hash = '#/stock/levels'; }")
    expect(page.locator("main#main h1")).to_have_text(titles["stock"])
    expect(page.locator(f"[data-testid=level][data-product='{product['id']}']")).to_have_count(1)
    screenshot(page, f"stock-{language}")
    check_accessibility(page, f"stock ({language})")
    page.evaluate("() => { location.hash = '#/checkout'; }")
    expect(page.locator("main#main h2", has_text=titles["checkout"])).to_have_count(1)
    screenshot(page, f"checkout-retail-{language}")
    page.evaluate("() => { location.hash = '#/manage/coupons'; }")
    expect(page.locator("[data-testid=add-coupon]")).to_be_visible()
    screenshot(page, f"coupons-{language}")
    check_accessibility(page, f"coupons ({language})")
    # No text of the app is left as its key.
    body = page.locator("body").inner_text()
    assert not re.search(r"\bretail\.[a-z_.]+\b", body), body


# --- returns, gift cards sold, the client's loyalty -----------------------------------------------------

def test_products_are_returned_against_a_sale_then_refunded(tablet, retail):
    box = retail
    product = make_product(box, stock=5)
    sale = box.ok("POST", "/v1/sales", {"products": [{"product": product["id"], "quantity": 2}], "lines": [], "tips": [], "appointments": []})
    box.ok("POST", f"/v1/sales/{sale['id']}/payments", {"method": "card", "amount_minor": sale["total_minor"], "card_last4": "4242"})
    assert level(box, product["id"]) == 3
    page = open_at(tablet, f"/sales/{sale['id']}", role="owner")
    page.locator("[data-testid=return-products]").click()
    form = page.locator("[data-testid=return-form]")
    form.locator("[data-testid=return-quantity]").fill("3")
    form.locator("[data-testid=return-reason]").fill("Client changed their mind")
    form.locator("[data-testid=confirm-return]").click()
    expect(form.locator(".field-error").first).to_contain_text("0 to 2")    # at most what was sold
    form.locator("[data-testid=return-quantity]").fill("1")
    form.locator("[data-testid=confirm-return]").click()
    # The refund of what the returned product cost opens, its amount filled in.
    amount = page.locator("[data-testid=refund-amount]")
    expect(amount).to_be_visible()
    assert level(box, product["id"]) == 4
    assert digits(amount.input_value()) == digits(str(sale["total_minor"] // 2 // 100))
    page.locator("[data-testid=refund-reason]").fill("Returned one")
    page.locator("[data-testid=confirm-refund]").click()
    expect(page.locator("[data-testid=sale-refunded]")).to_be_visible()
    assert box.ok("GET", f"/v1/sales/{sale['id']}")["refunded_minor"] == sale["total_minor"] // 2


def test_a_gift_card_sold_for_a_client_shows_on_their_profile_with_their_points(tablet, retail):
    box = retail
    box.ok("PUT", "/v1/loyalty/rules", {"enabled": True, "earn_points": 1, "earn_per_minor": 100, "visit_points": 0, "service_bonus": [],
                                        "point_value_minor": 100, "expiry_days": 0, "max_redeem_percent": 100})
    client = box.ok("POST", "/v1/clients", {"name": "Сауле Картова", "phone": "+77015550202"})
    page = open_at(tablet, "/checkout")
    page.locator("[data-testid=sale-client-search]").fill("Сауле")
    page.locator("[data-testid=client-result]", has_text="Сауле Картова").click()
    expect(page.locator("[data-testid=sale-client]")).to_contain_text("Сауле Картова")
    page.locator("[data-testid=gift-card-amount]").fill("2000")
    page.locator("[data-testid=add-gift-card]").click()
    expect(page.locator("[data-testid=gift-card-line]")).to_have_count(1)
    page.locator("[data-testid=create-sale]").click()
    expect(page).to_have_url(re.compile(r"#/sales/[0-9a-f-]+$"))
    sale_id = page.url.split("/sales/")[1]
    pay_by_card(page)
    expect(page).to_have_url(re.compile(r"#/sales/" + sale_id + "/receipt$"))
    cards = box.ok("GET", f"/v1/gift-cards?client={client['id']}")["items"]
    assert [(c["initial_minor"], c["state"]) for c in cards] == [(200000, "active")]
    page.evaluate("id => { location.hash = '#/clients/' + id; }", client["id"])
    loyalty = page.locator("[data-testid=client-loyalty]")
    expect(loyalty.locator("[data-testid=client-gift-card]")).to_have_count(1)
    expect(loyalty.locator("[data-testid=client-gift-card]")).to_contain_text("Active")
    points = box.ok("GET", f"/v1/clients/{client['id']}/loyalty")["points"]
    expect(loyalty.locator("[data-testid=points-here]")).to_have_text(str(points["here"]))
    expect(loyalty.locator("[data-testid=points-total]")).to_have_text(str(points["total"]))


@pytest.fixture
def boxes(tmp_path):
    started = Boxes(str(tmp_path))
    yield started
    started.stop()


@pytest.mark.skipif(DEV, reason="runs real boxes that sync")
def test_a_gift_card_held_by_another_box_is_moved_on_request_and_then_taken(boxes, browser):
    """Two real boxes of one business (twoboxes.py): a card sold on A is held by A; B refuses it with
    held_elsewhere, its payment form asks A to move it, A does when it sees the request, and B then
    takes the payment."""
    problems, contexts = [], []
    try:
        boxes.start_b()
        boxes.start_a(with_peer=True)
        card_sale = boxes.a.ok("POST", "/v1/sales", {"gift_cards": [{"amount_minor": 300000}], "lines": [], "tips": [], "appointments": []})
        boxes.a.ok("POST", f"/v1/sales/{card_sale['id']}/payments", {"method": "card", "amount_minor": card_sale["total_minor"], "card_last4": "2222"})
        card_id = next(l.get("gift_card") or l.get("ref") for l in boxes.a.ok("GET", f"/v1/sales/{card_sale['id']}")["lines"] if l["kind"] == "gift_card")
        code = boxes.a.ok("GET", f"/v1/gift-cards/{card_id}")["code"].replace(" ", "")
        wait_for(lambda: boxes.b.api("GET", f"/v1/gift-cards/{card_id}")[0] == 200
                 and boxes.b.ok("GET", f"/v1/gift-cards/{card_id}")["state"] == "active", timeout=60, message="box B to know the paid card")
        assert boxes.b.ok("GET", f"/v1/gift-cards/{card_id}")["balance"]["here"] == 0
        sale = boxes.b.ok("POST", "/v1/sales", {"lines": [{"name": "Hair mask", "quantity": 1, "unit_price_minor": 500000}], "tips": [], "appointments": []})

        context = browser.new_context(viewport=TABLET, locale="en-GB")
        contexts.append(context)
        context.add_init_script("try { localStorage.setItem('edgenode.lang', 'en'); } catch (e) {}")
        pair_context(boxes.b, context, "front_desk", name="Tablet B")
        sign_in_context(boxes.b, context, "front_desk")
        if SOURCES:
            serve_sources(context, boxes.b.url)
        page = context.new_page()
        guard(page, problems)
        page.goto(f"{boxes.b.url}/#/sales/{sale['id']}")
        page.locator("[data-testid=method-gift_card]").click()
        page.locator("[data-testid=pay-gift-card-code]").fill(code)
        page.locator("[data-testid=pay-amount]").fill("3000")
        page.locator("[data-testid=take-payment]").click()
        ask = page.locator("[data-testid=ask-move]")
        expect(ask).to_be_visible()
        ask.click()
        expect(page.locator("[data-testid=move-asked]")).to_be_visible()
        # A sees the request and moves the card's balance to B; then B takes the payment.
        wait_for(lambda: boxes.b.ok("GET", f"/v1/gift-cards/{card_id}")["balance"]["here"] == 300000, timeout=60, message="box A to move the card to B")
        page.locator("[data-testid=take-payment]").click()
        expect(page.locator("[data-testid=payment][data-method=gift_card]")).to_have_count(1)
        assert boxes.b.ok("GET", f"/v1/gift-cards/{card_id}")["balance"]["here"] == 0
        assert not problems, "\n".join(problems)
    finally:
        for context in contexts:
            context.close()
