// A sale (#/sales/:id): its lines with tax, discount, tips and the box's totals; the payments with
// their states; while something is due, split tender (cash with change, card, Kaspi QR, Kaspi
// static QR within the offline caps, bank transfer), the balance redrawn after each payment and
// the receipt when it is paid; refund and void (a manager's approval when the person lacks
// money.refund); voiding a sale with nothing paid.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime, localName } from '../i18n.js';
import { can, on } from '../store.js';
import { go } from '../router.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText } from '../ui.js';
import { money, parseAmount, readAmount, amountText, methodName, paymentBadge, saleBadge, withApproval, keyedWrites, writeOptions, METHODS, facts, loadPeople, personName } from '../money.js';
import { openKaspi } from './kaspi.js';
import { section } from './manage-common.js';
import { retailMethods, giftCardPayment, pointsPayment, heldElsewhere, hasProducts, openReturn } from './sale-retail.js';

/** Whether refund and void are offered: the refund right, or a till role that can ask a manager (not staff). */
export function mayReverse() {
    return can('money.take') && (can('money.refund') || can('drawer.operate'));
}

export function renderSale(container, params) {
    const id = params.id;
    let alive = true;
    let sale = null;
    let settings = null;
    const alert = alertBox();
    const title = h('h1', null, t('money.sale.title'));
    const summary = h('div');
    const paymentsArea = h('div');
    const payArea = h('div');
    const actionsArea = h('div', { class: 'actions no-print' });
    mount(container, h('div', { class: 'screen-head' }, title), alert, summary, payArea, paymentsArea, actionsArea);

    async function load() {
        try {
            [sale, settings] = await Promise.all([api.get(`/v1/sales/${id}`), settings ? settings : api.get('/v1/money/settings').catch(() => null)]);
            await loadPeople();
        } catch (error) {
            if (alive) mount(summary, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        draw();
    }

    function draw() {
        title.textContent = t('money.sale.number', { number: sale.number });
        mount(summary, saleView(sale));
        drawPayments();
        // The payment form is redrawn only when what is due changed: a live update never clears what is typed.
        if (payArea.dataset.balance !== String(sale.balance_minor) || sale.state === 'voided') { payArea.dataset.balance = String(sale.balance_minor); drawPay(); }
        mount(actionsArea,
            h('a', { class: 'btn secondary', href: `#/sales/${sale.id}/receipt`, dataset: { testid: 'open-receipt' } }, t('money.sale.receipt')),
            sale.state !== 'voided' && hasProducts(sale) && mayReverse() ? button(t('retail.returns.button'), () => openReturn(sale, refundAfterReturn), { dataset: { testid: 'return-products' } }) : null,
            sale.state !== 'voided' && sale.paid_minor === 0 && sale.payments.every((p) => p.kind !== 'payment' || ['failed', 'voided'].includes(p.status)) && mayReverse()
                ? button(t('money.sale.void'), voidSale, { kind: 'danger', dataset: { testid: 'void-sale' } }) : null);
    }

    function drawPayments() {
        const rows = sale.payments.map((p) => h('tr', { dataset: { testid: 'payment', method: p.method, kind: p.kind } },
            h('td', null, formatDateTime(p.created_at)),
            h('td', null, p.kind === 'refund' ? t('money.refund.row', { method: methodName(p.method) }) : methodName(p.method), paymentDetail(p)),
            h('td', { class: 'num' }, money(p.kind === 'refund' ? -p.amount_minor : p.amount_minor, p.currency)),
            h('td', null, paymentBadge(p.status), p.deadline && p.status === 'unverified' ? h('div', { class: 'hint' }, t('money.unverified.deadline_at', { at: formatDateTime(p.deadline) })) : null),
            h('td', null, p.kind === 'payment' && mayReverse() ? reverseButtons(p) : null)));
        mount(paymentsArea, section(t('money.sale.payments'), null, rows.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('money.sale.payments') }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('money.sale.payments')),
            h('thead', null, h('tr', null, ...['when', 'method', 'amount', 'status', 'actions'].map((k) => h('th', { scope: 'col', class: k === 'amount' ? 'num' : null }, t(`money.col.${k}`))))),
            h('tbody', null, rows))) : emptyState(t('money.sale.no_payments'))));
    }

    function reverseButtons(p) {
        const counting = ['settled', 'verified', 'unverified'].includes(p.status);
        if (!counting) return null;
        return h('div', { class: 'actions tight' },
            p.refundable_minor > 0 ? button(t('money.refund.button'), () => openRefund(p), { dataset: { testid: 'refund' }, ariaLabel: t('money.refund.button_named', { method: methodName(p.method), amount: money(p.amount_minor) }) }) : null,
            ['cash', 'card', 'bank_transfer'].includes(p.method) && p.refundable_minor === p.amount_minor
                ? button(t('money.void.button'), () => openVoid(p), { dataset: { testid: 'void-payment' }, ariaLabel: t('money.void.button_named', { method: methodName(p.method), amount: money(p.amount_minor) }) }) : null);
    }

    // --- split tender -----------------------------------------------------------------------
    function drawPay() {
        if (!sale || sale.state === 'voided' || sale.balance_minor <= 0 || !can('money.take')) { mount(payArea); return; }
        // What was typed (other than the amount, which follows the balance) survives a redraw.
        const typed = Object.fromEntries([...payArea.querySelectorAll('input')].map((input) => [input.name, input.value]));
        const methods = [...((settings && settings.methods) || METHODS).filter((m) => METHODS.includes(m)), ...retailMethods(sale)];
        let method = payArea.dataset.method && methods.includes(payArea.dataset.method) ? payArea.dataset.method : methods[0];
        const form = h('form', { class: 'pay-form', novalidate: true, dataset: { testid: 'pay-form' } });
        const formAlert = alertBox();
        const amount = field({ label: t('money.pay.amount'), name: 'amount_minor', value: amountText(sale.balance_minor, sale.currency), inputmode: 'decimal', oninput: () => drawChange() });
        amount.control.dataset.testid = 'pay-amount';
        const tendered = field({ label: t('money.pay.tendered'), name: 'tendered_minor', inputmode: 'decimal', oninput: () => drawChange() });
        tendered.control.dataset.testid = 'pay-tendered';
        const change = h('p', { class: 'change', role: 'status', 'aria-live': 'polite', dataset: { testid: 'change' } });
        const last4 = field({ label: t('money.pay.card_last4'), name: 'card_last4', inputmode: 'numeric', maxlength: 4, autocomplete: 'off' });
        last4.control.dataset.testid = 'pay-last4';
        const approvalCode = field({ label: t('money.pay.approval_code'), name: 'approval_code', maxlength: 20 });
        approvalCode.control.dataset.testid = 'pay-approval-code';
        const reference = field({ label: t('money.pay.reference'), name: 'reference', maxlength: 100 });
        reference.control.dataset.testid = 'pay-reference';
        const fields = { amount_minor: amount, tendered_minor: tendered, card_last4: last4, approval_code: approvalCode, reference };
        for (const [name, wrapper] of Object.entries(fields)) if (name !== 'amount_minor' && typed[name]) wrapper.control.value = typed[name];
        const methodArea = h('div');
        let nextKey = keyedWrites();
        const giftCard = retailMethods(sale).includes('gift_card') ? giftCardPayment(sale) : null;
        const points = retailMethods(sale).includes('points') ? pointsPayment(sale) : null;
        if (giftCard) fields.gift_card_code = giftCard.field;

        function drawChange() {
            if (method !== 'cash') { change.textContent = ''; return; }
            const a = readQuiet(amount);
            const given = readQuiet(tendered);
            change.textContent = a && given !== undefined && given !== null && given >= a ? t('money.pay.change', { amount: money(given - a, sale.currency) })
                : given && a && given < a ? t('money.pay.tendered_short') : '';
        }
        function drawMethod() {
            payArea.dataset.method = method;
            const extra = {
                cash: [tendered, change],
                card: [h('div', { class: 'form-row' }, last4, approvalCode)],
                bank_transfer: [reference],
                kaspi_qr: [h('p', { class: 'hint' }, t('money.pay.kaspi_qr_hint'))],
                kaspi_static: [staticInfo()],
                gift_card: giftCard ? giftCard.elements : [],
                points: points ? points.elements : [],
            }[method];
            mount(methodArea, amount, ...extra);
            drawChange();
        }
        function staticInfo() {
            if (!settings) return null;
            const deadline = new Date(Date.now() + settings.unverified_deadline_hours * 3600000);
            return h('div', { class: 'hint warn', dataset: { testid: 'static-info' } },
                h('p', null, t('money.pay.static_hint')),
                h('p', null, t('money.pay.static_cap', { cap: money(settings.unverified_payment_cap_minor, settings.currency),
                    left: money(Math.max(0, settings.unverified_box_cap_minor - (settings.unverified_outstanding_minor || 0)), settings.currency) })),
                h('p', null, t('money.pay.static_deadline', { at: formatDateTime(deadline), hours: settings.unverified_deadline_hours })));
        }
        const methodPicker = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': t('money.pay.method') },
            ...methods.map((m) => h('button', {
                type: 'button', role: 'radio', class: ['btn', m === method ? 'primary' : 'secondary'], 'aria-checked': String(m === method), dataset: { testid: `method-${m}` },
                onclick: (event) => {
                    method = m;
                    for (const other of methodPicker.children) { const on_ = other === event.currentTarget; other.setAttribute('aria-checked', String(on_)); other.className = `btn ${on_ ? 'primary' : 'secondary'}`; }
                    drawMethod();
                },
            }, methodName(m))));

        async function pay(event) {
            event.preventDefault();
            for (const f of Object.values(fields)) f.setError('');
            const value = readAmount(amount, { currency: sale.currency });
            if (value === null) return;
            const body = { method, amount_minor: value };
            if (method === 'cash') {
                const given = readAmount(tendered, { currency: sale.currency, required: false });
                if (given === null) return;
                if (given > 0 && given < value) { tendered.setError(t('money.pay.tendered_short')); return; }
                if (value > sale.balance_minor) { amount.setError(t('money.error.over_balance', { balance: money(sale.balance_minor, sale.currency) })); return; }
                body.tendered_minor = given > 0 ? given : value;
            } else if (value > sale.balance_minor) {
                amount.setError(t('money.error.over_balance', { balance: money(sale.balance_minor, sale.currency) })); return;
            }
            if (method === 'card') {
                if (!/^\d{4}$/.test(last4.control.value.trim())) { last4.setError(t('money.error.last4')); return; }
                body.card_last4 = last4.control.value.trim();
                if (approvalCode.control.value.trim()) body.approval_code = approvalCode.control.value.trim();
            }
            if (method === 'bank_transfer' && reference.control.value.trim()) body.reference = reference.control.value.trim();
            if (method === 'gift_card') {
                const code = giftCard.read();
                if (code === null) return;
                body.gift_card_code = code;
            }
            try {
                const payment = await withApproval((approval) => {
                    const sent = approval ? { ...body, approval } : body;
                    return api.post(`/v1/sales/${sale.id}/payments`, sent, writeOptions(approval, nextKey(sent)));
                }, 'money.verify');
                showProblem(formAlert, null);
                payArea.dataset.method = '';
                payArea.replaceChildren();
                payArea.dataset.balance = '';
                if (method === 'kaspi_qr') {
                    openKaspi(payment, { onSettled: () => load(), onFallback: (m) => { payArea.dataset.method = m; payArea.dataset.balance = ''; load(); } });
                }
                await load();
                if (sale.balance_minor <= 0 && sale.state !== 'due') go(`/sales/${sale.id}/receipt`);
            } catch (error) {
                showProblem(formAlert, error, fields);
                if (error.kind === 'drawer_closed') mount(formAlert, problemText(error), ' ', h('a', { href: '#/drawer' }, t('money.drawer.open_link')));
                if (error.kind === 'overpayment' || error.kind === 'already_checked_out') load();
                // Refused for what another box holds: the same payment asked again later is a new attempt
                // (the box would replay this refusal for the same idempotency key).
                if (error.kind === 'held_elsewhere' || error.kind === 'insufficient_balance') nextKey = keyedWrites();
                if (error.kind === 'held_elsewhere') {
                    const source = method === 'points' ? points : giftCard;
                    heldElsewhere(formAlert, error, source ? await source.account().catch(() => null) : null, value, sale.currency, method === 'points');
                }
            }
        }
        form.addEventListener('submit', pay);
        mount(form, h('h2', null, t('money.pay.title')),
            h('p', { class: 'balance', dataset: { testid: 'balance-due' } }, t('money.pay.balance', { amount: money(sale.balance_minor, sale.currency) })),
            methodPicker, methodArea, formAlert,
            h('div', { class: 'actions' }, button(t('money.pay.take'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'take-payment' } })));
        drawMethod();
        mount(payArea, h('section', { class: 'panel' }, form));
    }

    function readQuiet(wrapper) { return parseAmount(wrapper.control.value, sale.currency); }

    // --- refund, void -----------------------------------------------------------------------
    /** After a return: the refund of what the returned products cost, from the first payment that can give it. */
    async function refundAfterReturn(amount) {
        await load();
        const payment = sale.payments.find((p) => p.kind === 'payment' && p.refundable_minor > 0 && ['settled', 'verified', 'unverified'].includes(p.status));
        if (payment) openRefund(payment, Math.min(amount, payment.refundable_minor));
    }

    function openRefund(p, suggested) {
        openDialog(t('money.refund.title'), (handle) => {
            const dialogAlert = alertBox();
            const amount = field({ label: t('money.refund.amount'), name: 'amount_minor', value: amountText(suggested ?? p.refundable_minor, p.currency), inputmode: 'decimal',
                hint: t('money.refund.refundable', { amount: money(p.refundable_minor, p.currency) }) });
            amount.control.dataset.testid = 'refund-amount';
            const reason = field({ label: t('money.reason'), name: 'reason', maxlength: 500, required: true });
            reason.control.dataset.testid = 'refund-reason';
            const nextKey = keyedWrites();
            async function submit(event) {
                event.preventDefault();
                const value = readAmount(amount, { currency: p.currency, max: p.refundable_minor });
                if (value === null) return;
                if (!reason.control.value.trim()) { reason.setError(t('money.error.reason_required')); return; }
                reason.setError('');
                const body = { amount_minor: value, reason: reason.control.value.trim() };
                try {
                    await withApproval((approval) => {
                        const sent = approval ? { ...body, approval } : body;
                        return api.post(`/v1/payments/${p.id}/refund`, sent, writeOptions(approval, nextKey(sent)));
                    }, 'money.refund');
                    handle.close();
                    load();
                } catch (error) {
                    showProblem(dialogAlert, error, { amount_minor: amount, reason });
                }
            }
            return h('form', { novalidate: true, onsubmit: submit }, h('p', null, `${methodName(p.method)} · ${money(p.amount_minor, p.currency)}`), amount, reason, dialogAlert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('money.refund.confirm'), null, { kind: 'danger', type: 'submit', dataset: { testid: 'confirm-refund' } })));
        });
    }

    function reasonDialog(titleText, confirmText, send, right) {
        openDialog(titleText, (handle) => {
            const dialogAlert = alertBox();
            const reason = field({ label: t('money.reason'), name: 'reason', maxlength: 500, required: true });
            reason.control.dataset.testid = 'void-reason';
            const nextKey = keyedWrites();
            async function submit(event) {
                event.preventDefault();
                if (!reason.control.value.trim()) { reason.setError(t('money.error.reason_required')); return; }
                reason.setError('');
                const body = { reason: reason.control.value.trim() };
                try {
                    await withApproval((approval) => {
                        const sent = approval ? { ...body, approval } : body;
                        return send(sent, writeOptions(approval, nextKey(sent)));
                    }, right);
                    handle.close();
                    load();
                } catch (error) {
                    showProblem(dialogAlert, error, { reason });
                }
            }
            return h('form', { novalidate: true, onsubmit: submit }, reason, dialogAlert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(confirmText, null, { kind: 'danger', type: 'submit', dataset: { testid: 'confirm-void' } })));
        });
    }
    function openVoid(p) {
        reasonDialog(t('money.void.title', { method: methodName(p.method), amount: money(p.amount_minor, p.currency) }), t('money.void.confirm'),
            (body, options) => api.post(`/v1/payments/${p.id}/void`, body, options), 'money.refund');
    }
    function voidSale() {
        reasonDialog(t('money.sale.void_title', { number: sale.number }), t('money.sale.void'), (body, options) => api.post(`/v1/sales/${sale.id}/void`, body, options), 'money.refund');
    }

    // A payment or sale event names only its row (a payment, a payment's later state, a void), so
    // any of them reloads the sale, at most once per second.
    let pending = null;
    const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; if (alive) load(); }, 1000); };
    const offs = [on('event:payment', soon), on('event:sale', soon)];
    load();
    return () => { alive = false; clearTimeout(pending); offs.forEach((off) => off()); };
}

