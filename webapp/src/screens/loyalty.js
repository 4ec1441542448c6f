// Loyalty (docs/retail.md): a client's points (here, held by other boxes, in total, and when they
// expire), their ledger and gift cards on the client's profile; and the owner's screens under
// Manage — coupons (create with allotments per box, edit, deactivate, uses and what each box holds,
// move an allotment between boxes), the loyalty rules, and a gift card's balance enquiry.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDate, formatDateTime } from '../i18n.js';
import { can, on } from '../store.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText, notify } from '../ui.js';
import { money, readAmount, amountText } from '../money.js';
import { checkboxField, intValue, section, table } from './manage-common.js';
import { boxLabel } from './retail-common.js';
import { giftCardByCode, balanceText } from './sale-retail.js';

// --- a client's profile ---------------------------------------------------------------------

/** The loyalty section of a client's profile. Returns {element, stop()}. */
export function clientLoyalty(clientID) {
    const element = h('div', { dataset: { testid: 'client-loyalty' } });
    let alive = true;
    async function load() {
        let loyalty;
        try { loyalty = await api.get(`/v1/clients/${clientID}/loyalty`); } catch (error) {
            if (alive) mount(element, section(t('retail.loyalty.title'), null, h('p', { class: 'alert', role: 'alert' }, problemText(error))));
            return;
        }
        if (!alive) return;
        const points = loyalty.points || { here: 0, elsewhere: [], total: 0 };
        const held = (points.elsewhere || []).filter((e) => Number(e.amount) > 0);
        mount(element, section(t('retail.loyalty.title'), null,
            h('dl', { class: 'facts' },
                h('dt', null, t('retail.loyalty.points_here')), h('dd', { dataset: { testid: 'points-here' } }, String(points.here)),
                h('dt', null, t('retail.loyalty.points_elsewhere')), h('dd', { dataset: { testid: 'points-elsewhere' } },
                    held.length ? held.map((e) => `${boxLabel(e)}: ${e.amount}`).join('; ') : '0'),
                h('dt', null, t('retail.loyalty.points_total')), h('dd', { dataset: { testid: 'points-total' } }, String(points.total)),
                h('dt', null, t('retail.loyalty.expiry')), h('dd', null, loyalty.points_expire_at ? formatDate(loyalty.points_expire_at) : t('retail.loyalty.no_expiry'))),
            held.length ? h('p', { class: 'hint' }, t('retail.loyalty.elsewhere_hint')) : null,
            h('h3', null, t('retail.loyalty.ledger')),
            (loyalty.ledger || []).length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('retail.loyalty.ledger') }, table(t('retail.loyalty.ledger'),
                ['when', 'kind', 'amount', 'box'].map((k) => t(`retail.loyalty.col.${k}`)),
                loyalty.ledger.map((entry) => h('tr', { dataset: { testid: 'ledger-entry', kind: entry.kind } },
                    h('td', null, formatDateTime(entry.at)), h('td', null, t(`retail.escrow.${entry.kind}`)),
                    h('td', { class: 'num' }, entry.kind === 'transfer' ? String(entry.amount) : (entry.amount > 0 ? `+${entry.amount}` : String(entry.amount))),
                    h('td', null, entry.holder || '—'))), { hideCaption: true })) : emptyState(t('retail.loyalty.no_ledger')),
            h('h3', null, t('retail.loyalty.gift_cards')),
            (loyalty.gift_cards || []).length ? h('ul', { class: 'list' }, loyalty.gift_cards.map((card) => h('li', { dataset: { testid: 'client-gift-card' } },
                h('strong', null, groups(card.code)), ' · ', t(`retail.giftcard.state.${card.state}`), ' · ', balanceText(card.balance, card.currency),
                card.expires_at ? ` · ${t('retail.giftcard.expires', { date: formatDate(card.expires_at) })}` : '')))
                : emptyState(t('retail.loyalty.no_gift_cards'))));
    }
    load();
    const offs = [on('event:payment', load), on('event:sale', load)];
    return { element, stop() { alive = false; offs.forEach((off) => off()); } };
}

/** A card's code in groups of four. */
export function groups(code) { return String(code || '').replace(/(.{4})(?=.)/g, '$1 '); }

// --- coupons (Manage → Coupons, loyalty.manage) -----------------------------------------------

