// The owner reports (issue 19, docs/reports.md; reports.read: owner and manager): the dashboard
// (#/dashboard: today and this week at a glance, with 14-day sparklines) and the report pages
// (#/reports/revenue|utilisation|bookings|clients|staff|stock): the filters above (a date range
// with presets, the branches the person may report on, compare with the previous period), how
// fresh each branch's figures are, charts where people would rather look, and beside them the
// tables with exactly the CSV's columns and rows, each downloadable as CSV. Print gives the page
// without navigation, the filters as a one-line summary, a section per page.
import { h, mount, uid } from '../dom.js';
import { api, withQuery, ApiError } from '../api.js';
import { t, currentLanguage, formatMoney, formatAgo, formatDateTime, has } from '../i18n.js';
import { state, on } from '../store.js';
import { today as todayDate, addDays, weekStart } from '../time.js';
import { button, alertBox, problemText, emptyState, notify } from '../ui.js';
import { barChart, lineChart, sparkline, heatMap } from '../charts.js';
import { TABLES, WEEKDAYS, reportTable, formatCount, formatAmount, formatRate, formatLocalDate, share, minorDigits, rateValue } from './report-tables.js';

export const REPORT_KINDS = ['revenue', 'utilisation', 'bookings', 'clients', 'staff', 'stock'];
export const PRESETS = ['today', 'this_week', 'this_month', 'last_month', 'last_30'];

/** The branches this person may report on (`GET /v1/me` `report_branches`), with their names. */
export function reportBranches() {
    const ids = (state.me && state.me.report_branches) || [];
    return ids.map((id) => (state.branches || []).find((b) => b.id === id) || { id, name: id });
}

/** The dates of a preset, in the home branch's zone. */
export function presetRange(preset, today = todayDate()) {
    switch (preset) {
    case 'today': return { from: today, to: today };
    case 'this_week': return { from: weekStart(today), to: today };
    case 'this_month': return { from: `${today.slice(0, 8)}01`, to: today };
    case 'last_month': {
        const end = addDays(`${today.slice(0, 8)}01`, -1);
        return { from: `${end.slice(0, 8)}01`, to: end };
    }
    default: return { from: addDays(today, -29), to: today };
    }
}

function presetOf(from, to) {
    return PRESETS.find((preset) => { const range = presetRange(preset); return range.from === from && range.to === to; }) || '';
}

/** The freshness line of each branch: this box / last synced N ago / never heard from. */
export function freshnessList(freshness) {
    const items = (freshness || []).map((f) => {
        let status;
        if (f.this_box) status = t('reports.fresh.this_box');
        else if (f.last_heard_at) status = t('reports.fresh.synced', { ago: formatAgo(f.last_heard_at) });
        else status = t('reports.fresh.never');
        const newest = f.newest_fact_at ? t('reports.fresh.newest', { ago: formatAgo(f.newest_fact_at) }) : t('reports.fresh.no_data');
        return h('li', { dataset: { testid: 'freshness', branch: f.branch_id, state: f.this_box ? 'this_box' : f.last_heard_at ? 'synced' : 'never' } },
            h('strong', null, `${f.name}: `), status, h('span', { class: 'muted' }, ` · ${newest}`));
    });
    return h('ul', { class: 'freshness', 'aria-label': t('reports.fresh.label') }, items);
}

/** A figure: its label, its value as shown, its raw value for checks, and an optional sparkline. */
function figure(label, shown, options = {}) {
    return h('div', { class: 'figure', dataset: { testid: options.testid, value: options.value === undefined ? undefined : String(options.value) } },
        h('div', { class: 'figure-label' }, label),
        h('div', { class: 'figure-value' }, shown),
        options.previous ? h('div', { class: 'figure-previous muted' }, options.previous) : null,
        options.spark || null);
}

