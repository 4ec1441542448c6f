// Shared by the day screens (calendar, booking, appointment details, queue): who an appointment is
// for, service names, staff names, working hours of a date, and the client-name cache.
import { api } from '../api.js';
import { state, on, serviceById, staffById } from '../store.js';
import { t, localName, formatTime } from '../i18n.js';
import { weekdayKey, parseClock } from '../time.js';
import { showProblem, problemText } from '../ui.js';

const clients = new Map();   // id → client (or a promise while loading)
// A client changed on another tablet (a new name, a merge): read it again when next shown.
on('event:client', (event) => { if (event && event.id) clients.delete(event.id); });

/** The client record of an id, fetched once (GET /v1/clients/{id}); null when it cannot be read. */
export function loadClient(id) {
    if (!id) return Promise.resolve(null);
    if (!clients.has(id)) {
        clients.set(id, api.get(`/v1/clients/${id}`).then((client) => { clients.set(id, client); return client; },
            () => { clients.delete(id); return null; }));
    }
    const known = clients.get(id);
    return known instanceof Promise ? known : Promise.resolve(known);
}

export function rememberClient(client) { if (client && client.id) clients.set(client.id, client); }

/** The client records of these appointments: one request per 200 clients (GET /v1/clients?ids=…). */
export async function loadClients(appointments) {
    const ids = [...new Set(appointments.map((a) => a.client).filter((id) => id && !(clients.get(id) && !(clients.get(id) instanceof Promise))))];
    for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        try {
            const page = await api.get('/v1/clients', { ids: chunk.join(',') });
            for (const client of page.items || []) clients.set(client.id, client);
        } catch {
            // Not readable now (offline, or the role may not read clients): names show as unknown.
        }
    }
}

/** The name a person reads for who comes: the client's name, or the guest's with a "guest" mark. */
export function whoName(appointment) {
    if (appointment.guest) return t('day.guest_name', { name: appointment.guest.name });
    const client = clients.get(appointment.client);
    if (client && !(client instanceof Promise)) return client.name;
    return t('day.client_unknown');
}

export function whoPhone(appointment) {
    if (appointment.guest) return appointment.guest.phone || '';
    const client = clients.get(appointment.client);
    return client && !(client instanceof Promise) ? client.phone : '';
}

export function serviceName(id) {
    const service = serviceById(id);
    return service ? localName(service.names) : t('day.service_unknown');
}

export function staffName(id) {
    const staff = staffById(id);
    return staff ? staff.name : t('day.staff_unknown');
}

export function servicesText(appointment) {
    return appointment.items.map((item) => serviceName(item.service)).join(', ');
}

export function timeRange(start, end) { return `${formatTime(start)}–${formatTime(end)}`; }

/** The branch's active staff in display order (the calendar's columns). */
export function branchStaff() {
    const branch = state.branch && state.branch.id;
    return state.staff.filter((s) => s.active && (!branch || s.branch === branch)).sort((a, b) => a.display_order - b.display_order);
}

export function branchServices() {
    const branch = state.branch && state.branch.id;
    return state.services.filter((s) => s.active && (!branch || s.branch === branch)).sort((a, b) => a.display_order - b.display_order);
}

/** Intervals (minutes) of weekly hours on a date, or of the date's override when there is one. */
export function hoursOn(weekly, date, override) {
    const intervals = override ? override.intervals : ((weekly || {})[weekdayKey(date)] || []);
    return intervals.map(([from, to]) => [parseClock(from), parseClock(to)]);
}

export function subtract(intervals, holes) {
    let result = intervals.map((i) => [...i]);
    for (const [hs, he] of holes) {
        const next = [];
        for (const [s, e] of result) {
            if (he <= s || hs >= e) { next.push([s, e]); continue; }
            if (hs > s) next.push([s, hs]);
            if (he < e) next.push([he, e]);
        }
        result = next;
    }
    return result;
}

export function intersect(a, b) {
    const result = [];
    for (const [as, ae] of a) for (const [bs, be] of b) {
        const s = Math.max(as, bs); const e = Math.min(ae, be);
        if (s < e) result.push([s, e]);
    }
    return result.sort((x, y) => x[0] - y[0]);
}

/** Statuses an appointment may move to by action (docs/domain.md), in the order buttons show. */
export const ACTIONS = {
    held: ['confirm', 'cancel'],
    requested: ['confirm', 'reject', 'cancel'],
    confirmed: ['check-in', 'no-show', 'cancel'],
    checked_in: ['complete', 'cancel'],
};
export const MOVABLE = ['held', 'requested', 'confirmed'];
export const HIDDEN_BY_DEFAULT = ['cancelled', 'rejected'];

/**
 * showProblem, plus the box's own detail where it says more than the kind: `not_available` names
 * the nearest offered starts (docs/api.md), which the person needs to choose again.
 */
export function showDayProblem(alert, error, fields) {
    showProblem(alert, error, fields);
    if (alert && error && ['not_available', 'invalid_argument'].includes(error.kind) && error.detail) alert.textContent = `${alert.textContent} (${error.detail})`;
}

export function explain(error) {
    const text = problemText(error);
    return error && ['not_available', 'invalid_argument'].includes(error.kind) && error.detail ? `${text} (${error.detail})` : text;
}
