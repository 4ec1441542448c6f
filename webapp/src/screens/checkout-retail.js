// The retail part of checkout (docs/retail.md): products added by a barcode scanner (a keyboard
// wedge: digits typed fast, then Enter — caught anywhere on the screen when no field has the focus,
// and in the product search field) or by search, with quantities; gift cards sold (amount, an
// optional pre-printed code, for a client); a coupon code; and the client of a sale with no
// appointment. The box prices everything; the screen shows an estimate.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { state } from '../store.js';
import { button, field, alertBox, showProblem, emptyState } from '../ui.js';
import { money, readAmount } from '../money.js';
import { section } from './manage-common.js';
import { productName, looksLikeBarcode, scannerCapture, stockOf } from './retail-common.js';

export function retailPart(options = {}) {
    const onchange = options.onchange || (() => {});
    const lines = [];           // {product, quantity (field)}
    const cards = [];           // {amount_minor, code, client}
    const alert = alertBox();
    alert.dataset.testid = 'retail-alert';
    const linesArea = h('div', { dataset: { testid: 'product-lines' } });
    const results = h('ul', { class: 'list results', dataset: { testid: 'product-results' } });
    const search = field({ label: t('retail.checkout.search'), name: 'product_search', placeholder: t('retail.checkout.search_hint') });
    search.control.type = 'search';
    search.control.dataset.testid = 'checkout-product-search';
    let timer = null;
    search.control.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(find, 250); });
    search.control.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter') return;
        event.preventDefault();
        clearTimeout(timer);
        const text = search.control.value.trim();
        if (looksLikeBarcode(text)) { search.control.value = ''; mount(results); scanned(text); } else find();
    });

    async function find() {
        const q = search.control.value.trim();
        if (!q) { mount(results); return; }
        try {
            const items = ((await api.get('/v1/products', { q, branch: state.branch && state.branch.id })).items || []).filter((p) => p.active !== false);
            mount(results, items.length ? items.slice(0, 20).map((p) => h('li', null, button(
                `${productName(p)} · ${money(p.price_minor)}${stockOf(p) === null ? '' : ` · ${t('retail.checkout.in_stock', { count: stockOf(p) })}`}`,
                () => { add(p); search.control.value = ''; mount(results); search.control.focus(); }, { dataset: { testid: 'product-result' } })))
                : h('li', { class: 'muted' }, t('retail.products.none')));
        } catch (error) { showProblem(alert, error); }
    }

    /** What the scanner typed: the product with that barcode, one more of it. */
    async function scanned(code) {
        try {
            const found = (await api.get('/v1/products', { barcode: code, branch: state.branch && state.branch.id })).items || [];
            if (!found.length) { showProblem(alert, { kind: 'local', detail: t('retail.scan.unknown', { code }) }); return; }
            showProblem(alert, null);
            add(found[0]);
        } catch (error) {
            showProblem(alert, error.kind === 'not_found' ? { kind: 'local', detail: t('retail.scan.unknown', { code }) } : error);
        }
    }

    function add(product) {
        const existing = lines.find((l) => l.product.id === product.id);
        if (existing) existing.quantity.control.value = String(Number(existing.quantity.control.value || 0) + 1);
        else {
            const quantity = field({ label: t('retail.checkout.quantity_of', { name: productName(product) }), name: 'quantity', type: 'number', min: 1, max: 1000, value: '1', inputmode: 'numeric', oninput: onchange });
            quantity.control.dataset.testid = 'product-quantity';
            lines.push({ product, quantity });
        }
        clearRefusal();
        draw();
        onchange();
    }

    function draw() {
        mount(linesArea, lines.length || cards.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('retail.checkout.products') }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('retail.checkout.products')),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('money.col.item')), h('th', { scope: 'col' }, t('money.col.qty')),
                h('th', { scope: 'col', class: 'num' }, t('money.col.unit_price')), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('money.col.actions'))))),
            h('tbody', null,
                lines.map((line, index) => h('tr', { dataset: { testid: 'product-line', product: line.product.id } },
                    h('td', null, productName(line.product), line.product.sku ? h('div', { class: 'muted' }, line.product.sku) : null,
                        stockOf(line.product) !== null ? h('div', { class: 'muted' }, t('retail.checkout.in_stock', { count: stockOf(line.product) })) : null),
                    h('td', null, line.quantity),
                    h('td', { class: 'num' }, money(line.product.price_minor)),
                    h('td', null, button(t('money.checkout.remove'), () => { lines.splice(index, 1); clearRefusal(); draw(); onchange(); }, { kind: 'ghost', ariaLabel: t('money.checkout.remove_named', { name: productName(line.product) }) })))),
                cards.map((card, index) => h('tr', { dataset: { testid: 'gift-card-line' } },
                    h('td', null, t('retail.giftcard.line'), card.code ? h('div', { class: 'muted' }, card.code) : null),
                    h('td', null, '1'),
                    h('td', { class: 'num' }, money(card.amount_minor)),
                    h('td', null, button(t('money.checkout.remove'), () => { cards.splice(index, 1); draw(); onchange(); }, { kind: 'ghost', ariaLabel: t('money.checkout.remove_named', { name: t('retail.giftcard.line') }) }))))))) : emptyState(t('retail.checkout.no_products')));
    }

    // Gift cards sold.
    const cardAmount = field({ label: t('retail.giftcard.amount'), name: 'amount_minor', inputmode: 'decimal' });
    cardAmount.control.dataset.testid = 'gift-card-amount';
    const cardCode = field({ label: t('retail.giftcard.code_optional'), name: 'code', maxlength: 40, hint: t('retail.giftcard.code_hint') });
    cardCode.control.dataset.testid = 'gift-card-code';
    function addCard(event) {
        event.preventDefault();
        const amount = readAmount(cardAmount);
        if (amount === null) return;
        const code = cardCode.control.value.replace(/[\s-]/g, '').toUpperCase();
        if (code && !/^[A-Z0-9]{8,32}$/.test(code)) { cardCode.setError(t('retail.giftcard.code_invalid')); return; }
        cardCode.setError('');
        const card = { amount_minor: amount };
        if (code) card.code = code;
        cards.push(card);
        cardAmount.control.value = ''; cardCode.control.value = '';
        draw();
        onchange();
    }

    // The coupon.
    const coupon = field({ label: t('retail.coupon.code'), name: 'coupon', maxlength: 32, hint: t('retail.coupon.hint') });
    coupon.control.dataset.testid = 'coupon-code';
    coupon.control.addEventListener('input', () => coupon.setError(''));

    // The refusal of a product for want of stock, with a manager's override.
    const refusal = h('div', { class: 'alert', role: 'alert', hidden: true, dataset: { testid: 'stock-refusal' } });
    let override = false;
    function clearRefusal() { refusal.hidden = true; refusal.replaceChildren(); override = false; }

    const stop = scannerCapture(scanned);
    draw();

    const element = h('div', null,
        section(t('retail.checkout.products'), null,
            h('p', { class: 'hint' }, t('retail.checkout.scan_hint')),
            h('div', { class: 'product-search' }, search, results), linesArea, refusal, alert),
        section(t('retail.giftcard.sell'), null,
            h('form', { class: 'sub-form', novalidate: true, onsubmit: addCard, 'aria-label': t('retail.giftcard.sell') },
                h('div', { class: 'form-row' }, cardAmount, cardCode),
                button(t('retail.giftcard.add'), null, { type: 'submit', dataset: { testid: 'add-gift-card' } }))),
        section(t('retail.coupon.title'), null, coupon));

    return {
        element,
        /** The sale body's retail fields, or null after marking what is wrong. */
        body(client) {
            let ok = true;
            const products = lines.map((line) => {
                const quantity = Number(line.quantity.control.value);
                if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1000) { line.quantity.setError(t('money.error.quantity')); ok = false; } else line.quantity.setError('');
                return { product: line.product.id, quantity };
            });
            if (!ok) return null;
            const result = {};
            if (products.length) result.products = products;
            if (cards.length) result.gift_cards = cards.map((c) => (client ? { ...c, client } : c));
            const code = coupon.control.value.trim().toUpperCase();
            if (code) {
                if (!/^[A-Z0-9-]{3,32}$/.test(code)) { coupon.setError(t('retail.coupon.invalid')); return null; }
                result.coupon = code;
            }
            if (override) result.stock_override = true;
            return result;
        },
        hasLines() { return lines.length > 0 || cards.length > 0; },
        estimate() {
            let sum = 0;
            for (const line of lines) sum += (Number(line.quantity.control.value) || 0) * line.product.price_minor;
            for (const card of cards) sum += card.amount_minor;
            return sum;
        },
        /**
         * Shows the box's refusal of the sale where it belongs; true when it was a retail one.
         * `retry(withOverride)` sends the sale again (with stock_override).
         */
        showRefusal(error, retry, mayOverride) {
            if (error.kind === 'coupon_refused' || (error.kind === 'held_elsewhere' && coupon.control.value.trim())) {
                const elsewhere = (error.body && error.body.elsewhere) || [];
                const text = error.kind === 'held_elsewhere'
                    ? t('retail.coupon.held_elsewhere', { count: elsewhere.reduce((s, e) => s + Number(e.amount || 0), 0) })
                    : t('retail.coupon.refused', { reason: couponReason(error.detail) });
                coupon.setError(text);
                coupon.control.focus();
                return true;
            }
            if (error.kind === 'insufficient_stock') {
                refusal.hidden = false;
                mount(refusal, h('p', null, t('retail.checkout.out_of_stock', { detail: error.detail || '' })),
                    mayOverride ? button(t('retail.stock.override_manager'), async () => { override = true; await retry(true); }, { kind: 'danger', dataset: { testid: 'stock-override' } }) : null);
                return true;
            }
            return false;
        },
        stop() { clearTimeout(timer); stop(); },
    };
}