function reportTabs(current) {
    return h('nav', { class: 'tabs no-print', 'aria-label': t('reports.tabs') },
        [['dashboard', '#/dashboard'], ...REPORT_KINDS.map((kind) => [kind, `#/reports/${kind}`])].map(([key, href]) =>
            h('a', { href, class: ['tab', key === current && 'active'], 'aria-current': key === current ? 'page' : null, dataset: { testid: `report-tab-${key}` } }, t(`reports.kind.${key}`))));
}

function printButton() {
    return button(t('reports.print'), () => window.print(), { class: 'no-print', dataset: { testid: 'report-print' } });
}

/** The report page owns the print layout while it is open (A4, not the receipt's 80 mm). */
function printMode() {
    document.documentElement.classList.add('print-report');
    return () => document.documentElement.classList.remove('print-report');
}

function errorText(error, filters) {
    // The box's problem (400 naming the parameter) in the person's language: which one it is.
    if (error instanceof ApiError && error.status === 400) {
        const fields = (error.errors || []).map((e) => e.field);
        const dates = fields.some((f) => f === 'from' || f === 'to') || !fields.length;
        if (dates && filters.from && filters.to && filters.to < filters.from) return t('reports.error.backwards');
        if (dates && filters.from && filters.to && filters.to >= `${String(Number(filters.from.slice(0, 4)) + 3).padStart(4, '0')}${filters.from.slice(4)}`) return t('reports.error.too_long');
        if (dates) return t('reports.error.dates');
        return t('reports.error.parameter', { names: fields.join(', ') });
    }
    if (error instanceof ApiError && error.status === 403) return has(`problem.${error.kind}`) ? problemText(error) : t('reports.error.forbidden');
    return problemText(error);
}

// --- the dashboard --------------------------------------------------------------------------

export function renderDashboard(container) {
    const branches = reportBranches();
    const alert = alertBox();
    const body = h('div', { class: 'owner-report' }, h('p', { class: 'muted' }, t('loading')));
    let chosen = '';
    const picker = branches.length > 1 ? h('div', { class: 'field no-print' },
        h('label', { for: 'dashboard-branch' }, t('reports.filter.branches')),
        h('select', { id: 'dashboard-branch', dataset: { testid: 'dashboard-branch' }, onchange: (event) => { chosen = event.target.value; load(); } },
            h('option', { value: '' }, t('reports.filter.all_branches')), branches.map((b) => h('option', { value: b.id }, b.name)))) : null;
    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('reports.dashboard.title')), printButton()),
        reportTabs('dashboard'), picker, alert, body);
    let alive = true;
    let timer = null;
    async function load() {
        let result;
        try {
            result = await api.get('/v1/reports/dashboard', { branch: chosen || undefined });
        } catch (error) {
            if (!alive) return;
            alert.hidden = false;
            alert.textContent = errorText(error, {});
            return;
        }
        if (!alive) return;
        alert.hidden = true;
        drawDashboard(body, result);
    }
    const soon = () => { clearTimeout(timer); timer = setTimeout(load, 1500); };
    const offs = [on('event', soon), on('event:reset', soon)];
    const every = setInterval(load, 60000);
    const stopPrint = printMode();
    load();
    return () => { alive = false; clearTimeout(timer); clearInterval(every); offs.forEach((off) => off()); stopPrint(); };
}

