// The owner reports' tables (issue 19): for each report, its tables with exactly the columns and
// rows of its CSV export (`GET /v1/reports/{kind}.csv?table=…`, docs/reports.md), built from the
// report's JSON. A cell keeps its CSV text (`data-value`: amounts in major units with the
// currency's minor digits, dates YYYY-MM-DD, rates as percentages with one decimal) and shows it
// in the person's locale.
import { t, currentLanguage } from '../i18n.js';
import { state } from '../store.js';

/** The tables of each report, in the order of the CSV's `table` values (the first is the default). */
export const TABLES = {
    revenue: ['summary', 'by_day', 'by_week', 'by_month', 'by_method', 'by_branch', 'by_service', 'by_category', 'by_product', 'by_staff', 'tips_by_staff'],
    utilisation: ['staff', 'resources', 'by_day', 'by_hour', 'bookings_heat', 'revenue_heat'],
    bookings: ['summary', 'by_service', 'by_staff', 'by_branch', 'by_source', 'lead_time'],
    clients: ['summary', 'retention', 'frequency', 'lifetime_value', 'top_clients', 'not_seen'],
    staff: ['staff'],
    stock: ['sales_by_product', 'stock_value', 'slow_movers'],
};

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const LEAD_TIME = ['same_hour', 'same_day', 'days_1_3', 'days_3_7', 'days_7_30', 'days_30_plus'];
const FREQUENCY = ['1', '2', '3', '4-5', '6+'];

