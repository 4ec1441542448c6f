// Shared pieces of the money screens (issue 16, docs/money.md): amounts typed in major units and
// sent in minor units, the payment methods and states, the manager's approval dialog (a person
// who holds the right picks themselves and types their PIN: `approval: {person, pin}`),
// countdowns, and the money problems in the person's language.
import { h, mount } from './dom.js';
import { api } from './api.js';
import { t, formatMoney, currentCurrency, formatDateTime } from './i18n.js';
import { state } from './store.js';
import { openDialog, button, alertBox, showProblem, problemText } from './ui.js';
import { currencyDigits } from './screens/manage-common.js';

export const METHODS = ['cash', 'card', 'kaspi_qr', 'kaspi_static', 'bank_transfer'];
/** Which role holds which right by default (docs/money.md), to offer approvers. */
const HOLDERS = {
    'money.discount': ['owner', 'manager'], 'money.refund': ['owner', 'manager'], 'money.verify': ['owner', 'manager'],
    'money.reports': ['owner', 'manager'], 'money.settings': ['owner'], 'drawer.operate': ['owner', 'manager', 'front_desk'],
    'stock.override': ['owner', 'manager'],
};

/** Minor units in the branch's (or the given) currency: 8 000 ₸, £25.50. */
export function money(minor, currency) {
    return formatMoney({ amount_minor: Number(minor || 0), currency: currency || currentCurrency() });
}

/**
 * The text of an amount field → minor units; null when it is not an amount, `undefined` when
 * empty. More fraction digits than the currency has is not an amount (no silent rounding).
 */
export function parseAmount(text, currency) {
    const cleaned = String(text ?? '').replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
    if (cleaned === '') return undefined;
    const digits = currencyDigits(currency || currentCurrency());
    const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(cleaned);
    if (!match) return null;
    const fraction = match[2] || '';
    if (fraction.length > digits) return null;
    return Number(match[1]) * 10 ** digits + Number((fraction + '0'.repeat(digits)).slice(0, digits) || 0);
}

/** Minor units → the text of an amount field (8000, 25.5). */
export function amountText(minor, currency) {
    const digits = currencyDigits(currency || currentCurrency());
    return String(Number(minor || 0) / 10 ** digits);
}

/**
 * Reads an amount field (a ui.field wrapper): minor units, or null after putting the reason
 * under the field. `options`: {required, positive, max}.
 */
export function readAmount(wrapper, options = {}) {
    const value = parseAmount(wrapper.control.value, options.currency);
    if (value === undefined) {
        if (options.required === false) { wrapper.setError(''); return 0; }
        wrapper.setError(t('money.error.amount_required'));
        return null;
    }
    if (value === null) { wrapper.setError(t('money.error.amount_invalid', { digits: currencyDigits(options.currency || currentCurrency()) })); return null; }
    if (options.positive !== false && value <= 0) { wrapper.setError(t('money.error.amount_positive')); return null; }
    if (options.max !== undefined && value > options.max) { wrapper.setError(t('money.error.amount_max', { max: money(options.max, options.currency) })); return null; }
    wrapper.setError('');
    return value;
}

export function methodName(method) { return t(`money.method.${method}`); }

export function paymentBadge(status) {
    return h('span', { class: ['badge', `pay-${status}`], dataset: { testid: 'payment-status' } }, t(`money.pstatus.${status}`));
}

export function saleBadge(sale) {
    return h('span', { class: ['badge', `sale-${sale.state}`], dataset: { testid: 'sale-state' } }, t(`money.sstate.${sale.state}`));
}

/** A person's name from an id the API gave (`created_by`, `approved_by`), when the app knows it. */
const names = new Map();
export async function loadPeople() {
    if (names.size) return names;
    try {
        for (const person of (await api.get('/v1/sessions/people')).items || []) names.set(person.id, person);
    } catch { /* the ids are shown as they are */ }
    return names;
}
export function personName(id) {
    if (!id) return '—';
    const person = names.get(id);
    if (person) return person.name;
    const staff = state.staff.find((s) => s.id === id);
    return staff ? staff.name : id;
}

export function needsApproval(error) {
    return Boolean(error) && (error.kind === 'approval_required' || error.kind === 'above_cap');
}

/**
 * Runs `run(approval)` without an approval first; when the box answers that the write needs a
 * right the person lacks (`approval_required`, `above_cap`), asks for a person who holds it to
 * pick themselves and type their PIN, and runs it again with `{person, pin}`. Resolves with the
 * result; rejects with the box's refusal (or the first one when the dialog is closed).
 */
