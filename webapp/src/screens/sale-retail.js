// The retail side of a sale's screen (docs/retail.md): paying with a client's points (what this box
// holds, what other boxes hold) and with a gift card (its code typed or scanned, its balance shown);
// when the box holds too little of either (409 `held_elsewhere`), asking the box that holds it to
// move it here (POST /v1/escrow/moves); and returns against the sale (products and quantities,
// restocked or not, then the refund).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDate, localName } from '../i18n.js';
import { can } from '../store.js';
import { button, field, alertBox, showProblem, openDialog, problemText, notify } from '../ui.js';
import { money, keyedWrites, withApproval, writeOptions } from '../money.js';
import { checkboxField } from './manage-common.js';
import { boxLabel } from './retail-common.js';

/** The retail payment methods a sale may take. */
export function retailMethods(sale) {
    if (!can('retail.read')) return [];
    return sale.client ? ['gift_card', 'points'] : ['gift_card'];
}

/** `GET /v1/gift-cards?code=…` → the card (or null when there is none). */
export async function giftCardByCode(code) {
    const result = await api.get('/v1/gift-cards', { code });
    if (!result) return null;
    if (Array.isArray(result.items)) return result.items[0] || null;
    return result;
}

/** A card's balance as text: "8 000 ₸ here · 2 000 ₸ at another box". */
export function balanceText(balance, currency) {
    if (!balance) return '—';
    const elsewhere = (balance.elsewhere || []).reduce((sum, e) => sum + Number(e.amount || 0), 0);
    return elsewhere ? t('retail.balance.here_elsewhere', { here: money(balance.here, currency), elsewhere: money(elsewhere, currency) })
        : t('retail.balance.here', { here: money(balance.here, currency) });
}

/** The gift-card code field with its balance check. `read()` → the code or null. */
export function giftCardPayment(sale) {
    const code = field({ label: t('retail.giftcard.code'), name: 'gift_card_code', maxlength: 40, autocomplete: 'off', hint: t('retail.giftcard.scan_hint') });
    code.control.dataset.testid = 'pay-gift-card-code';
    const balance = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite', dataset: { testid: 'gift-card-balance' } });
    let card = null;
    async function check() {
        const text = normalise(code.control.value);
        if (!text) { code.setError(t('retail.giftcard.code_required')); return null; }
        try {
            card = await giftCardByCode(text);
            if (!card) { code.setError(t('retail.giftcard.unknown')); mount(balance); return null; }
            code.setError('');
            mount(balance, t(`retail.giftcard.state.${card.state}`), ' · ', balanceText(card.balance, card.currency || sale.currency),
                card.expires_at ? ` · ${t('retail.giftcard.expires', { date: formatDate(card.expires_at) })}` : '');
            return card;
        } catch (error) { code.setError(problemText(error)); return null; }
    }
    code.control.addEventListener('change', check);
    code.control.addEventListener('keydown', (event) => { if (event.key === 'Enter') { event.preventDefault(); check(); } });
    return {
        elements: [h('div', { class: 'form-row' }, code, button(t('retail.giftcard.check'), check, { dataset: { testid: 'check-gift-card' } })), balance],
        field: code,
        read() {
            const text = normalise(code.control.value);
            if (!text) { code.setError(t('retail.giftcard.code_required')); return null; }
            return text;
        },
        async account() { const found = card && normalise(card.code) === normalise(code.control.value) ? card : await check(); return found ? `card:${found.id}` : null; },
    };
}

function normalise(text) { return String(text || '').replace(/[\s-]/g, '').toUpperCase(); }

/** The client's points for a points payment: here, elsewhere, their worth. */
export function pointsPayment(sale) {
    const info = h('div', { class: 'hint', dataset: { testid: 'points-info' } }, t('loading'));
    Promise.all([api.get(`/v1/clients/${sale.client}/loyalty`), api.get('/v1/loyalty/rules').catch(() => null)]).then(([loyalty, rules]) => {
        const points = loyalty.points || { here: 0, elsewhere: [], total: 0 };
        const elsewhere = (points.elsewhere || []).reduce((sum, e) => sum + Number(e.amount || 0), 0);
        const value = rules && rules.point_value_minor ? rules.point_value_minor : 0;
        mount(info,
            h('p', { dataset: { testid: 'points-here' } }, t('retail.points.here', { count: points.here }),
                value ? ` (${t('retail.points.worth', { amount: money(points.here * value, sale.currency) })})` : ''),
            elsewhere ? h('p', { dataset: { testid: 'points-elsewhere' } }, t('retail.points.elsewhere', { count: elsewhere, boxes: (points.elsewhere || []).filter((e) => e.amount).map(boxLabel).join(', ') })) : null,
            value ? h('p', null, t('retail.points.value', { amount: money(value, sale.currency) })) : null,
            rules && rules.max_redeem_percent < 100 ? h('p', null, t('retail.points.max_percent', { percent: rules.max_redeem_percent })) : null);
    }).catch((error) => mount(info, problemText(error)));
    return { elements: [info], account: async () => `points:${sale.client}` };
}