/** What each box holds of an account, from a coupon's document. */
function holdings(coupon) {
    if (Array.isArray(coupon.holdings)) return coupon.holdings;
    const balance = coupon.balance;
    if (!balance) return [];
    return [{ here: true, amount: balance.here }, ...(balance.elsewhere || [])];
}

export function renderCoupons(container) {
    let alive = true;
    const list = h('div', { dataset: { testid: 'coupons' } });
    async function load() {
        let items;
        try { items = (await api.get('/v1/coupons')).items || []; } catch (error) { if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error))); return; }
        if (!alive) return;
        mount(list, items.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('retail.coupons.title') }, table(t('retail.coupons.title'),
            ['code', 'name', 'value', 'uses', 'held', 'state', 'actions'].map((k) => t(`retail.coupons.col.${k}`)),
            items.map((c) => h('tr', { class: c.active ? null : 'revoked', dataset: { testid: 'coupon', code: c.code } },
                h('th', { scope: 'row' }, c.code),
                h('td', null, c.name || '—'),
                h('td', null, c.kind === 'percent' ? `${c.value} %` : money(c.value, c.currency || undefined)),
                h('td', { class: 'num', dataset: { testid: 'coupon-uses' } }, c.total_limit ? t('retail.coupons.uses_of', { used: c.uses_known || 0, limit: c.total_limit }) : String(c.uses_known || 0)),
                h('td', { dataset: { testid: 'coupon-held' } }, holdings(c).map((x) => `${x.here ? t('retail.this_box') : boxLabel(x)}: ${x.amount}`).join('; ') || '—'),
                h('td', null, c.active ? t('manage.active') : t('manage.inactive')),
                h('td', null, h('div', { class: 'actions tight' },
                    button(t('manage.edit'), () => openCoupon(c, load), { ariaLabel: t('manage.edit_named', { name: c.code }), dataset: { testid: 'edit-coupon' } }),
                    c.total_limit ? button(t('retail.coupons.move'), () => openMove(`coupon:${c.id}`, c, load), { dataset: { testid: 'move-coupon' } }) : null,
                    c.active ? button(t('retail.coupons.deactivate'), async () => {
                        try { await api.patch(`/v1/coupons/${c.id}`, { active: false }); load(); } catch (error) { notify(problemText(error), 'error'); }
                    }, { kind: 'danger', dataset: { testid: 'deactivate-coupon' } }) : null)))), { hideCaption: true }))
            : emptyState(t('retail.coupons.none')));
    }
    mount(container, section(t('retail.coupons.title'), button(t('retail.coupons.add'), () => openCoupon(null, load), { kind: 'primary', dataset: { testid: 'add-coupon' } }), list));
    load();
    const off = on('event:loyalty', load);
    return () => { alive = false; off(); };
}

/** The boxes of the business this replica knows (GET /v1/status: peers), for allotments and moves. */
async function knownBoxes() {
    try {
        const status = await api.get('/v1/status');
        const boxes = [];
        const selfSite = status.site;
        if (selfSite) boxes.push({ site: selfSite, name: t('retail.this_box'), here: true });
        for (const peer of status.peers || []) {
            const site = peer.site;
            if (site) boxes.push({ site, name: peer.name || site });
        }
        return boxes;
    } catch { return []; }
}

