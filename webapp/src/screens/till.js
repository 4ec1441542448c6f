// The till (money.read): the drawer (#/drawer: open with a float, the X figures live, paid in /
// paid out, close with a count by denomination → the Z report), Z reports (#/z-reports, one at
// #/z-reports/:id), unverified payments with their countdowns (#/money/unverified) and detected
// anomalies (#/money/anomalies).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime } from '../i18n.js';
import { can, on } from '../store.js';
import { go } from '../router.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText } from '../ui.js';
import { money, readAmount, methodName, paymentBadge, countdown, facts, keyedWrites, loadPeople, personName } from '../money.js';
import { section } from './manage-common.js';

/** The till's own tabs. */
function tabs(current) {
    const items = [['drawer', '#/drawer', 'drawer.operate'], ['unverified', '#/money/unverified', 'money.read'],
        ['anomalies', '#/money/anomalies', 'money.reports'], ['z_reports', '#/z-reports', 'money.reports']].filter(([, , right]) => can(right) || (right === 'drawer.operate' && can('money.read')));
    return h('nav', { class: 'tabs no-print', 'aria-label': t('money.till.tabs') }, ...items.map(([key, href]) => h('a', {
        href, class: ['tab', key === current && 'active'], 'aria-current': key === current ? 'page' : null, dataset: { testid: `till-tab-${key}` },
    }, t(`money.till.${key}`))));
}

function head(title, current) {
    return [h('div', { class: 'screen-head' }, h('h1', null, title),
        can('money.take') ? h('a', { class: 'btn primary no-print', href: '#/checkout', dataset: { testid: 'new-sale' } }, t('retail.checkout.new_sale')) : null), tabs(current)];
}

/** An X or Z report's figures, every unverified and unfiscalised item listed. */
export function reportView(report) {
    const c = report.currency;
    const m = (v) => money(v, c);
    const minus = (v) => (v ? `−${m(v)}` : m(0));
    return h('div', { class: 'report', dataset: { testid: 'report' } },
        report.over_midnight ? h('p', { class: 'alert', role: 'alert', dataset: { testid: 'over-midnight' } }, t('money.report.over_midnight')) : null,
        facts([
            [t('money.report.opened'), `${formatDateTime(report.opened_at)} · ${personName(report.opened_by)}`],
            report.closed_at ? [t('money.report.closed'), `${formatDateTime(report.closed_at)} · ${personName(report.closed_by)}`] : null,
            [t('money.report.box'), `${report.box}${report.till ? ` / ${report.till}` : ''}`],
            [t('money.report.float'), m(report.float_minor), 'r-float'],
            [t('money.report.cash_sales'), m(report.cash_sales_minor), 'r-cash-sales'],
            [t('money.report.cash_refunds'), minus(report.cash_refunds_minor), 'r-cash-refunds'],
            [t('money.report.paid_in'), m(report.paid_in_minor), 'r-paid-in'],
            [t('money.report.paid_out'), minus(report.paid_out_minor), 'r-paid-out'],
            [t('money.report.expected'), h('strong', null, m(report.expected_cash_minor)), 'r-expected'],
            report.counted ? [t('money.report.counted'), h('strong', null, m(report.counted.total_minor)), 'r-counted'] : null,
            report.variance_minor !== undefined && report.variance_minor !== null
                ? [t('money.report.variance'), h('strong', { class: report.variance_minor < 0 ? 'negative' : null }, `${report.variance_minor > 0 ? '+' : ''}${m(report.variance_minor)}`), 'r-variance'] : null,
            [t('money.report.refunds'), m(report.refunds_minor), 'r-refunds'],
            [t('money.report.discounts'), m(report.discounts_minor), 'r-discounts'],
            [t('money.report.tax'), m(report.tax_minor)],
            [t('money.report.sales_count'), String(report.sales_count), 'r-sales-count'],
            [t('money.report.visits_count'), String(report.visits_count), 'r-visits-count'],
            [t('money.report.voids_count'), String(report.voids_count)],
        ], 'report-figures'),
        report.counted ? section(t('money.report.by_denomination'), null, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('money.report.by_denomination')),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('money.drawer.denomination')), h('th', { scope: 'col', class: 'num' }, t('money.drawer.count')), h('th', { scope: 'col', class: 'num' }, t('money.col.total')))),
            h('tbody', null, report.counted.denominations.filter((d) => d.count).map((d) => h('tr', null, h('td', null, m(d.value_minor)), h('td', { class: 'num' }, String(d.count)), h('td', { class: 'num' }, m(d.value_minor * d.count))))))) : null,
        section(t('money.report.methods'), null, !report.methods.length ? emptyState(t('money.report.none')) : h('table', { class: 'data', dataset: { testid: 'report-methods' } },
            h('caption', { class: 'visually-hidden' }, t('money.report.methods')),
            h('thead', null, h('tr', null, ...['method', 'payments', 'refunds', 'net', 'count'].map((k) => h('th', { scope: 'col', class: k === 'method' ? null : 'num' }, t(`money.report.col.${k}`))))),
            h('tbody', null, report.methods.map((row) => h('tr', { dataset: { testid: `method-row-${row.method}` } }, h('td', null, methodName(row.method)),
                h('td', { class: 'num' }, m(row.payments_minor)), h('td', { class: 'num' }, m(row.refunds_minor)), h('td', { class: 'num' }, m(row.net_minor)), h('td', { class: 'num' }, String(row.count))))))),
        section(t('money.report.tips'), null, report.tips.length ? h('ul', { class: 'plain' }, report.tips.map((tip) => h('li', null, `${tip.name}: ${m(tip.amount_minor)}`))) : emptyState(t('money.report.no_tips'))),
        section(t('money.report.unverified'), null, report.unverified.length ? h('ul', { class: 'plain', dataset: { testid: 'report-unverified' } }, report.unverified.map((p) => h('li', null,
            h('a', { href: `#/sales/${p.sale}` }, `${methodName(p.method)} ${m(p.amount_minor)}`), ' ', paymentBadge(p.status), p.deadline ? ` · ${t('money.unverified.deadline_at', { at: formatDateTime(p.deadline) })}` : ''))) : emptyState(t('money.report.none'))),
        section(t('money.report.unfiscalised'), null, report.unfiscalised.length ? h('ul', { class: 'plain', dataset: { testid: 'report-unfiscalised' } }, report.unfiscalised.map((s) => h('li', null,
            h('a', { href: `#/sales/${s.sale}` }, t('money.sale.number', { number: s.number })), ` · ${m(s.total_minor)}`))) : emptyState(t('money.report.none'))));
}