function drawDashboard(body, result) {
    const days = result.sparkline || [];
    const currencies = [...new Set([...Object.keys(result.today.net_minor || {}), ...Object.keys(result.week.net_minor || {}), ...days.flatMap((d) => Object.keys(d.net_minor || {}))])].sort();
    const windowCard = (name, w) => {
        const figures = [];
        for (const currency of currencies.length ? currencies : [state.branch ? state.branch.currency : 'KZT']) {
            const minor = (w.net_minor || {})[currency] || 0;
            figures.push(figure(t('reports.dashboard.net', { currency }), formatMoney({ amount_minor: minor, currency }), {
                testid: `dash-${name}-net-${currency}`, value: minor,
                spark: sparkline(days.map((d) => (d.net_minor || {})[currency] || 0), { label: t('reports.dashboard.spark_net', { currency }) }),
            }));
        }
        const bookings = w.bookings || {};
        figures.push(figure(t('reports.dashboard.bookings'), formatCount(bookings.scheduled), { testid: `dash-${name}-bookings`, value: bookings.scheduled || 0,
            spark: sparkline(days.map((d) => d.scheduled), { label: t('reports.dashboard.spark_bookings') }) }));
        const rate = share(w.booked_minutes, w.available_minutes);
        figures.push(figure(t('reports.dashboard.utilisation'), formatRate(rate), { testid: `dash-${name}-utilisation`, value: rateValue(rate),
            spark: sparkline(days.map((d) => share(d.booked_minutes, d.available_minutes)), { label: t('reports.dashboard.spark_utilisation') }) }));
        figures.push(figure(t('reports.dashboard.no_shows'), formatCount(bookings.no_shows), { testid: `dash-${name}-no-shows`, value: bookings.no_shows || 0,
            spark: sparkline(days.map((d) => d.no_shows), { label: t('reports.dashboard.spark_no_shows') }) }));
        return h('section', { class: 'report-section card', 'aria-labelledby': `dash-${name}-title`, dataset: { testid: `dash-${name}` } },
            h('h2', { id: `dash-${name}-title` }, t(`reports.dashboard.${name}`), h('span', { class: 'muted small' }, ` · ${w.from === w.to ? formatLocalDate(w.from) : `${formatLocalDate(w.from)} – ${formatLocalDate(w.to)}`}`)),
            h('div', { class: 'figures' }, figures));
    };
    mount(body,
        h('p', { class: 'print-summary' }, t('reports.print_summary', { title: t('reports.dashboard.title'), period: formatLocalDate(result.today.to),
            branches: (result.freshness || []).map((f) => f.name).join(', '), printed: formatDateTime(new Date()) })),
        freshnessList(result.freshness),
        h('div', { class: 'dashboard-windows' }, windowCard('today', result.today), windowCard('week', result.week)),
        h('p', { class: 'muted small' }, t('reports.dashboard.spark_hint')),
        h('ul', { class: 'report-links no-print' }, REPORT_KINDS.map((kind) => h('li', null, h('a', { href: `#/reports/${kind}` }, t(`reports.kind.${kind}`))))));
}

// --- the report pages -----------------------------------------------------------------------

function readFilters(query, allowed) {
    const range = presetRange(query.preset || 'last_30');
    const ids = (query.branch || '').split(',').filter((id) => allowed.some((b) => b.id === id));
    return {
        from: query.from || range.from, to: query.to || range.to,
        branches: ids.length ? ids : allowed.map((b) => b.id),
        compare: query.compare !== 'false',
        notSeenDays: query.not_seen_days || '90', slowMax: query.slow_max || '0',
    };
}

function apiQuery(kind, filters, allowed) {
    const query = { from: filters.from, to: filters.to, compare: filters.compare ? 'true' : 'false' };
    // Every branch the person may see is the default: name them only for a narrower choice.
    if (filters.branches.length && filters.branches.length < allowed.length) query.branch = filters.branches.join(',');
    if (kind === 'clients') query.not_seen_days = filters.notSeenDays;
    if (kind === 'stock') query.slow_max = filters.slowMax;
    return query;
}