function openCoupon(coupon, onSaved) {
    openDialog(coupon ? t('retail.coupons.edit_title', { code: coupon.code }) : t('retail.coupons.add'), (handle) => {
        const alert = alertBox();
        const f = {
            code: field({ label: t('retail.coupons.code'), name: 'code', value: coupon ? coupon.code : '', maxlength: 32, hint: t('retail.coupons.code_hint') }),
            name: field({ label: t('retail.coupons.name'), name: 'name', value: coupon ? coupon.name : '', maxlength: 200 }),
            kind: field({ label: t('retail.coupons.kind'), name: 'kind', value: coupon ? coupon.kind : 'percent', options: [['percent', t('retail.coupons.percent')], ['amount', t('retail.coupons.amount')]] }),
            value: field({ label: t('retail.coupons.value'), name: 'value', value: coupon ? (coupon.kind === 'amount' ? amountText(coupon.value) : String(coupon.value)) : '', inputmode: 'decimal' }),
            min_spend: field({ label: t('retail.coupons.min_spend'), name: 'min_spend_minor', value: coupon && coupon.min_spend_minor ? amountText(coupon.min_spend_minor) : '', inputmode: 'decimal' }),
            per_client: field({ label: t('retail.coupons.per_client'), name: 'per_client_limit', type: 'number', min: 0, value: coupon ? coupon.per_client_limit : 0, inputmode: 'numeric' }),
            total: field({ label: t('retail.coupons.total'), name: 'total_limit', type: 'number', min: 0, value: coupon ? coupon.total_limit : 0, inputmode: 'numeric', hint: t('retail.coupons.total_hint') }),
            valid_from: field({ label: t('retail.coupons.valid_from'), name: 'valid_from', type: 'date', value: coupon && coupon.valid_from ? coupon.valid_from.slice(0, 10) : '' }),
            valid_until: field({ label: t('retail.coupons.valid_until'), name: 'valid_until', type: 'date', value: coupon && coupon.valid_until ? coupon.valid_until.slice(0, 10) : '' }),
            categories: field({ label: t('retail.coupons.categories'), name: 'categories', value: coupon ? (coupon.categories || []).join(', ') : '', hint: t('retail.coupons.applies_hint') }),
            active: checkboxField(t('manage.active_label'), coupon ? coupon.active : true, 'active'),
        };
        for (const [key, wrapper] of Object.entries(f)) wrapper.control.dataset.testid = `coupon-${key.replace('_', '-')}`;
        const allotmentArea = h('div', { dataset: { testid: 'allotments' } });
        const allotments = new Map();
        if (!coupon) {
            knownBoxes().then((boxes) => {
                const others = boxes.filter((b) => !b.here);
                mount(allotmentArea, others.length ? h('fieldset', null, h('legend', null, t('retail.coupons.allotments')), h('p', { class: 'hint' }, t('retail.coupons.allotments_hint')),
                    ...others.map((b) => {
                        const uses = field({ label: t('retail.coupons.allotment_for', { box: b.name }), name: `allot-${b.site}`, type: 'number', min: 0, value: '0', inputmode: 'numeric' });
                        allotments.set(b.site, uses);
                        return uses;
                    })) : h('p', { class: 'hint' }, t('retail.coupons.allotments_here')));
            });
        }
        async function save(event) {
            event.preventDefault();
            let ok = true;
            const code = f.code.control.value.trim().toUpperCase();
            if (!/^[A-Z0-9-]{3,32}$/.test(code)) { f.code.setError(t('retail.coupon.invalid')); ok = false; } else f.code.setError('');
            const kind = f.kind.control.value;
            let value;
            if (kind === 'percent') {
                value = Number(f.value.control.value);
                if (!Number.isInteger(value) || value < 1 || value > 100) { f.value.setError(t('retail.coupons.percent_invalid')); ok = false; } else f.value.setError('');
            } else {
                value = readAmount(f.value);
                if (value === null) ok = false;
            }
            const minSpend = readAmount(f.min_spend, { required: false, positive: false });
            if (minSpend === null) ok = false;
            const perClient = intValue(f.per_client);
            const total = intValue(f.total);
            for (const [wrapper, v] of [[f.per_client, perClient], [f.total, total]]) {
                if (Number.isNaN(v) || (v !== null && v < 0)) { wrapper.setError(t('manage.whole_number')); ok = false; } else wrapper.setError('');
            }
            const allotted = {};
            let sum = 0;
            for (const [site, wrapper] of allotments) {
                const v = intValue(wrapper);
                if (Number.isNaN(v) || (v !== null && v < 0)) { wrapper.setError(t('manage.whole_number')); ok = false; continue; }
                wrapper.setError('');
                if (v) { allotted[site] = v; sum += v; }
            }
            if (ok && sum > (total || 0) && sum > 0) { f.total.setError(t('retail.coupons.allotments_over')); ok = false; }
            if (!ok) return;
            const body = {
                code, name: f.name.control.value.trim(), kind, value, min_spend_minor: minSpend || 0, per_client_limit: perClient || 0, total_limit: total || 0,
                valid_from: f.valid_from.control.value ? `${f.valid_from.control.value}T00:00:00Z` : null,
                valid_until: f.valid_until.control.value ? `${f.valid_until.control.value}T23:59:59Z` : null,
                categories: f.categories.control.value.split(',').map((c) => c.trim()).filter(Boolean), active: f.active.control.checked,
            };
            if (kind === 'amount') body.currency = undefined;
            try {
                if (coupon) await api.patch(`/v1/coupons/${coupon.id}`, body);
                else await api.post('/v1/coupons', { ...body, allotments: allotted });
                handle.close();
                onSaved();
            } catch (error) {
                showProblem(alert, error, { code: f.code, name: f.name, kind: f.kind, value: f.value, min_spend_minor: f.min_spend, per_client_limit: f.per_client, total_limit: f.total, valid_from: f.valid_from, valid_until: f.valid_until });
            }
        }
        return h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'coupon-form' } },
            h('div', { class: 'form-row' }, f.code, f.name), h('div', { class: 'form-row' }, f.kind, f.value, f.min_spend),
            h('div', { class: 'form-row' }, f.per_client, f.total), h('div', { class: 'form-row' }, f.valid_from, f.valid_until), f.categories, f.active,
            allotmentArea, alert,
            h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-coupon' } })));
    }, { wide: true });
}