// --- the drawer ----------------------------------------------------------------------------
export function renderDrawer(container) {
    let alive = true;
    let drawer = null;
    const alert = alertBox();
    const body = h('div');
    const xArea = h('div');
    const closeArea = h('div');
    mount(container, ...head(t('money.drawer.title'), 'drawer'), alert, body);
    const counts = new Map();
    let summaryLine = null;

    async function load() {
        try {
            drawer = await api.get('/v1/drawer');
            await loadPeople();
        } catch (error) {
            if (alive) mount(body, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        if (!drawer.session) drawClosed(); else drawOpen();
    }

    function drawClosed() {
        counts.clear();
        const float = field({ label: t('money.drawer.float'), name: 'float_minor', inputmode: 'decimal', value: '' });
        float.control.dataset.testid = 'float';
        const formAlert = alertBox();
        const nextKey = keyedWrites();
        async function open(event) {
            event.preventDefault();
            const value = readAmount(float, { positive: false, currency: drawer.currency });
            if (value === null) return;
            const sent = { float_minor: value };
            try {
                await api.post('/v1/drawer/open', sent, { key: nextKey(sent) });
                load();
            } catch (error) { showProblem(formAlert, error, { float_minor: float }); }
        }
        mount(body, h('p', { dataset: { testid: 'drawer-state' } }, t('money.drawer.closed')),
            can('drawer.operate') ? h('form', { class: 'panel', novalidate: true, onsubmit: open }, h('h2', null, t('money.drawer.open_title')), float, formAlert,
                h('div', { class: 'actions' }, button(t('money.drawer.open'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'open-drawer' } }))) : null);
    }

    function drawOpen() {
        const s = drawer.session;
        mount(body, h('p', { dataset: { testid: 'drawer-state' } }, t('money.drawer.open_since', { at: formatDateTime(s.opened_at), who: personName(s.opened_by) })),
            can('drawer.operate') ? h('div', { class: 'actions' },
                button(t('money.drawer.paid_in'), () => openMovement('paid_in'), { dataset: { testid: 'paid-in' } }),
                button(t('money.drawer.paid_out'), () => openMovement('paid_out'), { dataset: { testid: 'paid-out' } })) : null,
            section(t('money.drawer.x_title'), null, xArea),
            can('drawer.operate') ? closeArea : null);
        drawX();
        if (!closeArea.firstChild) drawClose();
        else updateCounted();
    }

    function drawX() {
        if (drawer.x) mount(xArea, reportView(drawer.x));
    }

    function drawClose() {
        const formAlert = alertBox();
        const note = field({ label: t('money.drawer.note'), name: 'note', maxlength: 500 });
        const rows = drawer.denominations.map((value) => {
            const input = field({ label: money(value, drawer.currency), name: `d-${value}`, type: 'number', min: 0, step: 1, inputmode: 'numeric', value: counts.get(value) || '',
                oninput: () => { counts.set(value, input.control.value); updateCounted(); } });
            input.control.dataset.testid = `count-${value}`;
            input.value = value;
            return input;
        });
        summaryLine = h('div', { class: 'count-summary', role: 'status', 'aria-live': 'polite', dataset: { testid: 'count-summary' } });
        const nextKey = keyedWrites();
        async function close(event) {
            event.preventDefault();
            const counted = {};
            let ok = true;
            for (const row of rows) {
                const text = row.control.value.trim();
                if (text === '') { row.setError(''); continue; }
                const n = Number(text);
                if (!Number.isInteger(n) || n < 0) { row.setError(t('money.error.count')); ok = false; continue; }
                row.setError('');
                if (n > 0) counted[String(row.value)] = n;
            }
            if (!ok) return;
            const sent = { counted };
            if (note.control.value.trim()) sent.note = note.control.value.trim();
            try {
                const report = await api.post('/v1/drawer/close', sent, { key: nextKey(sent) });
                closeArea.replaceChildren();
                go(`/z-reports/${report.id}`);
            } catch (error) { showProblem(formAlert, error, { note }); if (error.kind === 'drawer_closed') load(); }
        }
        mount(closeArea, h('form', { class: 'panel close-drawer', novalidate: true, onsubmit: close, 'aria-labelledby': 'close-drawer-title' },
            h('h2', { id: 'close-drawer-title' }, t('money.drawer.close_title')), h('p', { class: 'hint' }, t('money.drawer.count_hint')),
            h('div', { class: 'denominations' }, rows), summaryLine, note, formAlert,
            h('div', { class: 'actions' }, button(t('money.drawer.close'), null, { kind: 'danger', type: 'submit', dataset: { testid: 'close-drawer' } }))));
        updateCounted();
    }

    function updateCounted() {
        if (!summaryLine || !drawer || !drawer.x) return;
        let total = 0;
        for (const [value, text] of counts) { const n = Number(text); if (Number.isInteger(n) && n > 0) total += n * value; }
        const variance = total - drawer.x.expected_cash_minor;
        mount(summaryLine,
            h('p', null, t('money.drawer.counted_total'), ' ', h('strong', { dataset: { testid: 'counted-total' } }, money(total, drawer.currency))),
            h('p', null, t('money.drawer.expected'), ' ', h('strong', null, money(drawer.x.expected_cash_minor, drawer.currency))),
            h('p', { class: variance < 0 ? 'negative' : null }, t('money.drawer.variance'), ' ', h('strong', { dataset: { testid: 'variance' } }, `${variance > 0 ? '+' : ''}${money(variance, drawer.currency)}`)));
    }

    function openMovement(kind) {
        openDialog(t(`money.drawer.${kind}`), (handle) => {
            const formAlert = alertBox();
            const amount = field({ label: t('money.pay.amount'), name: 'amount_minor', inputmode: 'decimal' });
            amount.control.dataset.testid = 'movement-amount';
            const reason = field({ label: t('money.reason'), name: 'reason', maxlength: 500 });
            reason.control.dataset.testid = 'movement-reason';
            const nextKey = keyedWrites();
            async function submit(event) {
                event.preventDefault();
                const value = readAmount(amount, { currency: drawer.currency });
                if (value === null) return;
                if (!reason.control.value.trim()) { reason.setError(t('money.error.reason_required')); return; }
                reason.setError('');
                const sent = { kind, amount_minor: value, reason: reason.control.value.trim() };
                try {
                    await api.post('/v1/drawer/movements', sent, { key: nextKey(sent) });
                    handle.close();
                    load();
                } catch (error) { showProblem(formAlert, error, { amount_minor: amount, reason }); }
            }
            return h('form', { novalidate: true, onsubmit: submit }, amount, reason, formAlert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-movement' } })));
        });
    }

    const offs = ['event:payment', 'event:sale', 'event:drawer'].map((name) => on(name, () => load()));
    const timer = setInterval(() => { if (!document.querySelector('dialog[open]')) load(); }, 15000);
    load();
    return () => { alive = false; offs.forEach((off) => off()); clearInterval(timer); };
}

// --- Z reports -----------------------------------------------------------------------------
export function renderZReports(container) {
    let alive = true;
    const list = h('div', null, h('p', { class: 'muted' }, t('loading')));
    mount(container, ...head(t('money.z.title'), 'z_reports'), list);
    (async () => {
        try {
            await loadPeople();
            const items = ((await api.get('/v1/z-reports')).items || []).slice().sort((a, b) => String(b.closed_at).localeCompare(String(a.closed_at)));
            if (!alive) return;
            mount(list, items.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('money.z.title') }, h('table', { class: 'data' },
                h('caption', { class: 'visually-hidden' }, t('money.z.title')),
                h('thead', null, h('tr', null, ...['number', 'box', 'closed', 'expected', 'counted', 'variance'].map((k) => h('th', { scope: 'col' }, t(`money.z.col.${k}`))))),
                h('tbody', null, items.map((z) => h('tr', { dataset: { testid: 'z-row' } },
                    h('td', null, h('a', { href: `#/z-reports/${z.id}` }, `Z ${z.number}`)), h('td', null, z.box),
                    h('td', null, z.closed_at ? formatDateTime(z.closed_at) : '—'), h('td', null, money(z.expected_cash_minor, z.currency)),
                    h('td', null, z.counted ? money(z.counted.total_minor, z.currency) : '—'),
                    h('td', { class: z.variance_minor < 0 ? 'negative' : null }, money(z.variance_minor || 0, z.currency))))))) : emptyState(t('money.z.none')));
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
        }
    })();
    return () => { alive = false; };
}