/**
 * A `held_elsewhere` refusal in the payment form: which boxes hold it, and "ask the other box to
 * move it here" (a move request each box answers as soon as it is connected).
 */
export function heldElsewhere(alert, error, account, wanted, currency, isPoints) {
    const elsewhere = ((error.body && error.body.elsewhere) || []).filter((e) => Number(e.amount) > 0);
    const amount = (value) => (isPoints ? t('retail.points.count', { count: value }) : money(value, currency));
    alert.hidden = false;
    mount(alert, h('p', null, t('retail.held_elsewhere.text')),
        h('ul', null, elsewhere.map((e) => h('li', null, `${boxLabel(e)}: ${amount(e.amount)}`))),
        account && elsewhere.length ? button(t('retail.held_elsewhere.ask'), async () => {
            let left = wanted;
            try {
                for (const holder of elsewhere) {
                    if (left <= 0) break;
                    const moved = Math.min(left, Number(holder.amount));
                    await api.post('/v1/escrow/moves', { account, from: holder.box || holder.site, amount: moved, reason: t('retail.held_elsewhere.reason') });
                    left -= moved;
                }
                mount(alert, h('p', { dataset: { testid: 'move-asked' } }, t('retail.held_elsewhere.asked')));
            } catch (failure) { mount(alert, problemText(failure)); }
        }, { kind: 'primary', dataset: { testid: 'ask-move' } }) : null);
    alert.dataset.kind = 'held_elsewhere';
}

/** Whether a sale has product lines that can come back. */
export function hasProducts(sale) {
    return (sale.lines || []).some((line) => line.kind === 'product');
}

/**
 * Returns against a sale: which products and how many (at most what it sold), restocked or written
 * off, and why; then the refund of what they cost (`refundable_minor`) through `refund(amount)`.
 */
export function openReturn(sale, refund) {
    const productLines = sale.lines.filter((line) => line.kind === 'product');
    openDialog(t('retail.returns.title', { number: sale.number }), (handle) => {
        const alert = alertBox();
        const quantities = productLines.map((line) => {
            const quantity = field({ label: t('retail.returns.quantity_of', { name: localName(line.names, line.name), sold: line.quantity }), name: 'quantity', type: 'number', min: 0, max: line.quantity, value: '0', inputmode: 'numeric' });
            quantity.control.dataset.testid = 'return-quantity';
            return { line, quantity };
        });
        const restock = checkboxField(t('retail.returns.restock'), true, 'restock');
        restock.control.dataset.testid = 'return-restock';
        const reason = field({ label: t('money.reason'), name: 'reason', maxlength: 500 });
        reason.control.dataset.testid = 'return-reason';
        const nextKey = keyedWrites();
        async function submit(event) {
            event.preventDefault();
            let ok = true;
            const lines = [];
            for (const { line, quantity } of quantities) {
                const value = Number(quantity.control.value || 0);
                if (!Number.isInteger(value) || value < 0 || value > line.quantity) { quantity.setError(t('retail.returns.quantity_invalid', { max: line.quantity })); ok = false; continue; }
                quantity.setError('');
                if (value > 0) lines.push({ product: line.reference || line.product, quantity: value });
            }
            if (!ok) return;
            if (!lines.length) { showProblem(alert, { kind: 'local', detail: t('retail.returns.nothing') }); return; }
            const body = { lines, restock: restock.control.checked, reason: reason.control.value.trim() };
            try {
                const result = await withApproval((approval) => {
                    const sent = approval ? { ...body, approval } : body;
                    return api.post(`/v1/sales/${sale.id}/returns`, sent, writeOptions(approval, nextKey(sent)));
                }, 'money.refund');
                handle.close();
                notify(t('retail.returns.done', { amount: money(result.refundable_minor || 0, sale.currency) }));
                if (result.refundable_minor > 0) refund(result.refundable_minor);
            } catch (error) { showProblem(alert, error, { reason }); }
        }
        return h('form', { novalidate: true, onsubmit: submit, dataset: { testid: 'return-form' } }, ...quantities.map((q) => q.quantity), restock, reason, alert,
            h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('retail.returns.confirm'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'confirm-return' } })));
    });
}