export function renderReport(container, params, query) {
    const kind = REPORT_KINDS.includes(params.kind) ? params.kind : 'revenue';
    const allowed = reportBranches();
    let applied = null;
    const filters = readFilters(query, allowed);
    const alert = alertBox();
    alert.dataset.testid = 'report-error';
    const body = h('div', { class: 'owner-report', dataset: { testid: 'report-body', kind } }, h('p', { class: 'muted' }, t('loading')));
    const summary = h('p', { class: 'print-summary', dataset: { testid: 'print-summary' } });

    const id = uid('report');
    const from = h('input', { id: `${id}-from`, type: 'date', value: filters.from, dataset: { testid: 'report-from' }, required: true });
    const to = h('input', { id: `${id}-to`, type: 'date', value: filters.to, dataset: { testid: 'report-to' }, required: true });
    const preset = h('select', { id: `${id}-preset`, dataset: { testid: 'report-preset' } },
        h('option', { value: '' }, t('reports.preset.custom')), PRESETS.map((p) => h('option', { value: p, selected: presetOf(filters.from, filters.to) === p }, t(`reports.preset.${p}`))));
    preset.addEventListener('change', () => {
        if (!preset.value) return;
        const range = presetRange(preset.value);
        from.value = range.from;
        to.value = range.to;
        apply();
    });
    const checks = allowed.map((b) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', value: b.id, checked: filters.branches.includes(b.id), disabled: allowed.length === 1, dataset: { testid: 'report-branch' } }), ` ${b.name}`));
    const compare = h('input', { type: 'checkbox', id: `${id}-compare`, checked: filters.compare, dataset: { testid: 'report-compare' } });
    const comma = h('input', { type: 'checkbox', id: `${id}-comma`, checked: currentLanguage() !== 'en', dataset: { testid: 'csv-comma' } });
    const extra = [];
    let notSeen = null, slowMax = null;
    if (kind === 'clients') {
        notSeen = h('input', { id: `${id}-not-seen`, type: 'number', min: 1, max: 3650, value: filters.notSeenDays, inputmode: 'numeric', dataset: { testid: 'report-not-seen' } });
        extra.push(h('div', { class: 'field' }, h('label', { for: notSeen.id }, t('reports.filter.not_seen_days')), notSeen));
    }
    if (kind === 'stock') {
        slowMax = h('input', { id: `${id}-slow`, type: 'number', min: 0, max: 1000000, value: filters.slowMax, inputmode: 'numeric', dataset: { testid: 'report-slow-max' } });
        extra.push(h('div', { class: 'field' }, h('label', { for: slowMax.id }, t('reports.filter.slow_max')), slowMax));
    }
    const form = h('form', { class: 'report-filters no-print', novalidate: true, dataset: { testid: 'report-filters' }, onsubmit: (event) => { event.preventDefault(); apply(); } },
        h('div', { class: 'form-row' },
            h('div', { class: 'field' }, h('label', { for: preset.id }, t('reports.filter.period')), preset),
            h('div', { class: 'field' }, h('label', { for: from.id }, t('reports.filter.from')), from),
            h('div', { class: 'field' }, h('label', { for: to.id }, t('reports.filter.to')), to),
            extra),
        // Only the branches this person may report on (one: shown, not a choice).
        h('fieldset', { class: 'report-branches', dataset: { testid: 'report-branches' } }, h('legend', null, t('reports.filter.branches')), checks),
        h('div', { class: 'actions' },
            h('label', { class: 'check', for: compare.id }, compare, ` ${t('reports.filter.compare')}`),
            h('label', { class: 'check', for: comma.id }, comma, ` ${t('reports.csv.comma')}`),
            button(t('reports.filter.show'), null, { type: 'submit', kind: 'primary', dataset: { testid: 'report-apply' } })));
    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t(`reports.kind.${kind}`)), printButton()),
        reportTabs(kind), form, summary, alert, body);

    let alive = true;
    let timer = null;
    let current = null;
    function wanted() {
        return {
            from: from.value, to: to.value,
            branches: allowed.length > 1 ? checks.map((c) => c.querySelector('input')).filter((i) => i.checked).map((i) => i.value) : allowed.map((b) => b.id),
            compare: compare.checked,
            notSeenDays: notSeen ? notSeen.value : filters.notSeenDays, slowMax: slowMax ? slowMax.value : filters.slowMax,
        };
    }
    async function apply(quiet = false) {
        const asked = wanted();
        let result;
        try {
            result = await api.get(`/v1/reports/${kind}`, apiQuery(kind, asked, allowed));
        } catch (error) {
            if (!alive) return;
            // Nothing changes: the figures shown stay those of the last good filters, and so does the URL.
            alert.hidden = false;
            alert.textContent = errorText(error, asked);
            alert.dataset.kind = error.kind || '';
            if (!quiet) alert.focus && alert.focus();
            return;
        }
        if (!alive) return;
        alert.hidden = true;
        alert.textContent = '';
        applied = asked;
        current = result;
        const hash = withQuery(`#/reports/${kind}`, { from: asked.from, to: asked.to, branch: asked.branches.length < allowed.length ? asked.branches.join(',') : undefined,
            compare: asked.compare ? undefined : 'false', not_seen_days: kind === 'clients' && asked.notSeenDays !== '90' ? asked.notSeenDays : undefined,
            slow_max: kind === 'stock' && asked.slowMax !== '0' ? asked.slowMax : undefined });
        if (location.hash !== hash) history.replaceState(null, '', hash);
        preset.value = presetOf(asked.from, asked.to);
        summary.textContent = t('reports.print_summary', { title: t(`reports.kind.${kind}`), period: `${formatLocalDate(result.period.from)} – ${formatLocalDate(result.period.to)}`,
            branches: (result.branches || []).map((b) => b.name).join(', '), printed: formatDateTime(new Date()) });
        drawReport(body, kind, result, { csv: (table) => downloadCSV(kind, table, applied, allowed, comma.checked) });
    }
    const soon = () => { clearTimeout(timer); timer = setTimeout(() => { if (applied) apply(true); }, 3000); };
    const offs = [on('event', soon), on('event:reset', soon)];
    const stopPrint = printMode();
    apply(true);
    return () => { alive = false; clearTimeout(timer); offs.forEach((off) => off()); stopPrint(); void current; };
}