export function renderZReport(container, params) {
    let alive = true;
    const title = h('h1', null, t('money.z.title'));
    const body = h('div', null, h('p', { class: 'muted' }, t('loading')));
    mount(container, h('div', { class: 'screen-head' }, title, button(t('money.receipt.print'), () => window.print(), { class: 'no-print' })), tabs('z_reports'), body);
    (async () => {
        try {
            await loadPeople();
            const report = await api.get(`/v1/z-reports/${params.id}`);
            if (!alive) return;
            title.textContent = t('money.z.number', { number: report.number, box: report.box });
            mount(body, reportView(report));
        } catch (error) {
            if (alive) mount(body, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
        }
    })();
    return () => { alive = false; };
}

// --- unverified payments -------------------------------------------------------------------
export function renderUnverified(container) {
    let alive = true;
    let stops = [];
    const list = h('div', null, h('p', { class: 'muted' }, t('loading')));
    const alert = alertBox();
    mount(container, ...head(t('money.unverified.title'), 'unverified'), alert, list);
    async function load() {
        let items;
        try {
            await loadPeople();
            items = (await api.get('/v1/payments/unverified')).items || [];
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        stops.forEach((stop) => stop());
        stops = [];
        items.sort((a, b) => String(a.deadline).localeCompare(String(b.deadline)));
        mount(list, items.length ? h('ul', { class: 'list money-list' }, items.map((p) => {
            const clock = h('span', { class: 'countdown', dataset: { testid: 'countdown' } });
            if (p.deadline) stops.push(countdown(clock, p.deadline));
            return h('li', { class: 'item', dataset: { testid: 'unverified', payment: p.id } },
                h('div', { class: 'item-main' },
                    h('strong', { dataset: { testid: 'unverified-amount' } }, money(p.amount_minor, p.currency)), ' · ', methodName(p.method), ' · ',
                    h('a', { href: `#/sales/${p.sale}` }, t('money.sale.number', { number: p.sale_number || '' })),
                    h('div', { class: 'hint' }, t('money.unverified.taken', { at: formatDateTime(p.created_at), who: personName(p.created_by) }), ' · ', clock)),
                can('money.verify') ? h('div', { class: 'actions tight' },
                    button(t('money.unverified.verify'), () => verify(p, 'verified'), { kind: 'primary', dataset: { testid: 'verify' } }),
                    button(t('money.unverified.failed'), () => verify(p, 'failed'), { kind: 'danger', dataset: { testid: 'mark-failed' } })) : null);
        })) : emptyState(t('money.unverified.none')));
    }
    function verify(p, outcome) {
        openDialog(t(outcome === 'verified' ? 'money.unverified.verify_title' : 'money.unverified.failed_title', { amount: money(p.amount_minor, p.currency) }), (handle) => {
            const formAlert = alertBox();
            const note = field({ label: t('money.note_optional'), name: 'note', maxlength: 500 });
            async function submit(event) {
                event.preventDefault();
                const sent = { outcome };
                if (note.control.value.trim()) sent.note = note.control.value.trim();
                try {
                    await api.post(`/v1/payments/${p.id}/verify`, sent);
                    handle.close();
                    load();
                } catch (error) { showProblem(formAlert, error, { note }); }
            }
            return h('form', { novalidate: true, onsubmit: submit }, note, formAlert, h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()),
                button(t(outcome === 'verified' ? 'money.unverified.verify' : 'money.unverified.failed'), null, { kind: outcome === 'verified' ? 'primary' : 'danger', type: 'submit', dataset: { testid: 'confirm-verify' } })));
        });
    }
    const offs = [on('event:payment', load)];
    load();
    return () => { alive = false; stops.forEach((stop) => stop()); offs.forEach((off) => off()); };
}

