// Checkout (#/checkout?appointments=<id>[,<id>], or #/checkout alone for a sale of products): the
// visit's lines (from its appointments, plus custom lines), products (a barcode scanner or search,
// checkout-retail.js), gift cards sold, a coupon, a sale discount (amount or percent, with a reason; a manager's approval when the
// person lacks money.discount), tips per staff member. "Create the sale" posts it (POST
// /v1/sales); the box computes tax and totals, and the sale's screen takes the payments.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatTime } from '../i18n.js';
import { can, state } from '../store.js';
import { go } from '../router.js';
import { instantOf, addDays, zoned, rfc3339 } from '../time.js';
import { button, field, alertBox, showProblem, emptyState, problemText } from '../ui.js';
import { money, readAmount, withApproval, keyedWrites, writeOptions } from '../money.js';
import { serviceName, staffName, whoName, loadClients } from './day-common.js';
import { section } from './manage-common.js';
import { retailPart, clientPicker } from './checkout-retail.js';

/** Statuses an appointment may be checked out in. */
export const CHECKOUT_STATUSES = ['confirmed', 'checked_in', 'completed'];

export function renderCheckout(container, params, query) {
    let alive = true;
    const ids = (query.appointments || '').split(',').filter(Boolean);
    let appointments = [];
    let others = [];
    let settings = null;
    let client = null;
    const custom = [];
    const nextKey = keyedWrites();
    const alert = alertBox();
    const body = h('div', { class: 'checkout' });
    mount(container, h('div', { class: 'screen-head' }, h('h1', null, t('money.checkout.title'))), alert, body);
    if (!can('money.take')) { mount(body, h('p', { class: 'alert', role: 'alert' }, t('problem.forbidden'))); return null; }
    const retail = can('retail.read') ? retailPart({ onchange: () => drawSummary() }) : null;
    const picker = ids.length ? null : clientPicker((picked) => { client = picked.id; });
    mount(body, h('p', { class: 'muted' }, t('loading')));

    const lineName = field({ label: t('money.checkout.line_name'), name: 'name', maxlength: 200 });
    const lineQty = field({ label: t('money.checkout.quantity'), name: 'quantity', type: 'number', value: '1', min: 1, max: 1000, inputmode: 'numeric' });
    const linePrice = field({ label: t('money.checkout.unit_price'), name: 'unit_price', inputmode: 'decimal' });
    const lineTax = field({ label: t('money.checkout.tax_rate'), name: 'tax_rate', options: [['', t('money.checkout.tax_default')]] });
    const discountKind = field({ label: t('money.checkout.discount'), name: 'discount_kind', value: 'none',
        options: [['none', t('money.checkout.discount_none')], ['amount', t('money.checkout.discount_amount')], ['percent', t('money.checkout.discount_percent')]],
        onchange: drawDiscount });
    discountKind.control.dataset.testid = 'discount-kind';
    const discountValue = field({ label: t('money.checkout.discount_value'), name: 'discount_value', inputmode: 'decimal' });
    discountValue.control.dataset.testid = 'discount-value';
    const discountReason = field({ label: t('money.checkout.discount_reason'), name: 'discount_reason', maxlength: 500 });
    discountReason.control.dataset.testid = 'discount-reason';
    const discountArea = h('div', { class: 'form-row' });
    const tipFields = new Map();
    const linesArea = h('div');
    const tipsArea = h('div');
    const summary = h('div', { class: 'checkout-summary', dataset: { testid: 'checkout-estimate' } });

    function drawDiscount() {
        const kind = discountKind.control.value;
        mount(discountArea, discountKind, kind === 'none' ? null : [discountValue, discountReason]);
        discountValue.querySelector('label').textContent = kind === 'percent' ? t('money.checkout.discount_percent_value') : t('money.checkout.discount_value');
        drawSummary();
    }

    async function load() {
        try {
            const [loaded, loadedSettings] = await Promise.all([
                Promise.all(ids.map((id) => api.get(`/v1/appointments/${id}`))),
                api.get('/v1/money/settings').catch(() => null),
            ]);
            appointments = loaded;
            settings = loadedSettings;
            await loadClients(appointments);
            const existing = await Promise.all(ids.map((id) => api.get('/v1/sales', { appointment: id }).catch(() => ({ items: [] }))));
            const sold = existing.flatMap((r) => r.items || []).filter((s) => s.state !== 'voided');
            if (sold.length) {
                if (!alive) return;
                mount(body, h('p', { class: 'alert', role: 'alert', dataset: { testid: 'already-checked-out' } }, t('problem.already_checked_out'), ' ',
                    ...sold.map((s) => h('a', { href: `#/sales/${s.id}` }, t('money.sale.number', { number: s.number })))));
                return;
            }
            others = await otherAppointments();
        } catch (error) {
            if (alive) mount(body, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        draw();
    }

    /** The client's other appointments of the same day that could join this sale. */
    async function otherAppointments() {
        const first = appointments[0];
        if (!first || !first.client) return [];
        const date = zoned(first.start).date;
        try {
            const items = await api.all('/v1/appointments', { from: rfc3339(instantOf(date)), to: rfc3339(instantOf(addDays(date, 1))), limit: 500 });
            return items.filter((a) => a.client === first.client && !ids.includes(a.id) && CHECKOUT_STATUSES.includes(a.status));
        } catch { return []; }
    }

    function staffOfVisit() {
        const seen = [];
        for (const a of appointments) for (const item of a.items) if (!seen.includes(item.staff)) seen.push(item.staff);
        return seen;
    }

    function draw() {
        const rates = (settings && settings.tax_rates) || [];
        mount(lineTax.control, h('option', { value: '' }, t('money.checkout.tax_default')),
            ...rates.map((r) => h('option', { value: r.id }, `${r.name} (${r.rate_bp / 100} %)`)));
        for (const staff of staffOfVisit()) {
            if (!tipFields.has(staff)) {
                const tip = field({ label: t('money.checkout.tip_for', { name: staffName(staff) }), name: `tip-${staff}`, inputmode: 'decimal', oninput: drawSummary });
                tip.control.dataset.testid = 'tip';
                tipFields.set(staff, tip);
            }
        }
        mount(tipsArea, tipFields.size ? [...tipFields.values()] : h('p', { class: 'muted' }, t('money.checkout.no_tips')));
        drawLines();
        drawDiscount();
        mount(body,
            appointments.length ? h('p', { dataset: { testid: 'checkout-who' } }, whoName(appointments[0])) : picker,
            retail ? retail.element : null,
            section(t('money.checkout.lines'), null, linesArea,
                h('form', { class: 'sub-form add-line', novalidate: true, onsubmit: addLine, 'aria-label': t('money.checkout.add_line') },
                    h('h3', null, t('money.checkout.add_line')),
                    h('div', { class: 'form-row' }, lineName, lineQty, linePrice, rates.length ? lineTax : null),
                    button(t('money.checkout.add'), null, { type: 'submit', dataset: { testid: 'add-line' } }))),
            others.length ? section(t('money.checkout.other_appointments'), null, h('ul', { class: 'list' }, ...others.map((a) => h('li', null,
                h('a', { href: `#/checkout?appointments=${[...ids, a.id].join(',')}`, dataset: { testid: 'add-appointment' } },
                    t('money.checkout.add_appointment', { time: formatTime(a.start), services: a.items.map((i) => serviceName(i.service)).join(', ') })))))) : null,
            section(t('money.checkout.discount'), null, discountArea),
            section(t('money.checkout.tips'), null, tipsArea),
            summary,
            h('div', { class: 'actions' }, button(t('money.checkout.create'), createSale, { kind: 'primary', dataset: { testid: 'create-sale' } })));
    }

    function drawLines() {
        const rows = [];
        for (const a of appointments) for (const item of a.items) {
            rows.push(h('tr', { dataset: { testid: 'line' } }, h('td', null, serviceName(item.service), h('div', { class: 'muted' }, staffName(item.staff))),
                h('td', { class: 'num' }, '1'), h('td', { class: 'num' }, money(item.price_minor)), h('td', null, '')));
        }
        custom.forEach((line, index) => rows.push(h('tr', { dataset: { testid: 'line' } }, h('td', null, line.name), h('td', { class: 'num' }, String(line.quantity)),
            h('td', { class: 'num' }, money(line.unit_price_minor)),
            h('td', null, button(t('money.checkout.remove'), () => { custom.splice(index, 1); drawLines(); drawSummary(); }, { kind: 'ghost', ariaLabel: t('money.checkout.remove_named', { name: line.name }) })))));
        mount(linesArea, rows.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('money.checkout.lines') }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('money.checkout.lines')),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('money.col.item')), h('th', { scope: 'col', class: 'num' }, t('money.col.qty')),
                h('th', { scope: 'col', class: 'num' }, t('money.col.unit_price')), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('money.col.actions'))))),
            h('tbody', null, rows))) : emptyState(t('money.checkout.no_lines')));
    }

    function addLine(event) {
        event.preventDefault();
        const name = lineName.control.value.trim();
        let ok = true;
        if (!name) { lineName.setError(t('validation.required')); ok = false; } else lineName.setError('');
        const quantity = Number(lineQty.control.value);
        if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1000) { lineQty.setError(t('money.error.quantity')); ok = false; } else lineQty.setError('');
        const price = readAmount(linePrice, { positive: false });
        if (price === null) ok = false;
        if (!ok) return;
        const line = { name, quantity, unit_price_minor: price };
        if (lineTax.control.value) line.tax_rate = lineTax.control.value;
        custom.push(line);
        lineName.control.value = ''; linePrice.control.value = ''; lineQty.control.value = '1';
        drawLines();
        drawSummary();
        lineName.control.focus();
    }

    function tipsBody() {
        const tips = [];
        let ok = true;
        for (const [staff, wrapper] of tipFields) {
            const amount = readAmount(wrapper, { required: false, positive: false });
            if (amount === null) ok = false; else if (amount > 0) tips.push({ staff, amount_minor: amount });
        }
        return ok ? tips : null;
    }

    function drawSummary() {
        let lines = 0;
        for (const a of appointments) for (const item of a.items) lines += item.price_minor;
        for (const line of custom) lines += line.quantity * line.unit_price_minor;
        if (retail) lines += retail.estimate();
        mount(summary, h('p', null, t('money.checkout.estimate', { amount: money(lines) })), h('p', { class: 'hint' }, t('money.checkout.estimate_hint')));
    }

    async function createSale() {
        const tips = tipsBody();
        if (tips === null) return;
        const sale = { appointments: ids, lines: custom, tips };
        if (appointments[0] && appointments[0].client) sale.client = appointments[0].client;
        else if (client) sale.client = client;
        if (retail) {
            const extra = retail.body(sale.client);
            if (extra === null) return;
            Object.assign(sale, extra);
        }
        const kind = discountKind.control.value;
        if (kind !== 'none') {
            const reason = discountReason.control.value.trim();
            if (kind === 'percent') {
                const value = Number(String(discountValue.control.value).replace(',', '.'));
                if (!discountValue.control.value.trim() || !Number.isFinite(value) || value <= 0 || value > 100) { discountValue.setError(t('money.error.percent')); return; }
                discountValue.setError('');
                sale.discount = { percent: value, reason };
            } else {
                const amount = readAmount(discountValue);
                if (amount === null) return;
                sale.discount = { amount_minor: amount, reason };
            }
            if (!reason) { discountReason.setError(t('money.error.reason_required')); return; }
            discountReason.setError('');
        }
        if (!ids.length && !custom.length && !(retail && retail.hasLines())) { showProblem(alert, { kind: 'local', detail: t('money.checkout.no_lines') }); return; }
        try {
            // A sale below zero stock with the override: the person's own right, else a manager's PIN.
            const right = sale.stock_override && !can('stock.override') ? 'stock.override' : 'money.discount';
            const created = await withApproval((approval) => {
                if (!approval && right === 'stock.override') return Promise.reject(Object.assign(new Error('approval'), { kind: 'approval_required' }));
                const bodyWithApproval = approval ? { ...sale, approval } : sale;
                return api.post('/v1/sales', bodyWithApproval, writeOptions(approval, nextKey(bodyWithApproval)));
            }, right);
            go(`/sales/${created.id}`);
        } catch (error) {
            if (retail && retail.showRefusal(error, () => createSale(), can('stock.override') || can('drawer.operate'))) { showProblem(alert, null); return; }
            showProblem(alert, error, { discount: discountValue, 'discount.reason': discountReason, 'discount.percent': discountValue, 'discount.amount_minor': discountValue });
            if (error.kind === 'already_checked_out') load();
        }
    }

    load();
    return () => { alive = false; if (retail) retail.stop(); };
}
