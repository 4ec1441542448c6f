// An appointment's details: who, services, staff, price, status, source, requests, order number,
// history (GET /v1/appointments/{id}/events), its messages to the client (appointment-messages.js)
// and the actions its status allows (POST
// /v1/appointments/{id}/{action}); moving it to another offered start (PATCH). A group session
// opens as the list of its participants.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { on, can, state } from '../store.js';
import { t, formatTime, formatDate, formatDateTime, formatMoney } from '../i18n.js';
import { zoned, today } from '../time.js';
import { button, field, alertBox, openDialog, statusBadge, problemText, emptyState } from '../ui.js';
import { loadClients, whoName, whoPhone, serviceName, staffName, timeRange, branchStaff, ACTIONS, MOVABLE } from './day-common.js';
import { showDayProblem } from './day-common.js';
import { go } from '../router.js';
import { CHECKOUT_STATUSES } from './checkout.js';
import { appointmentMessages } from './appointment-messages.js';

/** Opens the details of appointment `id` (or, with `options.group`, a group session's participants). */
export function openAppointment(id, options = {}) {
    if (options.group) return openGroup(options.group, options);
    let appointment = options.initial || null;
    openDialog(t('day.details_title'), ({ body, dialog, close }) => {
        const content = h('div', { class: 'appointment-details', dataset: { testid: 'appointment-details' } });
        const history = h('div', { class: 'history' });
        const alert = alertBox();
        const result = h('div', { class: 'action-result', role: 'status', 'aria-live': 'polite' });
        const actionArea = h('div', { class: 'action-area' });

        function draw() {
            if (!appointment) { mount(content, h('p', { class: 'muted' }, t('loading'))); return; }
            const a = appointment;
            const rows = [
                [t('day.who'), h('span', { dataset: { testid: 'details-who' } }, whoName(a), whoPhone(a) ? ` · ${whoPhone(a)}` : '',
                    a.client && can('clients.read') ? h('a', { href: `#/clients/${a.client}`, class: 'client-link', onclick: () => close() }, t('day.open_client')) : null)],
                [t('day.when'), `${formatDate(a.start, true)}, ${timeRange(a.start, a.end)}`],
                [t('day.services'), h('ul', { class: 'plain' }, ...a.items.map((item) => h('li', null,
                    `${serviceName(item.service)} — ${staffName(item.staff)}, ${timeRange(item.start, item.end)}`)))],
                [t('day.price'), formatMoney(a.price)],
                [t('day.status'), h('span', { dataset: { testid: 'details-status' } }, statusBadge(a.status),
                    a.late_cancellation ? h('strong', { class: 'late-flag', dataset: { testid: 'late-flag' } }, ` ${t('day.late_cancellation')}`) : null,
                    a.cancelled_by ? ` (${t(`day.cancelled_by_${a.cancelled_by}`)})` : null)],
                a.status_reason ? [t('day.reason'), a.status_reason] : null,
                [t('day.source'), t(`day.source_${a.source}`)],
                a.special_requests ? [t('day.special_requests'), a.special_requests] : null,
                [t('day.order_number'), h('span', { dataset: { testid: 'order-number' } }, a.order_number)],
                a.series ? [t('day.series'), t('day.part_of_series')] : null,
                a.hold_expires_at && a.status === 'held' ? [t('day.hold_expires'), formatDateTime(a.hold_expires_at)] : null,
            ].filter(Boolean);
            mount(content, h('dl', { class: 'details' }, ...rows.flatMap(([term, value]) => [h('dt', null, term), h('dd', null, value)])));
            drawActions();
        }

        function drawActions() {
            const a = appointment;
            const allowed = can('appointments.manage') ? (ACTIONS[a.status] || []) : [];
            const buttons = allowed.map((action) => {
                if (action === 'cancel') return button(t('day.action_cancel'), () => showCancel(), { kind: 'danger', dataset: { testid: 'action-cancel' } });
                if (action === 'reject') return button(t('day.action_reject'), () => showReject(), { dataset: { testid: 'action-reject' } });
                return button(t(`day.action_${action.replace('-', '_')}`), () => act(action, {}), { kind: action === 'check-in' || action === 'complete' || action === 'confirm' ? 'primary' : 'secondary', dataset: { testid: `action-${action}` } });
            });
            if (can('appointments.manage') && MOVABLE.includes(a.status)) buttons.push(button(t('day.action_reschedule'), showReschedule, { dataset: { testid: 'action-reschedule' } }));
            const checkout = h('span', { class: 'checkout-slot' });
            if (can('money.take') && CHECKOUT_STATUSES.includes(a.status)) {
                buttons.push(checkout);
                // Offered only while the appointment is in no sale yet.
                api.get('/v1/sales', { appointment: a.id }).then((result) => {
                    const sold = (result.items || []).find((s) => s.state !== 'voided');
                    mount(checkout, sold
                        ? h('a', { class: 'btn secondary', href: `#/sales/${sold.id}`, onclick: () => close(), dataset: { testid: 'open-sale' } }, t('money.sale.number', { number: sold.number }))
                        : button(t('money.checkout.action'), () => { close(); go('/checkout', { appointments: a.id }); }, { kind: 'primary', dataset: { testid: 'action-checkout' } }));
                }, () => mount(checkout));
            }
            mount(actionArea, buttons.length ? h('div', { class: 'actions' }, ...buttons) : null);
        }

        async function act(action, payload) {
            try {
                const updated = await api.post(`/v1/appointments/${appointment.id}/${action}`, payload);
                appointment = updated;
                showDayProblem(alert, null);
                if (options.onChange) options.onChange(updated);
                mount(result, h('p', { class: 'notice-inline', dataset: { testid: 'action-result' } },
                    t('day.now_status', { status: t(`status.${updated.status}`) }),
                    updated.late_cancellation ? h('strong', { class: 'late-flag' }, ` ${t('day.late_cancellation_explained')}`) : null));
                draw();
                loadHistory();
            } catch (error) {
                showDayProblem(alert, error, formFields);
                if (error.kind === 'illegal_transition' || error.kind === 'not_found') refresh();
            }
        }

        let formFields = {};
        function showCancel() {
            const reason = field({ label: t('day.cancel_reason'), name: 'reason', type: 'textarea', rows: 2, maxlength: 500 });
            const by = field({ label: t('day.cancelled_by'), name: 'by', value: 'client', options: [['client', t('day.cancelled_by_client')], ['shop', t('day.cancelled_by_shop')]] });
            formFields = { reason, by };
            const late = lateWarning();
            mount(actionArea, h('form', { class: 'sub-form', onsubmit: (e) => { e.preventDefault(); } },
                h('h3', null, t('day.action_cancel')), late, reason, by,
                h('div', { class: 'actions' },
                    button(t('day.confirm_cancel'), () => act('cancel', { reason: reason.control.value || null, by: by.control.value }), { kind: 'danger', dataset: { testid: 'confirm-cancel' } }),
                    button(t('back'), drawActions))));
            reason.control.focus();
        }
        function lateWarning() {
            const policy = (state.branch && state.branch.policy) || {};
            const cutoff = policy.cancellation_cutoff_hours;
            if (cutoff === undefined || cutoff === null) return null;
            const late = new Date(appointment.start).getTime() - Date.now() < cutoff * 3600000;
            return late ? h('p', { class: 'hint warn' }, t('day.late_warning', { count: cutoff })) : null;
        }
        function showReject() {
            const reason = field({ label: t('day.reject_reason'), name: 'reason', type: 'textarea', rows: 2, maxlength: 500 });
            formFields = { reason };
            mount(actionArea, h('form', { class: 'sub-form', onsubmit: (e) => e.preventDefault() },
                h('h3', null, t('day.action_reject')), reason,
                h('div', { class: 'actions' },
                    button(t('day.confirm_reject'), () => act('reject', { reason: reason.control.value || null }), { kind: 'danger', dataset: { testid: 'confirm-reject' } }),
                    button(t('back'), drawActions))));
        }
        function showReschedule() {
            const a = appointment;
            const firstStaff = a.items[0].staff;
            const dateField = field({ label: t('day.date'), name: 'date', type: 'date', value: zoned(a.start).date, min: today(), onchange: loadStarts });
            const staffField = field({ label: t('day.staff'), name: 'staff', value: firstStaff, options: branchStaff().map((s) => [s.id, s.name]), onchange: loadStarts });
            staffField.control.dataset.testid = 'reschedule-staff';
            const startField = field({ label: t('day.new_start'), name: 'start', options: [['', t('loading')]] });
            startField.control.dataset.testid = 'reschedule-start';
            formFields = { start: startField, staff: staffField };
            async function loadStarts() {
                const chosen = startField.control.value;
                try {
                    const offered = await api.get('/v1/availability', { service: a.items.map((i) => i.service).join(','), date: dateField.control.value, staff: staffField.control.value });
                    const starts = (offered.slots || []).map((s) => s.start);
                    mount(startField.control, h('option', { value: '' }, starts.length ? t('day.choose_time') : t('day.nothing_offered')),
                        ...starts.map((s) => h('option', { value: s, selected: s === chosen }, formatTime(s))));
                    startField.setError('');
                } catch (error) {
                    startField.setError(problemText(error));
                }
            }
            async function submitMove() {
                const start = startField.control.value;
                if (!start) { startField.setError(t('day.choose_time_first')); return; }
                const body = { start };
                if (a.items.some((i) => i.staff !== staffField.control.value)) body.staff = a.items.map(() => staffField.control.value);
                try {
                    const moved = await api.patch(`/v1/appointments/${a.id}`, body);
                    appointment = moved;
                    if (options.onChange) options.onChange(moved);
                    showDayProblem(alert, null, formFields);
                    mount(result, h('p', { class: 'notice-inline', dataset: { testid: 'action-result' } }, t('day.moved_to', { when: `${formatDate(moved.start)}, ${formatTime(moved.start)}` })));
                    draw();
                    loadHistory();
                } catch (error) {
                    showDayProblem(alert, error, formFields);
                    if (error.kind === 'slot_taken' || error.kind === 'not_available') loadStarts();
                }
            }
            mount(actionArea, h('form', { class: 'sub-form', onsubmit: (e) => { e.preventDefault(); submitMove(); } },
                h('h3', null, t('day.action_reschedule')), h('p', { class: 'hint' }, t('day.reschedule_hint')),
                h('div', { class: 'form-row' }, dateField, staffField), startField,
                h('div', { class: 'actions' },
                    button(t('day.confirm_reschedule'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'confirm-reschedule' } }),
                    button(t('back'), drawActions))));
            loadStarts();
        }

        async function loadHistory() {
            try {
                const page = await api.get(`/v1/appointments/${appointment.id}/events`);
                const items = page.items || [];
                mount(history, h('h3', null, t('day.history')), items.length ? h('ol', { class: 'history-list', dataset: { testid: 'history' } }, ...items.map((e) => h('li', null,
                    h('span', { class: 'muted' }, formatDateTime(e.at)), ' ',
                    eventText(e), e.actor ? h('span', { class: 'muted' }, ` — ${e.actor}`) : null,
                    e.detail ? h('div', { class: 'hint' }, e.detail) : null))) : emptyState(t('day.no_history')));
            } catch (error) {
                mount(history, h('p', { class: 'muted' }, problemText(error)));
            }
        }

        async function refresh() {
            try {
                appointment = await api.get(`/v1/appointments/${id}`);
                await loadClients([appointment]);
                draw();
                loadHistory();
            } catch (error) {
                showDayProblem(alert, error);
            }
        }

        // Changes from other tablets show here too, without touching what is being typed.
        const off = on('event:appointment', (event) => {
            if (!event || !event.appointment || event.appointment.id !== id) return;
            appointment = event.appointment;
            const typing = actionArea.querySelector('form');
            if (typing) drawDetailsOnly(); else draw();
            loadHistory();
        });
        function drawDetailsOnly() {
            const form = actionArea.firstChild;
            draw();
            mount(actionArea, form);
        }
        dialog.addEventListener('close', off);
        // What was sent to the client about it (messages.read).
        const messages = can('messages.read') ? appointmentMessages(id) : null;
        if (messages) dialog.addEventListener('close', messages.stop);

        draw();
        if (appointment) { loadClients([appointment]).then(draw); loadHistory(); } else refresh();
        return h('div', null, content, alert, result, actionArea, history, messages && messages.element);
    }, { wide: true });
}

function eventText(e) {
    if (e.action === 'status' && e.to_status) {
        return e.from_status ? t('day.event_status', { from: t(`status.${e.from_status}`), to: t(`status.${e.to_status}`) }) : t(`status.${e.to_status}`);
    }
    const key = `day.event_${e.action}`;
    return t(key) === key ? e.action : t(key);
}

function openGroup(block, options) {
    openDialog(t('day.group_title', { service: serviceName(block.item.service) }), ({ close }) => {
        const occupying = block.appointments.filter((a) => !['cancelled', 'no_show', 'rejected'].includes(a.status));
        return h('div', null,
            h('p', null, `${formatDate(block.item.start, true)}, ${timeRange(block.item.start, block.item.end)} — ${staffName(block.item.staff)}`),
            h('p', { dataset: { testid: 'group-seats' } }, t('day.seats', { taken: occupying.length, capacity: block.capacity })),
            h('ul', { class: 'list' }, ...block.appointments.map((a) => h('li', null, h('button', {
                type: 'button', class: 'row', onclick: () => { close(); openAppointment(a.id, { ...options, group: null, initial: a }); },
            }, whoName(a), ' ', statusBadge(a.status))))));
    });
}
