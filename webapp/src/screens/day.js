// The front desk's day (#/day, #/day/:date, #/my): one column per active staff member (and per
// resource with ?resources=1), a time grid in the branch's zone from the earliest opening to the
// latest closing, working hours and breaks, a "now" line, appointments by status, conflicts
// marked; ?view=week shows 7 days × staff. Tap an empty slot to book, an appointment for its
// details; drag a block to move it (only onto an offered start). Live events update it in place.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { state, on, can, staffById, serviceById } from '../store.js';
import { t, formatTime, formatDate, formatShortDate } from '../i18n.js';
import { today, addDays, weekStart, instantOf, rfc3339, minutesOfDay, zoned } from '../time.js';
import { go } from '../router.js';
import { button, field, notify, problemText, emptyState } from '../ui.js';
import {
    loadClients, whoName, servicesText, timeRange, branchStaff, hoursOn, subtract, intersect,
    HIDDEN_BY_DEFAULT, MOVABLE, explain,
} from './day-common.js';
import { openBooking } from './booking.js';
import { openAppointment } from './appointment.js';
import { openWaitlist } from './day-waitlist.js';

const PPM = 1.6;            // pixels per minute: 30 minutes = 48 px, a comfortable touch target
const SLOT = 30;            // minutes of one empty-slot target

function validDate(text) { return /^\d{4}-\d{2}-\d{2}$/.test(text || '') ? text : null; }