/** Downloads one table as CSV through fetch (the device's cookie) and a Blob link. */
async function downloadCSV(kind, table, filters, allowed, decimalComma) {
    const url = withQuery(`/v1/reports/${kind}.csv`, { ...apiQuery(kind, filters, allowed), table, lang: currentLanguage(), decimal: decimalComma ? 'comma' : 'point' });
    let response;
    try {
        response = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/csv' } });
    } catch (error) {
        notify(problemText(new ApiError(0, 'offline', String(error))), 'error');
        return;
    }
    if (!response.ok) {
        let problem = null;
        try { problem = await response.json(); } catch { problem = null; }
        const type = (problem && problem.type) || '';
        notify(errorText(new ApiError(response.status, type.replace('urn:edgenode:problem:', ''), (problem && problem.detail) || response.statusText, problem && problem.errors), filters), 'error');
        return;
    }
    const blob = await response.blob();
    const disposition = response.headers.get('Content-Disposition') || '';
    const named = disposition.match(/filename="([^"]+)"/);
    const link = h('a', { href: URL.createObjectURL(blob), download: named ? named[1] : `${kind}-${table}-${filters.from}-${filters.to}.csv`, hidden: true });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

/** A table of the report with its CSV button. */
function tableSection(kind, name, result, options) {
    const table = reportTable(kind, name, result);
    if (!table) return null;
    const title = t(`reports.table.${kind}.${name}`);
    const titleID = uid('table');
    const csv = button(t('reports.csv.button'), () => options.csv(name), { class: 'no-print small', ariaLabel: t('reports.csv.button_named', { table: title }), dataset: { testid: `csv-${name}` } });
    const content = table.rows.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': titleID },
        h('table', { class: 'data report-table', dataset: { testid: `table-${name}` } },
            h('thead', null, h('tr', null, table.columns.map((label) => h('th', { scope: 'col' }, label)))),
            h('tbody', null, table.rows.map((row) => h('tr', null, row.map((cell) => h('td', { class: cell.kind === 'number' ? 'num' : null, dataset: { value: cell.value } },
                cell.href ? h('a', { href: cell.href }, cell.text) : cell.text))))))) : h('p', { class: 'empty', dataset: { testid: `table-${name}-empty` } }, t('reports.no_rows'));
    return h('section', { class: 'report-section', 'aria-labelledby': titleID, dataset: { testid: `section-${name}` } },
        h('div', { class: 'section-head' }, h('h2', { id: titleID }, title), csv), options.chart || null, content);
}