/** Moves part of an account's allotment from one box to another (POST /v1/escrow/moves). */
function openMove(account, coupon, onSaved) {
    openDialog(t('retail.coupons.move_title', { code: coupon.code }), (handle) => {
        const alert = alertBox();
        const from = field({ label: t('retail.move.from'), name: 'from', options: [] });
        const to = field({ label: t('retail.move.to'), name: 'to', options: [] });
        const amount = field({ label: t('retail.move.amount'), name: 'amount', type: 'number', min: 1, inputmode: 'numeric' });
        from.control.dataset.testid = 'move-from'; to.control.dataset.testid = 'move-to'; amount.control.dataset.testid = 'move-amount';
        knownBoxes().then((boxes) => {
            const options = boxes.map((b) => h('option', { value: b.site }, b.name));
            mount(from.control, ...options.map((o) => o.cloneNode(true)));
            mount(to.control, ...options.map((o) => o.cloneNode(true)));
            if (boxes.length > 1) to.control.value = boxes[1].site;
        });
        async function save(event) {
            event.preventDefault();
            const value = Number(amount.control.value);
            if (!Number.isInteger(value) || value < 1) { amount.setError(t('manage.whole_number')); return; }
            if (from.control.value === to.control.value) { to.setError(t('retail.move.same_box')); return; }
            amount.setError(''); to.setError('');
            try {
                await api.post('/v1/escrow/moves', { account, from: from.control.value, to: to.control.value, amount: value, reason: t('retail.move.reason_owner') });
                handle.close();
                notify(t('retail.move.asked'));
                onSaved();
            } catch (error) { showProblem(alert, error, { from, to, amount }); }
        }
        return h('form', { novalidate: true, onsubmit: save }, h('p', { class: 'hint' }, t('retail.move.hint')), h('div', { class: 'form-row' }, from, to, amount), alert,
            h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('retail.move.confirm'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'confirm-move' } })));
    });
}

// --- loyalty rules (Manage → Loyalty, loyalty.manage) ----------------------------------------