function paymentDetail(p) {
    const parts = [];
    if (p.method === 'cash' && p.tendered_minor) parts.push(t('money.pay.tendered_change', { tendered: money(p.tendered_minor, p.currency), change: money(p.change_minor, p.currency) }));
    if (p.card_last4) parts.push(`•••• ${p.card_last4}`);
    if (p.approval_code) parts.push(t('money.pay.approval_code_short', { code: p.approval_code }));
    if (p.reference) parts.push(p.reference);
    if (p.reason) parts.push(p.reason);
    return parts.length ? h('div', { class: 'hint' }, parts.join(' · ')) : null;
}

/** The lines, discount, tips and totals of a sale (the box's figures). */
export function saleView(sale) {
    const c = sale.currency;
    const lineRows = sale.lines.map((line) => h('tr', { dataset: { testid: 'sale-line' } },
        h('td', null, localName(line.names, line.name), line.staff ? h('div', { class: 'muted' }, personName(line.staff)) : null),
        h('td', { class: 'num' }, String(line.quantity)),
        h('td', { class: 'num' }, money(line.unit_price_minor, c)),
        h('td', { class: 'num' }, line.discount_minor ? `−${money(line.discount_minor, c)}` : '—'),
        h('td', { class: 'num' }, line.tax_rate ? `${money(line.tax_minor, c)} (${line.tax_rate.name}, ${line.tax_rate.rate_bp / 100} %${line.tax_rate.included ? `, ${t('money.tax.included')}` : ''})` : '—'),
        h('td', { class: 'num' }, money(line.total_minor, c))));
    return h('div', { class: 'sale-view' },
        h('p', null, saleBadge(sale), ' ', h('span', { class: 'muted' }, formatDateTime(sale.created_at)),
            sale.voided ? h('span', { class: 'alert inline' }, ` ${t('money.sale.voided', { reason: sale.voided.reason })}`) : null),
        h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('money.checkout.lines') }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('money.checkout.lines')),
            h('thead', null, h('tr', null, ...['item', 'qty', 'unit_price', 'discount', 'tax', 'total'].map((k) => h('th', { scope: 'col', class: k === 'item' ? null : 'num' }, t(`money.col.${k}`))))),
            h('tbody', null, lineRows))),
        sale.discount ? h('p', { class: 'hint' }, t('money.sale.discount_reason', { reason: sale.discount.reason, who: personName(sale.discount.approved_by) })) : null,
        sale.tips.length ? h('p', { class: 'hint' }, t('money.sale.tips'), ': ', sale.tips.map((tip) => `${personName(tip.staff)} ${money(tip.amount_minor, c)}`).join(', ')) : null,
        facts([
            [t('money.total.subtotal'), money(sale.subtotal_minor, c)],
            sale.discount_minor ? [t('money.total.discount'), `−${money(sale.discount_minor, c)}`] : null,
            [t('money.total.tax'), money(sale.tax_minor, c), 'sale-tax'],
            sale.tips_minor ? [t('money.total.tips'), money(sale.tips_minor, c)] : null,
            [t('money.total.total'), h('strong', null, money(sale.total_minor, c)), 'sale-total'],
            [t('money.total.paid'), money(sale.paid_minor, c), 'sale-paid'],
            sale.refunded_minor ? [t('money.total.refunded'), money(sale.refunded_minor, c), 'sale-refunded'] : null,
            [sale.balance_minor < 0 ? t('money.total.overpaid') : t('money.total.balance'), money(Math.abs(sale.balance_minor), c), 'sale-balance'],
        ], 'sale-totals'));
}