export function renderDay(container, params, query) {
    const mine = query.mine === '1';
    const myStaff = mine && state.me ? state.me.staff || null : null;
    const date = validDate(params.date) || validDate(query.date) || today();
    const view = query.view === 'week' ? 'week' : 'day';
    const showHidden = query.cancelled === '1';
    const withResources = query.resources === '1' && !mine;
    const staffFilter = myStaff || query.staff || '';
    const from = view === 'week' ? weekStart(date) : date;
    const days = view === 'week' ? 7 : 1;
    const to = addDays(from, days);

    let appointments = [];
    let conflicts = [];
    let branchOverride = null;
    const staffOverrides = {};
    const timeOff = {};
    let resources = [];
    let loaded = false;
    let loadError = null;
    let disposed = false;

    function navigate(changes) {
        const next = { date, view, cancelled: showHidden ? '1' : '', resources: withResources ? '1' : '', staff: mine ? '' : staffFilter, ...changes };
        const targetDate = next.date;
        delete next.date;
        if (next.view === 'day') delete next.view;
        if (mine) go('/my', { ...next, date: targetDate === today() ? '' : targetDate });
        else go(`/day/${targetDate}`, next);
    }

    const columnsStaff = () => branchStaff().filter((s) => !staffFilter || s.id === staffFilter);

    // --- toolbar -------------------------------------------------------------------------
    const dateField = field({ label: t('day.jump_to_date'), name: 'date', type: 'date', value: date, onchange: (e) => { if (validDate(e.target.value)) navigate({ date: e.target.value }); } });
    const staffField = mine ? null : field({
        label: t('day.staff_filter'), name: 'staff', value: staffFilter,
        options: [['', t('day.all_staff')], ...branchStaff().map((s) => [s.id, s.name])],
        onchange: (e) => navigate({ staff: e.target.value }),
    });
    const step = view === 'week' ? 7 : 1;
    const toolbar = h('div', { class: 'toolbar day-toolbar' },
        h('div', { class: 'day-nav', role: 'group', 'aria-label': t('day.navigation') },
            button('‹', () => navigate({ date: addDays(date, -step) }), { ariaLabel: view === 'week' ? t('day.previous_week') : t('day.previous_day'), dataset: { testid: 'day-prev' } }),
            button(t('day.today'), () => navigate({ date: today() }), { dataset: { testid: 'day-today' } }),
            button('›', () => navigate({ date: addDays(date, step) }), { ariaLabel: view === 'week' ? t('day.next_week') : t('day.next_day'), dataset: { testid: 'day-next' } })),
        dateField,
        h('div', { class: 'day-views', role: 'group', 'aria-label': t('day.view') },
            h('button', { type: 'button', class: ['btn', view === 'day' ? 'primary' : 'secondary'], 'aria-pressed': String(view === 'day'), onclick: () => navigate({ view: 'day' }) }, t('day.view_day')),
            h('button', { type: 'button', class: ['btn', view === 'week' ? 'primary' : 'secondary'], 'aria-pressed': String(view === 'week'), onclick: () => navigate({ view: 'week' }) }, t('day.view_week'))),
        staffField,
        toggle(t('day.show_cancelled'), showHidden, (value) => navigate({ cancelled: value ? '1' : '' }), 'toggle-cancelled'),
        mine ? null : toggle(t('day.show_resources'), withResources, (value) => navigate({ resources: value ? '1' : '' }), 'toggle-resources'),
        can('appointments.read') ? button(t('day.waitlist'), () => openWaitlist({ date }), { dataset: { testid: 'open-waitlist' } }) : null,
        can('book') && view === 'day' ? button(t('day.new_booking'), () => book({ date }), { kind: 'primary', dataset: { testid: 'new-booking' } }) : null);

    const heading = h('h1', { class: 'day-title' });
    const summary = h('p', { class: 'day-summary muted', role: 'status', 'aria-live': 'polite' });
    const banner = h('div', { class: 'day-banner' });
    const board = h('div', { class: 'day-board', dataset: { testid: 'day-board' } });
    mount(container, h('section', { class: 'day-screen' }, heading, toolbar, banner, summary, board));

    function book(prefill) {
        openBooking({ date: prefill.date || date, staff: prefill.staff || staffFilter || '', time: prefill.time || null, onBooked: upsert });
    }

    // --- data ----------------------------------------------------------------------------
    async function load() {
        try {
            const fromInstant = rfc3339(instantOf(from, '00:00'));
            const toInstant = rfc3339(instantOf(to, '00:00'));
            const query = { from: fromInstant, to: toInstant, limit: 500 };
            if (myStaff) query.staff = myStaff;
            const requests = [api.all('/v1/appointments', query), loadConflicts()];
            if (view === 'day' && state.branch) {
                requests.push(api.get(`/v1/branches/${state.branch.id}/overrides`, { from: date }).then((r) => {
                    branchOverride = (r.items || []).find((o) => o.date === date) || null;
                }).catch(() => null));
                const dayStart = instantOf(date, '00:00');
                const dayEnd = instantOf(addDays(date, 1), '00:00');
                for (const staff of columnsStaff()) {
                    requests.push(api.get(`/v1/staff/${staff.id}/overrides`, { from: date }).then((r) => {
                        staffOverrides[staff.id] = (r.items || []).find((o) => o.date === date) || null;
                    }).catch(() => null));
                    // Time off (holiday, sick leave) that overlaps the day, as minutes of the day.
                    requests.push(api.get(`/v1/staff/${staff.id}/time-off`, { from: rfc3339(dayStart) }).then((r) => {
                        timeOff[staff.id] = (r.items || []).filter((o) => new Date(o.start) < dayEnd && new Date(o.end) > dayStart).map((o) => [
                            new Date(o.start) <= dayStart ? 0 : minutesOfDay(o.start),
                            new Date(o.end) >= dayEnd ? 1440 : minutesOfDay(o.end), o.reason]);
                    }).catch(() => null));
                }
            }
            if (withResources) requests.push(api.get('/v1/resources').then((r) => { resources = (r.items || []).filter((x) => x.active && (!state.branch || x.branch === state.branch.id)); }));
            const [items] = await Promise.all(requests);
            appointments = items;
            await loadClients(appointments);
            loadError = null;
        } catch (error) {
            loadError = error;
        }
        loaded = true;
        if (!disposed) draw();
    }

    async function loadConflicts() {
        if (!can('conflicts.read')) return;
        try {
            const result = await api.get('/v1/conflicts');
            conflicts = result.items || [];
        } catch { /* the calendar still works without the markers */ }
    }

    function upsert(appointment) {
        if (!appointment) return;
        const index = appointments.findIndex((a) => a.id === appointment.id);
        const inside = new Date(appointment.start) >= instantOf(from, '00:00') && new Date(appointment.start) < instantOf(to, '00:00')
            && (!myStaff || appointment.items.some((i) => i.staff === myStaff));
        if (index >= 0 && inside) appointments[index] = appointment;
        else if (index >= 0) appointments.splice(index, 1);
        else if (inside) appointments.push(appointment);
        appointments.sort((a, b) => new Date(a.start) - new Date(b.start) || (a.id < b.id ? -1 : 1));
        loadClients([appointment]).then(() => { if (!disposed) draw(); });
        draw();
    }

    // --- drawing -------------------------------------------------------------------------
    const conflictIDs = () => {
        const ids = new Map();
        for (const conflict of conflicts) for (const id of conflict.appointments) ids.set(id, conflict);
        return ids;
    };
    const visible = (a) => showHidden || !HIDDEN_BY_DEFAULT.includes(a.status);

    function draw() {
        heading.textContent = view === 'week'
            ? t('day.week_of', { from: formatDate(instantOf(from, '12:00')), to: formatDate(instantOf(addDays(to, -1), '12:00')) })
            : `${mine ? t('day.my_day') : t('day.title')}: ${formatDate(instantOf(date, '12:00'), true)}`;
        const open = conflicts.filter((c) => !c.resolution);
        mount(banner, open.length ? h('p', { class: 'alert day-conflicts', role: 'alert' },
            t('day.conflicts_banner', { count: open.length }), ' ', h('a', { href: '#/queue' }, t('day.open_queue'))) : null);
        if (!loaded) { mount(board, h('p', { class: 'muted' }, t('loading'))); return; }
        if (loadError) {
            mount(board, h('div', { class: 'alert', role: 'alert' }, problemText(loadError), ' ', button(t('retry'), load)));
            return;
        }
        const shown = appointments.filter(visible);
        const hidden = appointments.length - shown.length;
        summary.textContent = [t('day.count', { count: shown.length }), hidden ? t('day.hidden_count', { count: hidden }) : ''].filter(Boolean).join(' · ');
        if (view === 'week') drawWeek(shown); else drawDay(shown);
        if (!scrolled) {
            scrolled = true;
            const now = board.querySelector('.day-now');
            const first = board.querySelector('.day-appt');
            const target = now || first;
            if (target) board.scrollTop = Math.max(0, target.offsetTop - 120);
        }
    }
    let scrolled = false;

    function workIntervals(staff) {
        const branchHours = hoursOn(state.branch && state.branch.opening_hours, date, branchOverride);
        const override = staffOverrides[staff.id];
        const own = override ? hoursOn(null, date, override) : subtract(hoursOn(staff.schedule, date), hoursOn(staff.breaks, date));
        return subtract(intersect(own, branchHours), (timeOff[staff.id] || []).map(([s, e]) => [s, e]));
    }

    function drawDay(shown) {
        const staffList = columnsStaff();
        const branchHours = hoursOn(state.branch && state.branch.opening_hours, date, branchOverride);
        const bounds = [...branchHours];
        for (const staff of staffList) bounds.push(...hoursOn(staff.schedule, date, staffOverrides[staff.id]));
        for (const a of shown) {
            bounds.push([minutesOfDay(a.start), zoned(a.end).date === date ? Math.max(minutesOfDay(a.end), minutesOfDay(a.start) + 15) : 1440]);
        }
        let start = bounds.length ? Math.min(...bounds.map((b) => b[0])) : 9 * 60;
        let end = bounds.length ? Math.max(...bounds.map((b) => b[1])) : 18 * 60;
        start = Math.floor(start / 60) * 60;
        end = Math.min(1440, Math.ceil(end / 60) * 60);
        if (end <= start) { start = 9 * 60; end = 18 * 60; }
        const height = (end - start) * PPM;
        const inConflict = conflictIDs();

        const columns = staffList.map((staff) => ({
            key: staff.id, kind: 'staff', name: staff.name, work: workIntervals(staff),
            breaks: staffOverrides[staff.id] ? [] : hoursOn(staff.breaks, date),
            away: timeOff[staff.id] || [],
            blocks: blocksFor(shown, (item) => item.staff === staff.id),
        }));
        for (const resource of withResources ? resources : []) {
            columns.push({ key: resource.id, kind: 'resource', name: resource.name, work: branchHours, breaks: [],
                blocks: blocksFor(shown, (item) => (item.resources || []).some((r) => r.resource === resource.id)) });
        }
        if (!columns.length) { mount(board, emptyState(t('day.no_staff'))); return; }
        const closed = branchHours.length === 0;

        const axis = h('div', { class: 'day-axis', 'aria-hidden': 'true' },
            h('div', { class: 'day-col-head' }),
            h('div', { class: 'day-col-body', style: { height: `${height}px` } },
                ...range(start, end, 60).map((m) => h('div', { class: 'day-hour', style: { top: `${(m - start) * PPM}px` } }, formatTime(instantOf(date, clock(m)))))));

        const nowMinutes = date === today() ? minutesOfDay(Date.now()) : null;
        const cols = columns.map((column) => {
            const body = h('div', { class: 'day-col-body closed', style: { height: `${height}px` }, dataset: { start: String(start) } });
            for (const [s, e] of column.work) {
                body.appendChild(h('div', { class: 'day-work', style: { top: `${(s - start) * PPM}px`, height: `${(e - s) * PPM}px` } }));
            }
            for (const [s, e] of column.breaks) {
                if (e <= start || s >= end) continue;
                body.appendChild(h('div', { class: 'day-break', style: { top: `${(Math.max(s, start) - start) * PPM}px`, height: `${(Math.min(e, end) - Math.max(s, start)) * PPM}px` } }, t('day.break')));
            }
            for (const [s, e, reason] of column.away || []) {
                if (e <= start || s >= end) continue;
                body.appendChild(h('div', { class: 'day-break day-away', style: { top: `${(Math.max(s, start) - start) * PPM}px`, height: `${(Math.min(e, end) - Math.max(s, start)) * PPM}px` } },
                    reason ? `${t('day.time_off')}: ${reason}` : t('day.time_off')));
            }
            for (const line of range(start, end, 60)) body.appendChild(h('div', { class: 'day-line', style: { top: `${(line - start) * PPM}px` } }));
            if (column.kind === 'staff' && can('book')) {
                const covered = (m) => column.blocks.some((b) => b.start <= m && b.end >= Math.min(m + SLOT, end));
                for (const [s, e] of column.work) {
                    for (let m = Math.ceil(s / SLOT) * SLOT; m + 5 <= e; m += SLOT) {
                        if (nowMinutes !== null && m + SLOT <= nowMinutes) continue;
                        if (covered(m)) continue;
                        const time = clock(m);
                        body.appendChild(h('button', {
                            type: 'button', class: 'day-slot', style: { top: `${(m - start) * PPM}px`, height: `${Math.min(SLOT, e - m) * PPM}px` },
                            'aria-label': t('day.book_slot', { staff: column.name, time: formatTime(instantOf(date, time)) }),
                            dataset: { testid: 'slot', staff: column.key, time },
                            onclick: () => book({ date, staff: column.key, time }),
                        }));
                    }
                }
            }
            layoutLanes(column.blocks);
            for (const block of column.blocks) body.appendChild(blockElement(block, start, inConflict, column));
            if (nowMinutes !== null && nowMinutes >= start && nowMinutes <= end) {
                body.appendChild(h('div', { class: 'day-now', style: { top: `${(nowMinutes - start) * PPM}px` }, dataset: { testid: 'now-line' } }));
            }
            return h('div', { class: ['day-col', column.kind === 'resource' && 'resource'], dataset: column.kind === 'staff' ? { testid: 'column', staff: column.key } : { testid: 'column', resource: column.key } },
                h('div', { class: 'day-col-head' }, h('span', { class: 'day-col-name' }, column.name),
                    column.kind === 'resource' ? h('span', { class: 'muted' }, t('day.resource')) : null),
                body);
        });
        mount(board, closed ? h('p', { class: 'muted' }, t('day.branch_closed')) : null,
            h('div', { class: 'day-grid', style: { '--cols': String(columns.length) } }, axis, ...cols));
    }

    /** One block per appointment item in the column; group sessions (capacity > 1) as one block. */
    function blocksFor(shown, test) {
        const blocks = [];
        const groups = new Map();
        for (const appointment of shown) {
            for (const item of appointment.items) {
                if (!test(item)) continue;
                const service = serviceById(item.service);
                const capacity = service ? service.capacity : 1;
                const s = minutesOfDay(item.start);
                const e = zoned(item.end).date === zoned(item.start).date ? minutesOfDay(item.end) : 1440;
                if (capacity > 1) {
                    const key = `${item.staff}|${item.service}|${item.start}`;
                    if (!groups.has(key)) {
                        const block = { group: true, appointments: [], item, capacity, start: s, end: Math.max(e, s + 15) };
                        groups.set(key, block);
                        blocks.push(block);
                    }
                    groups.get(key).appointments.push(appointment);
                } else {
                    blocks.push({ group: false, appointments: [appointment], item, capacity, start: s, end: Math.max(e, s + 15) });
                }
            }
        }
        return blocks;
    }

    function blockElement(block, start, inConflict, column) {
        const appointment = block.appointments[0];
        const occupying = block.appointments.filter((a) => !['cancelled', 'no_show', 'rejected'].includes(a.status));
        const conflict = block.appointments.find((a) => inConflict.has(a.id));
        const status = block.group ? (occupying[0] || appointment).status : appointment.status;
        const label = block.group
            ? [timeRange(block.item.start, block.item.end), servicesText({ items: [block.item] }), t('day.seats', { taken: occupying.length, capacity: block.capacity })]
            : [timeRange(block.item.start, block.item.end), whoName(appointment), servicesText(appointment), t(`status.${status}`)];
        const element = h('button', {
            type: 'button',
            class: ['day-appt', `status-${status}`, conflict && 'in-conflict', block.group && 'group'],
            style: {
                top: `${(block.start - start) * PPM}px`, height: `${Math.max(24, (block.end - block.start) * PPM)}px`,
                left: `calc(${(block.lane / block.lanes) * 100}% + 2px)`, width: `calc(${100 / block.lanes}% - 4px)`,
            },
            'aria-label': [...label, conflict ? t('day.in_conflict') : ''].filter(Boolean).join(', '),
            dataset: { testid: 'appointment', id: appointment.id, status, staff: column.kind === 'staff' ? column.key : '' },
        },
        h('span', { class: 'appt-time' }, timeRange(block.item.start, block.item.end)),
        conflict ? h('span', { class: 'appt-conflict' }, `⚠ ${t('day.conflict')}`) : null,
        block.group
            ? h('span', { class: 'appt-who' }, t('day.seats', { taken: occupying.length, capacity: block.capacity }))
            : h('span', { class: 'appt-who' }, whoName(appointment)),
        h('span', { class: 'appt-services' }, servicesText({ items: [block.item] })));
        element.addEventListener('click', (event) => {
            if (element.dataset.dragged === '1') { element.dataset.dragged = ''; event.preventDefault(); return; }
            if (block.group) openGroup(block);
            else openAppointment(appointment.id, { onChange: upsert, initial: appointment });
        });
        if (!block.group && column.kind === 'staff' && MOVABLE.includes(appointment.status) && can('appointments.manage')) {
            enableDrag(element, appointment, block, start);
        }
        return element;
    }

    function openGroup(block) {
        openAppointment(null, {
            group: block, onChange: upsert,
        });
    }

    // Drag a block to another time or column: it lands only on an offered start (availability).
    function enableDrag(element, appointment, block, gridStart) {
        let drag = null;
        element.addEventListener('pointerdown', (event) => {
            if (event.button !== 0) return;
            drag = { x: event.clientX, y: event.clientY, grab: event.clientY - element.getBoundingClientRect().top, moved: false, id: event.pointerId };
        });
        element.addEventListener('pointermove', (event) => {
            if (!drag || event.pointerId !== drag.id) return;
            const dx = event.clientX - drag.x; const dy = event.clientY - drag.y;
            if (!drag.moved && Math.hypot(dx, dy) < 10) return;
            if (!drag.moved) { drag.moved = true; element.setPointerCapture(event.pointerId); element.classList.add('dragging'); }
            element.style.setProperty('transform', `translate(${dx}px, ${dy}px)`);
        });
        const finish = async (event) => {
            if (!drag) return;
            const wasDrag = drag.moved;
            const grab = drag.grab;
            drag = null;
            element.classList.remove('dragging');
            element.style.removeProperty('transform');
            if (!wasDrag) return;
            element.dataset.dragged = '1';
            setTimeout(() => { element.dataset.dragged = ''; }, 400);
            element.hidden = true;
            const target = document.elementFromPoint(event.clientX, event.clientY);
            element.hidden = false;
            const column = target && target.closest('.day-col[data-staff]');
            if (!column) { notify(t('day.drop_outside'), 'error'); return; }
            const staff = column.dataset.staff;
            // Where the block's top would be in the target column (robust to scrolling meanwhile).
            const body = column.querySelector('.day-col-body');
            const top = event.clientY - grab - body.getBoundingClientRect().top;
            const minutes = Math.round((gridStart + top / PPM) / 5) * 5;
            await moveTo(appointment, staff, minutes);
        };
        element.addEventListener('pointerup', finish);
        element.addEventListener('pointercancel', () => { drag = null; element.classList.remove('dragging'); element.style.removeProperty('transform'); });
    }

    async function moveTo(appointment, staff, minutes) {
        const services = appointment.items.map((i) => i.service);
        const sameStaff = appointment.items.every((i) => i.staff === staff);
        let offered;
        try {
            offered = await api.get('/v1/availability', { service: services.join(','), date, staff });
        } catch (error) {
            notify(explain(error), 'error');
            return;
        }
        const starts = (offered.slots || []).map((s) => s.start);
        const exact = starts.find((s) => Math.abs(minutesOfDay(s) - minutes) <= 7);
        if (!exact) {
            const nearest = starts.slice().sort((a, b) => Math.abs(minutesOfDay(a) - minutes) - Math.abs(minutesOfDay(b) - minutes)).slice(0, 3).sort();
            notify(nearest.length
                ? t('day.drop_not_offered', { time: formatTime(instantOf(date, clock(minutes))), nearest: nearest.map(formatTime).join(', ') })
                : t('day.drop_nothing_offered', { staff: (staffById(staff) || {}).name || '' }), 'error');
            return;
        }
        try {
            const body = { start: exact };
            if (!sameStaff) body.staff = appointment.items.map(() => staff);
            const moved = await api.patch(`/v1/appointments/${appointment.id}`, body);
            upsert(moved);
            notify(t('day.moved', { time: formatTime(moved.start) }));
        } catch (error) {
            notify(explain(error), 'error');
        }
    }

    function drawWeek(shown) {
        const staffList = columnsStaff();
        const dates = range(0, 7, 1).map((i) => addDays(from, i));
        const inConflict = conflictIDs();
        const table = h('table', { class: 'week-table' },
            h('caption', { class: 'visually-hidden' }, t('day.week_caption')),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('day.staff')),
                ...dates.map((d) => h('th', { scope: 'col', class: d === today() ? 'today' : null },
                    h('a', { href: mine ? `#/my?date=${d}` : `#/day/${d}`, class: 'week-day-link' }, formatShortDate(instantOf(d, '12:00'))))))),
            h('tbody', null, ...staffList.map((staff) => h('tr', null, h('th', { scope: 'row' }, staff.name),
                ...dates.map((d) => {
                    const items = shown.filter((a) => zoned(a.start).date === d && a.items.some((i) => i.staff === staff.id));
                    return h('td', { class: 'week-cell' },
                        ...items.map((a) => h('button', {
                            type: 'button', class: ['week-appt', `status-${a.status}`, inConflict.has(a.id) && 'in-conflict'],
                            dataset: { testid: 'appointment', id: a.id, status: a.status },
                            'aria-label': [formatTime(a.start), whoName(a), servicesText(a), t(`status.${a.status}`)].join(', '),
                            onclick: () => openAppointment(a.id, { onChange: upsert, initial: a }),
                        }, h('span', { class: 'appt-time' }, formatTime(a.start)), ' ', whoName(a))),
                        hoursOn(staff.schedule, d).length === 0 ? h('p', { class: 'muted day-off' }, t('day.day_off')) : null,
                        can('book') && d >= today() && hoursOn(staff.schedule, d).length > 0 ? h('button', {
                            type: 'button', class: 'btn ghost week-add', 'aria-label': t('day.book_on', { staff: staff.name, date: formatShortDate(instantOf(d, '12:00')) }),
                            onclick: () => book({ date: d, staff: staff.id }),
                        }, '+') : null);
                })))));
        mount(board, h('div', { class: 'week-wrap' }, table));
    }

    // --- live ----------------------------------------------------------------------------
    let conflictTimer = null;
    const refreshConflicts = () => {
        clearTimeout(conflictTimer);
        conflictTimer = setTimeout(() => loadConflicts().then(() => { if (!disposed) draw(); }), 150);
    };
    const unsubscribe = [
        on('event:appointment', (event) => { if (event && event.appointment) upsert(event.appointment); refreshConflicts(); }),
        on('event:conflict_resolution', refreshConflicts),
        on('event:series', () => load()),
        on('language', () => { if (!disposed) draw(); }),
    ];
    const minuteTimer = setInterval(() => { if (view === 'day' && date === today()) draw(); }, 60000);

    draw();
    load();
    return () => {
        disposed = true;
        clearInterval(minuteTimer);
        clearTimeout(conflictTimer);
        unsubscribe.forEach((off) => off());
    };
}