export function renderLoyaltyRules(container) {
    const alert = alertBox();
    const form = h('form', { novalidate: true, dataset: { testid: 'loyalty-form' } });
    let rules = null;
    async function load() {
        try { rules = await api.get('/v1/loyalty/rules'); } catch (error) { showProblem(alert, error); return; }
        draw();
    }
    function draw() {
        const f = {
            enabled: checkboxField(t('retail.rules.enabled'), rules.enabled, 'enabled'),
            earn_points: field({ label: t('retail.rules.earn_points'), name: 'earn_points', type: 'number', min: 0, value: rules.earn_points, inputmode: 'numeric' }),
            earn_per: field({ label: t('retail.rules.earn_per'), name: 'earn_per_minor', value: rules.earn_per_minor ? amountText(rules.earn_per_minor) : '', inputmode: 'decimal' }),
            visit_points: field({ label: t('retail.rules.visit_points'), name: 'visit_points', type: 'number', min: 0, value: rules.visit_points, inputmode: 'numeric' }),
            point_value: field({ label: t('retail.rules.point_value'), name: 'point_value_minor', value: rules.point_value_minor ? amountText(rules.point_value_minor) : '', inputmode: 'decimal' }),
            expiry_days: field({ label: t('retail.rules.expiry_days'), name: 'expiry_days', type: 'number', min: 0, value: rules.expiry_days, inputmode: 'numeric', hint: t('retail.rules.expiry_hint') }),
            max_redeem: field({ label: t('retail.rules.max_redeem'), name: 'max_redeem_percent', type: 'number', min: 1, max: 100, value: rules.max_redeem_percent, inputmode: 'numeric' }),
        };
        for (const [key, wrapper] of Object.entries(f)) wrapper.control.dataset.testid = `rules-${key.replace('_', '-')}`;
        form.onsubmit = async (event) => {
            event.preventDefault();
            let ok = true;
            const ints = {};
            for (const key of ['earn_points', 'visit_points', 'expiry_days', 'max_redeem']) {
                const v = intValue(f[key]);
                if (Number.isNaN(v) || (v !== null && v < 0) || (key === 'max_redeem' && (v === null || v < 1 || v > 100))) { f[key].setError(key === 'max_redeem' ? t('retail.rules.percent_invalid') : t('manage.whole_number')); ok = false; } else { f[key].setError(''); ints[key] = v || 0; }
            }
            const per = readAmount(f.earn_per, { required: false, positive: false });
            const value = readAmount(f.point_value, { required: false, positive: false });
            if (per === null || value === null) ok = false;
            if (!ok) return;
            const body = { ...rules, enabled: f.enabled.control.checked, earn_points: ints.earn_points, earn_per_minor: per, visit_points: ints.visit_points,
                point_value_minor: value, expiry_days: ints.expiry_days, max_redeem_percent: ints.max_redeem };
            try {
                rules = await api.put('/v1/loyalty/rules', body);
                showProblem(alert, null);
                notify(t('retail.saved'));
            } catch (error) {
                showProblem(alert, error, { earn_points: f.earn_points, earn_per_minor: f.earn_per, visit_points: f.visit_points, point_value_minor: f.point_value, expiry_days: f.expiry_days, max_redeem_percent: f.max_redeem });
            }
        };
        mount(form, f.enabled, h('div', { class: 'form-row' }, f.earn_points, f.earn_per, f.visit_points), h('div', { class: 'form-row' }, f.point_value, f.expiry_days, f.max_redeem), alert,
            h('div', { class: 'actions' }, button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-rules' } })));
    }
    mount(container, section(t('retail.rules.title'), null, h('p', { class: 'hint' }, t('retail.rules.hint')), form, alert));
    load();
    return null;
}

// --- gift-card balance enquiry (Manage → Gift cards, money.read) -------------------------------

export function renderGiftCards(container) {
    const alert = alertBox();
    const result = h('div', { dataset: { testid: 'gift-card-result' } });
    const code = field({ label: t('retail.giftcard.code'), name: 'code', maxlength: 40, hint: t('retail.giftcard.scan_hint') });
    code.control.dataset.testid = 'enquiry-code';
    async function submit(event) {
        event.preventDefault();
        const text = code.control.value.replace(/[\s-]/g, '').toUpperCase();
        if (!text) { code.setError(t('retail.giftcard.code_required')); return; }
        code.setError('');
        try {
            const card = await giftCardByCode(text);
            if (!card) { mount(result, emptyState(t('retail.giftcard.unknown'))); return; }
            const balance = card.balance || { here: 0, elsewhere: [], total: 0 };
            mount(result, h('dl', { class: 'facts' },
                h('dt', null, t('retail.giftcard.code')), h('dd', null, groups(card.code)),
                h('dt', null, t('retail.giftcard.state_label')), h('dd', { dataset: { testid: 'card-state' } }, t(`retail.giftcard.state.${card.state}`)),
                h('dt', null, t('retail.giftcard.initial')), h('dd', null, money(card.initial_minor, card.currency)),
                h('dt', null, t('retail.this_box')), h('dd', { dataset: { testid: 'card-here' } }, money(balance.here, card.currency)),
                ...(balance.elsewhere || []).flatMap((e) => [h('dt', null, boxLabel(e)), h('dd', null, money(e.amount, card.currency))]),
                h('dt', null, t('retail.giftcard.total')), h('dd', { dataset: { testid: 'card-total' } }, money(balance.total, card.currency)),
                h('dt', null, t('retail.giftcard.expiry')), h('dd', null, card.expires_at ? formatDate(card.expires_at) : t('retail.loyalty.no_expiry'))));
            showProblem(alert, null);
        } catch (error) { showProblem(alert, error, { code }); }
    }
    mount(container, section(t('retail.giftcard.enquiry'), null,
        h('form', { novalidate: true, onsubmit: submit }, h('div', { class: 'form-row' }, code), alert,
            h('div', { class: 'actions' }, button(t('retail.giftcard.check'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'enquire' } }))),
        result));
    return null;
}