export async function withApproval(run, right) {
    try {
        return await run(undefined);
    } catch (error) {
        if (!needsApproval(error)) throw error;
        const people = await loadPeople();
        return new Promise((resolve, reject) => {
            let done = false;
            openDialog(t('money.approval.title'), (handle) => {
                const holders = [...people.values()].filter((p) => (HOLDERS[right] || ['owner', 'manager']).includes(p.role));
                const alert = alertBox();
                let chosen = holders.length === 1 ? holders[0] : null;
                const group = h('div', { class: 'people', role: 'radiogroup', 'aria-label': t('money.approval.who') });
                function drawPeople() {
                    mount(group, ...holders.map((person) => h('button', {
                        type: 'button', role: 'radio', class: ['person', chosen && chosen.id === person.id && 'chosen'],
                        'aria-checked': String(Boolean(chosen && chosen.id === person.id)), dataset: { testid: 'approver' },
                        onclick: () => { chosen = person; drawPeople(); pin.focus(); },
                    }, h('span', null, person.name), h('span', { class: 'muted' }, t(`role.${person.role}`)))));
                }
                drawPeople();
                const pinID = 'approval-pin';
                const pin = h('input', { id: pinID, type: 'password', inputmode: 'numeric', autocomplete: 'off', class: 'pin-input', maxlength: 12, dataset: { testid: 'approval-pin' } });
                async function submit(event) {
                    event.preventDefault();
                    if (!chosen) { mount(alert, t('money.approval.choose')); alert.hidden = false; return; }
                    if (!/^\d{4,12}$/.test(pin.value)) { mount(alert, t('money.approval.pin_format')); alert.hidden = false; return; }
                    try {
                        const result = await run({ person: chosen.id, pin: pin.value });
                        done = true;
                        handle.close();
                        resolve(result);
                    } catch (again) {
                        pin.value = '';
                        if (needsApproval(again) || again.kind === 'approval_failed' || again.status === 401) { mount(alert, t('money.approval.refused')); alert.hidden = false; return; }
                        done = true;
                        handle.close();
                        reject(again);
                    }
                }
                return h('form', { onsubmit: submit, dataset: { testid: 'approval-dialog' } },
                    h('p', null, t('money.approval.why', { what: t(`money.right.${right}`) })),
                    error.kind === 'above_cap' ? h('p', { class: 'hint warn' }, problemText(error)) : null,
                    holders.length ? group : h('p', { class: 'alert' }, t('money.approval.nobody')),
                    h('label', { for: pinID }, t('money.approval.pin')), pin, alert,
                    h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()),
                        button(t('money.approval.approve'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'approve' } })));
            }, { onclose: () => { if (!done) reject(error); } });
        });
    }
}

/** A request body's idempotency key that stays the same while the body does (a retry never doubles). */
export function keyedWrites() {
    let last = null;
    return (body) => {
        const text = JSON.stringify(body);
        if (!last || last.text !== text) last = { text, key: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}` };
        return last.key;
    };
}

/** The API options of a write that may carry an approval: its PIN failing must not lock the tablet. */
export function writeOptions(approval, key) {
    const options = {};
    if (approval) options.pinAttempt = true;
    if (key) options.key = key;
    return options;
}

/** "2 h 05 min left" / "overdue by 3 min" until `deadline`, redrawn every second. Returns stop(). */
export function countdown(element, deadline, options = {}) {
    function draw() {
        const left = Math.round((new Date(deadline).getTime() - Date.now()) / 1000);
        const abs = Math.abs(left);
        const hours = Math.floor(abs / 3600);
        const minutes = Math.floor((abs % 3600) / 60);
        const seconds = abs % 60;
        const span = hours ? t('money.hm', { h: hours, m: String(minutes).padStart(2, '0'), s: String(seconds).padStart(2, '0') }) : t('money.ms', { m: minutes, s: String(seconds).padStart(2, '0') });
        element.textContent = left >= 0 ? t(options.leftKey || 'money.left', { time: span }) : t('money.overdue', { time: span });
        element.classList.toggle('overdue', left < 0);
        element.title = formatDateTime(deadline);
        if (options.onExpire && left < 0) { const f = options.onExpire; options.onExpire = null; f(); }
    }
    draw();
    const timer = setInterval(draw, 1000);
    return () => clearInterval(timer);
}

/** A definition list of [term, value] pairs (each value a node or text; a testid on dd when given). */
export function facts(rows, testid) {
    return h('dl', { class: 'facts money-facts', dataset: testid ? { testid } : undefined },
        ...rows.filter(Boolean).flatMap(([term, value, id]) => [h('dt', null, term), h('dd', { dataset: id ? { testid: id } : undefined }, value)]));
}

/** A UUIDv7 (new tax rates are named by the app, like every replicated row). */
export function uuidv7() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    let now = Date.now();
    for (let i = 5; i >= 0; i -= 1) { bytes[i] = now % 256; now = Math.floor(now / 256); }
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export { showProblem, problemText };