function toggle(label, checked, onchange, testid) {
    const input = h('input', { type: 'checkbox', checked, dataset: { testid }, onchange: (e) => onchange(e.target.checked) });
    return h('label', { class: 'day-toggle' }, input, ' ', label);
}

/** Assigns side-by-side lanes to overlapping blocks (a conflict, an accepted double booking). */
function layoutLanes(blocks) {
    blocks.sort((a, b) => a.start - b.start || b.end - a.end);
    let cluster = [];
    let clusterEnd = -1;
    const flush = () => {
        const lanes = Math.max(1, ...cluster.map((b) => b.lane + 1));
        for (const b of cluster) b.lanes = lanes;
        cluster = [];
    };
    for (const block of blocks) {
        if (block.start >= clusterEnd && cluster.length) flush();
        const used = new Set(cluster.filter((b) => b.end > block.start).map((b) => b.lane));
        let lane = 0;
        while (used.has(lane)) lane += 1;
        block.lane = lane;
        cluster.push(block);
        clusterEnd = Math.max(clusterEnd, block.end);
    }
    if (cluster.length) flush();
}

function range(start, end, stepBy) {
    const values = [];
    for (let v = start; v < end; v += stepBy) values.push(v);
    return values;
}

function clock(minutes) {
    const hh = Math.floor(minutes / 60); const mm = minutes % 60;
    return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
}

export { clock };