// --- anomalies -----------------------------------------------------------------------------
export function renderAnomalies(container) {
    let alive = true;
    const list = h('div', null, h('p', { class: 'muted' }, t('loading')));
    mount(container, ...head(t('money.anomalies.title'), 'anomalies'), list);
    async function load() {
        let items;
        try {
            await loadPeople();
            items = (await api.get('/v1/money/anomalies')).items || [];
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        // Open ones first; otherwise the box's order (by kind, then id: the same on every box).
        items = items.map((a, index) => [a, index]).sort(([a, i], [b, j]) => Number(Boolean(a.resolved)) - Number(Boolean(b.resolved)) || i - j).map(([a]) => a);
        const saleLinks = (sales) => sales.flatMap((sale, index) => [' · ', h('a', { href: `#/sales/${sale}`, dataset: { testid: 'anomaly-sale' } },
            sales.length > 1 ? t('money.anomalies.open_sale_n', { n: index + 1 }) : t('money.anomalies.open_sale'))]);
        mount(list, items.length ? h('ul', { class: 'list money-list' }, items.map((a) => h('li', { class: ['item', a.resolved && 'resolved'], dataset: { testid: 'anomaly', kind: a.kind } },
            h('div', { class: 'item-main' },
                h('strong', null, t(`money.anomaly.${a.kind}`)), ' · ', money(a.amount_minor, a.currency),
                h('p', { class: 'hint' }, t(`money.anomaly.${a.kind}_explained`)),
                h('p', { class: 'hint' }, t('money.anomalies.payments', { count: a.payments.length }), saleLinks(a.sales || [])),
                a.resolved ? h('p', { dataset: { testid: 'resolution' } }, t('money.anomalies.resolved', { at: formatDateTime(a.resolved.at), who: personName(a.resolved.by), note: a.resolved.note })) : null),
            !a.resolved && can('money.reports') ? h('div', { class: 'actions tight' }, button(t('money.anomalies.resolve'), () => resolve(a), { kind: 'primary', dataset: { testid: 'resolve' } })) : null)))
            : emptyState(t('money.anomalies.none')));
    }
    function resolve(a) {
        openDialog(t('money.anomalies.resolve_title'), (handle) => {
            const formAlert = alertBox();
            const note = field({ label: t('money.anomalies.note'), name: 'note', type: 'textarea', rows: 3, maxlength: 2000 });
            note.control.dataset.testid = 'resolve-note';
            async function submit(event) {
                event.preventDefault();
                if (!note.control.value.trim()) { note.setError(t('money.error.note_required')); return; }
                try {
                    await api.post(`/v1/money/anomalies/${a.id}/resolve`, { note: note.control.value.trim() });
                    handle.close();
                    load();
                } catch (error) { showProblem(formAlert, error, { note }); }
            }
            return h('form', { novalidate: true, onsubmit: submit }, h('p', null, t(`money.anomaly.${a.kind}_explained`)), note, formAlert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('money.anomalies.resolve'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'confirm-resolve' } })));
        });
    }
    const offs = [on('event:payment', load), on('event:sale', load)];
    // A resolution made on another box arrives by sync with no event of its own (money_resolutions
    // is not in the event stream): asked again every few seconds while the screen is open.
    const timer = setInterval(() => { if (!document.hidden) load(); }, 4000);
    load();
    return () => { alive = false; clearInterval(timer); offs.forEach((off) => off()); };
}