function dateLabels(from, days) { return [...Array(days).keys()].map((i) => formatLocalDate(addDays(from, i)).slice(0, 5)); }

function byDate(buckets, key) {
    const map = new Map();
    for (const bucket of buckets || []) map.set(bucket.start || bucket.date, bucket[key]);
    return map;
}

function moneyTick(currency) {
    return (value) => formatCompact(value / 10 ** minorDigits(currency));
}
function formatCompact(value) {
    const language = currentLanguage() === 'kk' ? 'ru' : currentLanguage();
    return new Intl.NumberFormat(language, { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

function drawReport(body, kind, result, options) {
    const sections = [h('section', { class: 'report-section', dataset: { testid: 'section-overview' } }, freshnessList(result.freshness), overview(kind, result))];
    const charts = chartsFor(kind, result);
    for (const name of TABLES[kind]) sections.push(tableSection(kind, name, result, { ...options, chart: charts[name] }));
    mount(body, sections);
}

function compared(result, pick) {
    return result.previous ? pick(result.previous) : null;
}

function overview(kind, result) {
    const f = result.figures || {};
    const previousLabel = (text) => (text === null ? null : t('reports.previous_value', { value: text }));
    if (kind === 'revenue') {
        if (!(f.currencies || []).length) return emptyState(t('reports.no_money'));
        return (f.currencies || []).map((c) => {
            const p = result.previous ? ((result.previous.currencies || []).find((x) => x.currency === c.currency) || { paid_minor: 0, refunded_minor: 0, net_minor: 0, average_ticket_minor: 0 }) : null;
            const m = (minor) => formatMoney({ amount_minor: minor, currency: c.currency });
            const days = result.period.days;
            const current = byDate(c.by_day, 'paid_minor'), currentRefunds = byDate(c.by_day, 'refunded_minor');
            const series = [{ name: t('reports.series.current'), values: [...Array(days).keys()].map((i) => { const d = addDays(result.period.from, i); return (current.get(d) || 0) - (currentRefunds.get(d) || 0); }) }];
            if (p && result.previous_period) {
                const prev = byDate(p.by_day, 'paid_minor'), prevRefunds = byDate(p.by_day, 'refunded_minor');
                series.push({ name: t('reports.series.previous'), previous: true, values: [...Array(days).keys()].map((i) => { const d = addDays(result.previous_period.from, i); return (prev.get(d) || 0) - (prevRefunds.get(d) || 0); }) });
            }
            return h('div', { class: 'currency-block', dataset: { testid: `currency-${c.currency}` } },
                (f.currencies || []).length > 1 ? h('h3', null, c.currency) : null,
                h('div', { class: 'figures' },
                    figure(t('reports.col.paid'), m(c.paid_minor), { testid: `fig-paid-${c.currency}`, value: c.paid_minor, previous: previousLabel(p ? m(p.paid_minor) : null) }),
                    figure(t('reports.col.refunded'), m(c.refunded_minor), { testid: `fig-refunded-${c.currency}`, value: c.refunded_minor, previous: previousLabel(p ? m(p.refunded_minor) : null) }),
                    figure(t('reports.col.net'), m(c.net_minor), { testid: `fig-net-${c.currency}`, value: c.net_minor, previous: previousLabel(p ? m(p.net_minor) : null) }),
                    figure(t('reports.col.average_ticket'), m(c.average_ticket_minor), { testid: `fig-average-${c.currency}`, value: c.average_ticket_minor, previous: previousLabel(p ? m(p.average_ticket_minor) : null) })),
                barChart({ title: t('reports.chart.net_by_day', { currency: c.currency }), labels: dateLabels(result.period.from, days), series, format: moneyTick(c.currency), testid: `chart-revenue-${c.currency}` }));
        });
    }
    if (kind === 'utilisation') {
        const rate = share(f.booked_minutes, f.available_minutes);
        const p = result.previous;
        return h('div', { class: 'figures' },
            figure(t('reports.col.utilisation'), formatRate(rate), { testid: 'fig-utilisation', value: rateValue(rate), previous: previousLabel(p ? formatRate(share(p.booked_minutes, p.available_minutes)) : null) }),
            figure(t('reports.col.booked_minutes'), formatCount(f.booked_minutes), { testid: 'fig-booked', value: f.booked_minutes }),
            figure(t('reports.col.available_minutes'), formatCount(f.available_minutes), { testid: 'fig-available', value: f.available_minutes }));
    }
    if (kind === 'bookings') {
        const c = f.counts || {};
        const p = compared(result, (x) => x.counts || {});
        return h('div', { class: 'figures' },
            figure(t('reports.col.scheduled'), formatCount(c.scheduled), { testid: 'fig-scheduled', value: c.scheduled, previous: previousLabel(p ? formatCount(p.scheduled) : null) }),
            figure(t('reports.col.completion_rate'), formatRate(c.completion_rate), { testid: 'fig-completion', previous: previousLabel(p ? formatRate(p.completion_rate) : null) }),
            figure(t('reports.col.cancellation_rate'), formatRate(c.cancellation_rate), { testid: 'fig-cancellation', previous: previousLabel(p ? formatRate(p.cancellation_rate) : null) }),
            figure(t('reports.col.no_show_rate'), formatRate(c.no_show_rate), { testid: 'fig-no-show', previous: previousLabel(p ? formatRate(p.no_show_rate) : null) }),
            figure(t('reports.col.created'), formatCount(f.created), { testid: 'fig-created', value: f.created, previous: previousLabel(result.previous ? formatCount(result.previous.created) : null) }));
    }
    if (kind === 'clients') {
        const p = result.previous;
        return h('div', { class: 'figures' },
            figure(t('reports.col.visiting'), formatCount(f.visiting), { testid: 'fig-visiting', value: f.visiting, previous: previousLabel(p ? formatCount(p.visiting) : null) }),
            figure(t('reports.col.new'), formatCount(f.new), { testid: 'fig-new', value: f.new, previous: previousLabel(p ? formatCount(p.new) : null) }),
            figure(t('reports.col.returning'), formatCount(f.returning), { testid: 'fig-returning', value: f.returning, previous: previousLabel(p ? formatCount(p.returning) : null) }));
    }
    if (kind === 'staff') {
        const staff = f.staff || [];
        if (!staff.length) return emptyState(t('reports.no_rows'));
        return barChart({ title: t('reports.chart.staff_utilisation'), labels: staff.map((s) => s.name.split(' ')[0]),
            series: [{ name: t('reports.col.utilisation'), values: staff.map((s) => Math.round(share(s.booked_minutes, s.available_minutes) * 1000) / 10) }],
            format: (v) => `${formatCount(v)} %`, testid: 'chart-staff' });
    }
    if (kind === 'stock') {
        const value = (f.stock_value || []);
        return h('div', { class: 'figures' }, value.map((v) => figure(t('reports.stock_value_at', { branch: (result.branches || []).find((b) => b.id === v.branch_id)?.name || v.branch_id }),
            formatMoney({ amount_minor: v.value_minor, currency: v.currency }), { testid: `fig-stock-${v.branch_id}`, value: v.value_minor })));
    }
    return null;
}

/** Charts drawn above the tables they illustrate. */
function chartsFor(kind, result) {
    const f = result.figures || {};
    const weekdays = WEEKDAYS.map((d) => t(`reports.weekday_short.${d}`));
    if (kind === 'utilisation') {
        const hours = (f.by_hour || []).map((_, hour) => String(hour));
        const days = f.by_day || [];
        const currencies = Object.keys(f.revenue_heat || {}).sort();
        return {
            by_hour: barChart({ title: t('reports.chart.utilisation_by_hour'), labels: hours,
                series: [{ name: t('reports.col.available_minutes'), values: (f.by_hour || []).map((b) => b.available_minutes), previous: true },
                    { name: t('reports.col.booked_minutes'), values: (f.by_hour || []).map((b) => b.booked_minutes) }], format: formatCount, testid: 'chart-by-hour' }),
            by_day: lineChart({ title: t('reports.chart.utilisation_by_day'), labels: days.map((d) => formatLocalDate(d.date).slice(0, 5)),
                series: [{ name: t('reports.col.utilisation'), values: days.map((d) => Math.round(share(d.booked_minutes, d.available_minutes) * 1000) / 10) }],
                format: (v) => `${formatCount(v)} %`, testid: 'chart-by-day' }),
            bookings_heat: heatMap({ title: t('reports.chart.bookings_heat'), values: f.bookings_heat || [], rowLabels: weekdays, format: formatCount, testid: 'chart-bookings-heat' }),
            revenue_heat: currencies.length ? h('div', null, currencies.map((currency) => heatMap({ title: t('reports.chart.revenue_heat', { currency }), values: f.revenue_heat[currency], rowLabels: weekdays,
                format: (minor) => formatAmount(minor, currency), testid: `chart-revenue-heat-${currency}` }))) : null,
        };
    }
    if (kind === 'bookings') {
        const lead = ['same_hour', 'same_day', 'days_1_3', 'days_3_7', 'days_7_30', 'days_30_plus'];
        const sources = Object.keys(f.by_source || {});
        return {
            lead_time: barChart({ title: t('reports.chart.lead_time'), labels: lead.map((b) => t(`reports.lead.${b}`)), series: [{ name: t('reports.col.bookings'), values: lead.map((b) => (f.lead_time || {})[b] || 0) }],
                format: formatCount, testid: 'chart-lead-time', height: 220 }),
            by_source: sources.length ? barChart({ title: t('reports.chart.by_source'), labels: sources.map((s) => t(`reports.source.${s}`)), series: [{ name: t('reports.col.bookings'), values: sources.map((s) => f.by_source[s]) }],
                format: formatCount, testid: 'chart-by-source', height: 200 }) : null,
        };
    }
    if (kind === 'clients') {
        const buckets = ['1', '2', '3', '4-5', '6+'];
        return { frequency: barChart({ title: t('reports.chart.frequency'), labels: buckets, series: [{ name: t('reports.col.clients'), values: buckets.map((b) => (f.frequency || {})[b] || 0) }], format: formatCount, testid: 'chart-frequency', height: 200 }) };
    }
    if (kind === 'stock') {
        const currencies = Object.keys(f.sales_by_product || {}).sort();
        return { sales_by_product: currencies.length ? h('div', null, currencies.map((currency) => {
            const rows = (f.sales_by_product[currency] || []).slice(0, 12);
            return barChart({ title: t('reports.chart.product_sales', { currency }), labels: rows.map((r) => r.name.split(',')[0].slice(0, 12)), series: [{ name: t('reports.col.amount'), values: rows.map((r) => r.amount_minor) }],
                format: moneyTick(currency), testid: `chart-products-${currency}`, height: 220 });
        })) : null };
    }
    if (kind === 'revenue') {
        const result2 = {};
        const methods = (f.currencies || []);
        if (methods.length) {
            result2.by_method = h('div', null, methods.map((c) => barChart({ title: t('reports.chart.by_method', { currency: c.currency }), labels: (c.by_method || []).map((m) => t(`money.method.${m.method}`)),
                series: [{ name: t('reports.col.paid'), values: (c.by_method || []).map((m) => m.paid_minor) }], format: moneyTick(c.currency), testid: `chart-methods-${c.currency}`, height: 200 })));
        }
        return result2;
    }
    return {};
}
