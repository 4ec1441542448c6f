// Requests and conflicts (#/queue): conflicts found after merges (GET /v1/conflicts) with their
// appointments and, for roles with conflicts.resolve, accept / move / cancel
// (POST /v1/conflicts/{id}/resolve); and requests made at another branch for this branch's staff
// (status=requested) to confirm or reject. Live: appointment and conflict events refresh it.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { on, can } from '../store.js';
import { t, formatDate, formatTime } from '../i18n.js';
import { instantOf, rfc3339, today, addDays, zoned } from '../time.js';
import { button, field, alertBox, emptyState, problemText, statusBadge, notify } from '../ui.js';
import { loadClients, whoName, servicesText, staffName, timeRange, branchStaff } from './day-common.js';
import { showDayProblem } from './day-common.js';
import { openAppointment } from './appointment.js';

export function renderQueue(container) {
    let disposed = false;
    let resources = [];
    const conflictsArea = h('section', { class: 'queue-section', 'aria-labelledby': 'queue-conflicts' });
    const requestsArea = h('section', { class: 'queue-section', 'aria-labelledby': 'queue-requests' });
    mount(container, h('div', { class: 'queue-screen' }, h('h1', null, t('nav.queue')), conflictsArea, requestsArea));

    async function load() {
        const from = rfc3339(instantOf(today(), '00:00'));
        const to = rfc3339(instantOf(addDays(today(), 365), '00:00'));
        let conflicts = [];
        let requested = [];
        let conflictError = null;
        let requestError = null;
        await Promise.all([
            api.get('/v1/conflicts').then((r) => { conflicts = r.items || []; }, (e) => { conflictError = e; }),
            api.all('/v1/appointments', { from, to, status: 'requested', limit: 500 }).then((items) => { requested = items; }, (e) => { requestError = e; }),
        ]);
        const mine = new Set(branchStaff().map((s) => s.id));
        requested = requested.filter((a) => a.items.some((i) => mine.has(i.staff)));
        if (conflicts.some((c) => c.subject === 'resource')) {
            resources = await api.get('/v1/resources').then((r) => r.items || [], () => []);
        }
        const ids = [...new Set(conflicts.flatMap((c) => c.appointments))];
        const involved = (await Promise.all(ids.map((id) => api.get(`/v1/appointments/${id}`).catch(() => null)))).filter(Boolean);
        await loadClients([...requested, ...involved]);
        if (disposed) return;
        const byID = new Map(involved.map((a) => [a.id, a]));
        drawConflicts(conflicts, byID, conflictError);
        drawRequests(requested, requestError);
    }

    function drawConflicts(conflicts, byID, error) {
        mount(conflictsArea, h('h2', { id: 'queue-conflicts' }, t('day.queue_conflicts'), ' ', h('span', { class: 'count' }, `(${conflicts.length})`)),
            error ? h('p', { class: 'alert' }, problemText(error)) : null,
            conflicts.length ? h('ul', { class: 'list' }, ...conflicts.map((c) => conflictItem(c, byID))) : emptyState(t('day.queue_no_conflicts')));
    }

    function conflictItem(conflict, byID) {
        const alert = alertBox();
        const subject = conflict.subject === 'staff' ? staffName(conflict.subject_id) : (resources.find((r) => r.id === conflict.subject_id) || {}).name || t('day.resource');
        const resolve = async (body) => {
            try {
                await api.post(`/v1/conflicts/${conflict.id}/resolve`, body);
                notify(t('day.conflict_resolved'));
                load();
            } catch (error) {
                showDayProblem(alert, error);
            }
        };
        const moveArea = h('div', { class: 'move-area' });
        function showMove(appointment) {
            const start = field({ label: t('day.new_start'), name: 'start', options: [['', t('loading')]] });
            const date = field({ label: t('day.date'), name: 'date', type: 'date', value: zoned(appointment.start).date, onchange: loadStarts });
            async function loadStarts() {
                try {
                    const offered = await api.get('/v1/availability', { service: appointment.items.map((i) => i.service).join(','), date: date.control.value, staff: appointment.items[0].staff });
                    const starts = (offered.slots || []).map((s) => s.start);
                    mount(start.control, h('option', { value: '' }, starts.length ? t('day.choose_time') : t('day.nothing_offered')), ...starts.map((s) => h('option', { value: s }, formatTime(s))));
                } catch (error) { start.setError(problemText(error)); }
            }
            mount(moveArea, h('form', { class: 'sub-form', onsubmit: (e) => e.preventDefault() }, h('h3', null, t('day.conflict_move_title', { who: whoName(appointment) })),
                h('div', { class: 'form-row' }, date, start),
                h('div', { class: 'actions' }, button(t('day.conflict_move'), () => {
                    if (!start.control.value) { start.setError(t('day.choose_time_first')); return null; }
                    return resolve({ action: 'move', appointment: appointment.id, start: start.control.value });
                }, { kind: 'primary' }), button(t('back'), () => mount(moveArea)))));
            loadStarts();
        }
        const resolver = can('conflicts.resolve');
        return h('li', { class: ['queue-item', 'conflict-item', conflict.resolution && 'resolved'], dataset: { testid: 'conflict' } },
            h('div', { class: 'entry-body' },
                h('strong', null, `⚠ ${t('day.conflict_of', { subject })}`), ' ',
                h('span', null, `${formatDate(conflict.start, true)}, ${timeRange(conflict.start, conflict.end)}`),
                conflict.resolution ? h('p', { class: 'muted' }, t('day.conflict_resolution', { action: t(`day.resolution_${conflict.resolution.action}`), actor: conflict.resolution.actor })) : null,
                h('ul', { class: 'plain' }, ...conflict.appointments.map((id) => {
                    const a = byID.get(id);
                    if (!a) return h('li', null, t('day.client_unknown'));
                    return h('li', { class: 'conflict-appt' },
                        h('button', { type: 'button', class: 'btn ghost', onclick: () => openAppointment(a.id, { initial: a, onChange: load }) },
                            `${timeRange(a.start, a.end)} ${whoName(a)} — ${servicesText(a)}`), ' ', statusBadge(a.status),
                        resolver ? button(t('day.conflict_move'), () => showMove(a), { kind: 'secondary' }) : null,
                        resolver ? button(t('day.conflict_cancel'), () => resolve({ action: 'cancel', appointment: a.id }), { kind: 'danger' }) : null);
                })),
                resolver && !conflict.resolution ? h('div', { class: 'actions' }, button(t('day.conflict_accept'), () => resolve({ action: 'accept' }), { kind: 'primary' })) : null,
                !resolver ? h('p', { class: 'hint' }, t('day.conflict_ask_manager')) : null,
                moveArea, alert));
    }

    function drawRequests(requested, error) {
        mount(requestsArea, h('h2', { id: 'queue-requests' }, t('day.queue_requests'), ' ', h('span', { class: 'count' }, `(${requested.length})`)),
            h('p', { class: 'hint' }, t('day.queue_requests_hint')),
            error ? h('p', { class: 'alert' }, problemText(error)) : null,
            requested.length ? h('ul', { class: 'list' }, ...requested.map(requestItem)) : emptyState(t('day.queue_no_requests')));
    }

    function requestItem(a) {
        const alert = alertBox();
        const act = async (action, body) => {
            try {
                await api.post(`/v1/appointments/${a.id}/${action}`, body || {});
                load();
            } catch (error) { showDayProblem(alert, error); }
        };
        const manage = can('appointments.manage');
        return h('li', { class: 'queue-item', dataset: { testid: 'request', id: a.id } },
            h('div', { class: 'entry-body' },
                h('strong', null, whoName(a)), ' — ', servicesText(a), ', ', a.items.map((i) => staffName(i.staff)).join(', '),
                h('div', null, `${formatDate(a.start, true)}, ${timeRange(a.start, a.end)}`, ' ', statusBadge(a.status)),
                manage ? h('div', { class: 'actions' },
                    button(t('day.action_confirm'), () => act('confirm'), { kind: 'primary' }),
                    button(t('day.action_reject'), () => act('reject', { reason: null })),
                    button(t('day.details'), () => openAppointment(a.id, { initial: a, onChange: load }), { kind: 'ghost' })) : null,
                alert));
    }

    let timer = null;
    const refresh = () => { clearTimeout(timer); timer = setTimeout(() => { if (!disposed) load(); }, 150); };
    const offs = [on('event:appointment', refresh), on('event:conflict_resolution', refresh)];
    mount(conflictsArea, h('p', { class: 'muted' }, t('loading')));
    load();
    return () => { disposed = true; clearTimeout(timer); offs.forEach((off) => off()); };
}