/** The reason of a coupon refusal in the person's language when the box's text is one we know. */
export function couponReason(detail) {
    const text = String(detail || '').toLowerCase();
    // The box's reasons (docs/retail.md, "Coupons"), by what their text says.
    const known = [
        ['limit per client', 'client_limit'], ['per client', 'client_limit'], ['reached its limit', 'total_limit'], ['total limit', 'total_limit'],
        ['no coupon has', 'unknown'], ['no longer active', 'inactive'], ['inactive', 'inactive'], ['valid from', 'not_yet_valid'], ['expired', 'expired'],
        ['minimum spend', 'min_spend'], ['nothing in this sale', 'nothing_matches'], ['other boxes', 'held_elsewhere'],
    ];
    for (const [needle, key] of known) if (text.includes(needle)) return `${t(`retail.coupon.reason.${key}`)} (${detail})`;
    return detail || t('problem.unknown');
}

/** A client picker for a sale with no appointment (name or phone). `onpick(client)`. */
export function clientPicker(onpick) {
    const alert = alertBox();
    const chosen = h('p', { dataset: { testid: 'sale-client' } }, t('retail.checkout.no_client'));
    const list = h('ul', { class: 'list results' });
    const input = field({ label: t('retail.checkout.client_search'), name: 'client_search' });
    input.control.type = 'search';
    input.control.dataset.testid = 'sale-client-search';
    let timer = null;
    input.control.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(async () => {
            const q = input.control.value.trim();
            if (q.length < 2) { mount(list); return; }
            try {
                const items = (await api.get('/v1/clients', { q, limit: 10 })).items || [];
                mount(list, items.map((c) => h('li', null, button(`${c.name}${c.phone ? ` · ${c.phone}` : ''}`, () => {
                    mount(chosen, t('retail.checkout.client', { name: c.name }));
                    mount(list); input.control.value = '';
                    onpick(c);
                }, { dataset: { testid: 'client-result' } }))));
            } catch (error) { showProblem(alert, error); }
        }, 250);
    });
    return section(t('retail.checkout.client_title'), null, chosen, input, list, alert);
}