/** The minor digits of a currency as the CSV writes amounts (ISO 4217: 2 unless listed). */
export function minorDigits(currency) {
    if (['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'UGX', 'XAF', 'XOF', 'PYG', 'RWF'].includes(currency)) return 0;
    if (['BHD', 'KWD', 'OMR', 'JOD', 'TND', 'IQD', 'LYD'].includes(currency)) return 3;
    return 2;
}

/** Minor units → the CSV's major-unit text (`800000` KZT → `8000.00`), exact for any integer. */
export function majorValue(minor, currency) {
    const digits = minorDigits(currency);
    const negative = Number(minor) < 0;
    const text = String(Math.abs(Math.round(Number(minor) || 0))).padStart(digits + 1, '0');
    const whole = digits ? text.slice(0, -digits) : text;
    return `${negative ? '-' : ''}${whole}${digits ? `.${text.slice(-digits)}` : ''}`;
}

/** One decimal, rounded half away from zero, as the CSV writes it (33.35 → `33.4`). */
export function oneDecimal(value) {
    const tenths = Math.round(Math.abs(Number(value) || 0) * 10) * Math.sign(Number(value) || 0);
    const magnitude = Math.abs(tenths);
    return `${tenths < 0 ? '-' : ''}${Math.floor(magnitude / 10)}.${magnitude % 10}`;
}

/** A share (0…1) → the CSV's percentage with one decimal (`0.125` → `12.5`). */
export function rateValue(rate) { return oneDecimal((Number(rate) || 0) * 100); }

/** booked ÷ available as a rate (0 without available time). */
export function share(part, whole) { return whole > 0 ? part / whole : 0; }

function numberLocale() {
    // Kazakhstan formats numbers as ru-KZ does (the browser may have no Kazakh number data).
    const language = currentLanguage();
    const region = (state.branch && state.branch.region) || 'KZ';
    return language === 'kk' ? `ru-${region}` : `${language}-${region}`;
}

const formatters = new Map();
function numberFormat(options) {
    const key = `${numberLocale()}|${JSON.stringify(options)}`;
    if (!formatters.has(key)) formatters.set(key, new Intl.NumberFormat(numberLocale(), options));
    return formatters.get(key);
}

/** An integer in the person's locale (12 345). */
export function formatCount(value) { return numberFormat({ maximumFractionDigits: 0 }).format(Number(value) || 0); }

/** Minor units in the locale with the currency's digits and no symbol (8 000,00). */
export function formatAmount(minor, currency) {
    const digits = minorDigits(currency);
    return numberFormat({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format((Number(minor) || 0) / 10 ** digits);
}

/** A rate as a percentage with one decimal in the locale (12,5 %). */
export function formatRate(rate) { return `${numberFormat({ minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Number(rateValue(rate)))} %`; }

/** A local date (`2026-11-01`) in the locale's short numeric form, read in UTC (it is a date, not an instant). */
export function formatLocalDate(date) {
    if (!date) return '';
    const [y, m, d] = date.split('-').map(Number);
    const language = currentLanguage();
    const shown = language === 'kk' ? 'ru-KZ' : numberLocale();
    return new Intl.DateTimeFormat(shown, { timeZone: 'UTC', day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** An instant's local date in the branch's zone as YYYY-MM-DD (for `last visit`). */
function instantDate(value) {
    if (!value) return '';
    const zone = (state.branch && state.branch.time_zone) || 'UTC';
    const parts = {};
    for (const part of new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(value))) parts[part.type] = part.value;
    return `${parts.year}-${parts.month}-${parts.day}`;
}

// Cells: {value (the CSV text), text (what is shown), kind}.
const text = (value) => ({ value: value === null || value === undefined ? '' : String(value), text: value === null || value === undefined ? '' : String(value), kind: 'text' });
const count = (value) => ({ value: String(Number(value) || 0), text: formatCount(value), kind: 'number' });
const money = (minor, currency) => ({ value: majorValue(minor, currency), text: formatAmount(minor, currency), kind: 'number' });
const rate = (value) => ({ value: rateValue(value), text: formatRate(value), kind: 'number' });
const date = (value) => ({ value: value || '', text: formatLocalDate(value), kind: 'date' });
const link = (value, href) => ({ ...text(value), href });

function branchName(id, result) {
    const found = (result.freshness || []).find((f) => f.branch_id === id) || (result.branches || []).find((b) => b.id === id) || (state.branches || []).find((b) => b.id === id);
    return found ? (found.name || id) : id;
}

/** A code the CSV writes as it is (`kaspi_qr`, `front_desk`, `days_1_3`), shown in the person's words. */
const code = (value, shown) => ({ value: String(value), text: shown, kind: 'text' });
const decimal = (value) => (value === null || value === undefined ? text('') : { value: oneDecimal(value), text: numberFormat({ minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Number(oneDecimal(value))), kind: 'number' });

/** The CSV's column headers (the box's words, `reports.csv.<column>`); the heat maps' hours are 00…23. */
function headers(ids) { return ids.map((id) => (id.startsWith('hour_') ? id.slice(5).padStart(2, '0') : t(`reports.csv.${id}`))); }

/** Documented keys first (those present), then any other key in order — as the CSV lists them. */
function ordered(dictionary, order) {
    const keys = Object.keys(dictionary || {});
    return [...order.filter((key) => keys.includes(key)), ...keys.filter((key) => !order.includes(key)).sort()].map((key) => [key, dictionary[key]]);
}

const COUNT_COLUMNS = ['scheduled', 'completed', 'cancelled', 'late_cancelled', 'no_shows', 'open', 'cancellation_rate', 'no_show_rate', 'completion_rate'];
function countCells(counts) {
    return [count(counts.scheduled), count(counts.completed), count(counts.cancelled), count(counts.late_cancelled), count(counts.no_shows), count(counts.open),
        rate(counts.cancellation_rate), rate(counts.no_show_rate), rate(counts.completion_rate)];
}
const HOURS = [...Array(24).keys()].map((hour) => `hour_${hour}`);
const sheet = (name, columns, rows) => ({ name, columns: headers(columns), rows });

/**
 * One table of a report, as its CSV has it: {name, columns: [header], rows: [[cell]]}, from the
 * report's JSON (`figures`, `previous`, `freshness`).
 */
export function reportTable(kind, name, result) {
    const f = result.figures || {};
    const currencies = f.currencies || [];
    const weekday = (index) => t(`reports.weekday.${WEEKDAYS[index]}`);
    if (kind === 'revenue') {
        switch (name) {
        case 'by_day': case 'by_week': case 'by_month':
            return sheet(name, ['currency', { by_day: 'date', by_week: 'week_start', by_month: 'month_start' }[name], 'paid', 'refunded', 'net'],
                currencies.flatMap((c) => (c[name] || []).map((b) => [text(c.currency), date(b.start), money(b.paid_minor, c.currency), money(b.refunded_minor, c.currency), money(b.net_minor, c.currency)])));
        case 'by_method':
            return sheet(name, ['currency', 'method', 'paid', 'refunded', 'payments', 'refunds'],
                currencies.flatMap((c) => (c.by_method || []).map((m) => [text(c.currency), code(m.method, t(`money.method.${m.method}`)), money(m.paid_minor, c.currency), money(m.refunded_minor, c.currency), count(m.payments), count(m.refunds)])));
        case 'by_branch':
            return sheet(name, ['currency', 'branch', 'paid', 'refunded', 'net'],
                currencies.flatMap((c) => (c.by_branch || []).map((b) => [text(c.currency), text(b.name), money(b.paid_minor, c.currency), money(b.refunded_minor, c.currency), money(b.net_minor, c.currency)])));
        case 'by_service': case 'by_category': case 'by_product': case 'by_staff':
            return sheet(name, ['currency', name.slice(3), 'quantity', 'amount'],
                currencies.flatMap((c) => (c[name] || []).map((row) => [text(c.currency), text(row.name), count(row.count), money(row.amount_minor, c.currency)])));
        case 'tips_by_staff':
            return sheet(name, ['currency', 'staff', 'tips_count', 'tips'],
                currencies.flatMap((c) => (c.tips_by_staff || []).map((row) => [text(c.currency), text(row.name), count(row.count), money(row.amount_minor, c.currency)])));
        default: {
            const previous = result.previous || null;
            const columns = ['currency', 'paid', 'refunded', 'net', 'payments', 'refunds', 'sales', 'sales_total', 'average_ticket', 'discounts', 'tips'];
            if (previous) columns.push('previous_paid', 'previous_net');
            return sheet('summary', columns, currencies.map((c) => {
                const row = [text(c.currency), money(c.paid_minor, c.currency), money(c.refunded_minor, c.currency), money(c.net_minor, c.currency), count(c.payments), count(c.refunds),
                    count(c.sales), money(c.sales_minor, c.currency), money(c.average_ticket_minor, c.currency), money(c.discounts_minor, c.currency), money(c.tips_minor, c.currency)];
                if (previous) {
                    const p = (previous.currencies || []).find((x) => x.currency === c.currency) || { paid_minor: 0, net_minor: 0 };
                    row.push(money(p.paid_minor, c.currency), money(p.net_minor, c.currency));
                }
                return row;
            }));
        }
        }
    }
    if (kind === 'utilisation') {
        const row = (r) => [text(r.name), text(branchName(r.branch_id, result)), count(r.available_minutes), count(r.booked_minutes), rate(share(r.booked_minutes, r.available_minutes))];
        switch (name) {
        case 'resources': return sheet(name, ['resource', 'branch', 'available_minutes', 'booked_minutes', 'utilisation'], (f.resources || []).map(row));
        case 'by_day':
            return sheet(name, ['date', 'available_minutes', 'booked_minutes', 'utilisation'],
                [...(f.by_day || [])].sort((a, b) => (a.date < b.date ? -1 : 1)).map((d) => [date(d.date), count(d.available_minutes), count(d.booked_minutes), rate(share(d.booked_minutes, d.available_minutes))]));
        case 'by_hour':
            return sheet(name, ['hour', 'available_minutes', 'booked_minutes', 'utilisation'],
                (f.by_hour || []).map((d, hour) => [count(hour), count(d.available_minutes), count(d.booked_minutes), rate(share(d.booked_minutes, d.available_minutes))]));
        case 'bookings_heat':
            return sheet(name, ['weekday', ...HOURS], (f.bookings_heat || []).map((hours, day) => [text(weekday(day)), ...hours.map(count)]));
        case 'revenue_heat':
            return sheet(name, ['currency', 'weekday', ...HOURS], Object.keys(f.revenue_heat || {}).sort().flatMap((currency) => f.revenue_heat[currency].map((hours, day) =>
                [text(currency), text(weekday(day)), ...hours.map((minor) => money(minor, currency))])));
        default: return sheet('staff', ['staff', 'branch', 'available_minutes', 'booked_minutes', 'utilisation'], (f.staff || []).map(row));
        }
    }
    if (kind === 'bookings') {
        switch (name) {
        case 'by_service': case 'by_staff': case 'by_branch':
            return sheet(name, [name.slice(3), ...COUNT_COLUMNS], (f[name] || []).map((r) => [text(r.name), ...countCells(r.counts || {})]));
        case 'by_source':
            return sheet(name, ['source', 'bookings'], ordered(f.by_source, ['front_desk', 'phone', 'online', 'kiosk']).map(([key, n]) => [code(key, t(`reports.source.${key}`)), count(n)]));
        case 'lead_time':
            return sheet(name, ['lead_time', 'bookings'], ordered(f.lead_time, LEAD_TIME).map(([key, n]) => [code(key, t(`reports.lead.${key}`)), count(n)]));
        default:
            return sheet('summary', ['created', 'booked_elsewhere', ...COUNT_COLUMNS], [[count(f.created), count(f.booked_elsewhere), ...countCells(f.counts || {})]]);
        }
    }
    if (kind === 'clients') {
        switch (name) {
        case 'retention':
            return sheet(name, ['days', 'eligible', 'returned', 'retention_rate'], (f.retention || []).map((r) => [count(r.days), count(r.eligible), count(r.returned), rate(share(r.returned, r.eligible))]));
        case 'frequency':
            return sheet(name, ['visits', 'clients'], ordered(f.frequency, FREQUENCY).map(([key, n]) => [text(key), count(n)]));
        case 'lifetime_value':
            return sheet(name, ['currency', 'clients', 'total', 'minimum', 'p25', 'median', 'p75', 'p90', 'maximum'],
                (f.lifetime_value || []).map((v) => [text(v.currency), count(v.clients), money(v.total_minor, v.currency), money(v.minimum_minor, v.currency),
                    money(v.p25_minor, v.currency), money(v.median_minor, v.currency), money(v.p75_minor, v.currency), money(v.p90_minor, v.currency), money(v.maximum_minor, v.currency)]));
        case 'top_clients':
            return sheet(name, ['currency', 'client', 'phone', 'visits', 'last_visit', 'amount'],
                (f.top_clients || []).map((c) => [text(c.currency), link(c.name, `#/clients/${encodeURIComponent(c.client_id)}`), text(c.phone), count(c.visits), date(instantDate(c.last_visit)), money(c.amount_minor, c.currency)]));
        case 'not_seen':
            return sheet(name, ['client', 'phone', 'visits', 'last_visit'],
                (f.not_seen || []).map((c) => [link(c.name, `#/clients/${encodeURIComponent(c.client_id)}`), c.phone ? link(c.phone, `tel:${c.phone.replace(/[^+\d]/g, '')}`) : text(''), count(c.visits), date(instantDate(c.last_visit))]));
        default:
            return sheet('summary', ['visiting', 'new', 'returning'], [[count(f.visiting), count(f.new), count(f.returning)]]);
        }
    }
    if (kind === 'staff') {
        // One row per staff member and currency of their revenue or tips (their branch's currency without any).
        const rows = (f.staff || []).flatMap((s) => {
            let codes = [...new Set([...Object.keys(s.revenue || {}), ...Object.keys(s.tips || {})])].sort();
            if (!codes.length) codes = [((result.freshness || []).find((x) => x.branch_id === s.branch_id) || {}).currency || ''];
            return codes.map((currency) => [text(s.name), text(branchName(s.branch_id, result)), count(s.services_performed), count(s.available_minutes), count(s.booked_minutes),
                rate(share(s.booked_minutes, s.available_minutes)), count(s.completed_visits), count(s.rebooked), rate(share(s.rebooked, s.completed_visits)),
                count(s.ratings), decimal(s.average_rating), text(currency), money((s.revenue || {})[currency] || 0, currency), money((s.tips || {})[currency] || 0, currency)]);
        });
        return sheet('staff', ['staff', 'branch', 'services_performed', 'available_minutes', 'booked_minutes', 'utilisation', 'completed_visits', 'rebooked',
            'rebooking_rate', 'ratings', 'average_rating', 'currency', 'revenue', 'tips'], rows);
    }
    if (kind === 'stock') {
        switch (name) {
        case 'stock_value':
            return sheet(name, ['branch', 'currency', 'value', 'without_cost'], (f.stock_value || []).map((v) => [text(branchName(v.branch_id, result)), text(v.currency), money(v.value_minor, v.currency), count(v.without_cost)]));
        case 'slow_movers':
            return sheet(name, ['product', 'branch', 'in_stock', 'sold'], (f.slow_movers || []).map((m) => [text(m.name), text(branchName(m.branch_id, result)), count(m.quantity), count(m.sold)]));
        default:
            return sheet('sales_by_product', ['currency', 'product', 'quantity', 'amount'], Object.keys(f.sales_by_product || {}).sort().flatMap((currency) =>
                (f.sales_by_product[currency] || []).map((row) => [text(currency), text(row.name), count(row.count), money(row.amount_minor, currency)])));
        }
    }
    return null;
}
