// Staff tab: the list (inactive too) and the chosen member (#/manage/staff?id=…): name, weekly
// schedule and breaks, active (PUT /v1/staff/{id}); the services they perform (PUT/DELETE
// /v1/staff/{id}/services/{service}); time off (POST /v1/staff/{id}/time-off, DELETE
// /v1/time-off/{id}); and date overrides (shared panel from the branch tab).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, localName, formatDateTime } from '../i18n.js';
import { on } from '../store.js';
import { go } from '../router.js';
import { instantOf, rfc3339 } from '../time.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText, notify } from '../ui.js';
import { weeklyEditor, weeklySummary, checkboxField, section, confirmDialog, focusFirstError, placeHoursProblem } from './manage-common.js';
import { overridesPanel } from './manage-branch.js';
import { refreshCatalogue } from './manage.js';

export function renderStaff(container, query) {
    let alive = true;
    const list = h('div', { class: 'staff-list' });
    const detail = h('div', { class: 'staff-detail' });
    const stops = [];
    let staff = [];
    let loadedDetail = null;

    async function load() {
        try {
            staff = (await api.get('/v1/staff', { include_inactive: 'true' })).items || [];
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        mount(list, section(t('manage.staff.title'), button(t('manage.staff.add'), () => openStaff(null), { kind: 'primary', dataset: { testid: 'add-staff' } }),
            staff.length ? h('ul', { class: 'list' }, staff.map((member) => h('li', { class: [!member.active && 'inactive'] },
                h('a', { href: `#/manage/staff?id=${member.id}`, class: ['staff-link', member.id === query.id && 'active'], 'aria-current': member.id === query.id ? 'true' : null, dataset: { testid: 'staff' } },
                    h('strong', null, member.name), member.active ? null : h('span', { class: 'muted' }, ` · ${t('manage.inactive')}`),
                    h('span', { class: 'muted small block' }, weeklySummary(member.schedule))))))
                : emptyState(t('manage.staff.none'))));
        const chosen = staff.find((member) => member.id === query.id);
        if (chosen && loadedDetail !== chosen.id) { loadedDetail = chosen.id; drawDetail(chosen); }
        if (!chosen) mount(detail, emptyState(t('manage.staff.choose')));
    }

    function drawDetail(member) {
        for (const stop of stops.splice(0)) stop();
        const alert = alertBox();
        const name = field({ label: t('manage.staff.name'), name: 'name', value: member.name, required: true, maxlength: 200 });
        const schedule = weeklyEditor(t('manage.staff.schedule'), member.schedule, 'schedule');
        const breaks = weeklyEditor(t('manage.staff.breaks'), member.breaks, 'breaks');
        const active = checkboxField(t('manage.active_label'), member.active, 'active');
        const save = async (event) => {
            event.preventDefault();
            const body = staffBody(member, name, schedule, breaks, active);
            if (!body) { focusFirstError(event.target); return; }
            try {
                // The form stays as it is (what was typed is what was saved); the list refreshes.
                const saved = await api.put(`/v1/staff/${member.id}`, body);
                Object.assign(member, saved);
                title.textContent = saved.name;
                showProblem(alert, null);
                notify(t('manage.saved'));
                await refreshCatalogue();
                load();
            } catch (error) {
                showProblem(alert, error, { name, schedule, breaks });
                placeHoursProblem(error, { schedule, breaks });
            }
        };
        const services = h('div');
        const timeOff = timeOffPanel(member);
        const overrides = overridesPanel(`/v1/staff/${member.id}`, t('manage.staff.overrides'), t('manage.staff.overrides_intro'));
        stops.push(timeOff.stop, overrides.stop);
        const title = h('h2', { class: 'detail-title' }, member.name);
        mount(detail,
            title,
            section(t('manage.staff.profile'), null, h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'staff-form' } }, name, active, schedule, breaks, alert,
                h('div', { class: 'actions' }, button(t('save'), null, { kind: 'primary', type: 'submit' })))),
            section(t('manage.staff.services'), null, h('p', { class: 'hint' }, t('manage.staff.services_intro')), services),
            timeOff, overrides);
        loadServices(member, services);
    }

    async function loadServices(member, container) {
        let all;
        let assigned;
        try {
            [all, assigned] = await Promise.all([api.get('/v1/services', { include_inactive: 'true' }), api.get(`/v1/staff/${member.id}/services`)]);
        } catch (error) {
            mount(container, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        const mine = new Set((assigned.items || []).map((item) => item.service));
        const alert = alertBox();
        mount(container, h('fieldset', { class: 'plain-fieldset checks' }, h('legend', { class: 'visually-hidden' }, t('manage.staff.services')),
            (all.items || []).map((service) => {
                const id = `assign-${service.id}`;
                const input = h('input', { type: 'checkbox', id, checked: mine.has(service.id), dataset: { testid: 'assign' } });
                input.addEventListener('change', async () => {
                    input.disabled = true;
                    try {
                        if (input.checked) await api.put(`/v1/staff/${member.id}/services/${service.id}`, {});
                        else await api.delete(`/v1/staff/${member.id}/services/${service.id}`);
                        showProblem(alert, null);
                    } catch (error) {
                        input.checked = !input.checked;
                        showProblem(alert, error);
                    } finally { input.disabled = false; }
                });
                return h('div', { class: 'field check' }, h('label', { for: id, class: 'check-label' }, input,
                    h('span', null, localName(service.names), service.active ? null : h('span', { class: 'muted' }, ` · ${t('manage.inactive')}`))));
            })), alert);
    }

    function openStaff() {
        openDialog(t('manage.staff.add'), (handle) => {
            const alert = alertBox();
            const name = field({ label: t('manage.staff.name'), name: 'name', value: '', required: true, maxlength: 200 });
            const schedule = weeklyEditor(t('manage.staff.schedule'), { mon: [['09:00', '18:00']], tue: [['09:00', '18:00']], wed: [['09:00', '18:00']], thu: [['09:00', '18:00']], fri: [['09:00', '18:00']] }, 'new-schedule');
            const breaks = weeklyEditor(t('manage.staff.breaks'), {}, 'new-breaks');
            const active = checkboxField(t('manage.active_label'), true, 'active');
            const save = async (event) => {
                event.preventDefault();
                const body = staffBody(null, name, schedule, breaks, active);
                if (!body) { focusFirstError(event.target); return; }
                try {
                    const created = await api.post('/v1/staff', body);
                    handle.close();
                    await refreshCatalogue();
                    go('/manage/staff', { id: created.id });
                } catch (error) {
                    showProblem(alert, error, { name, schedule, breaks });
                placeHoursProblem(error, { schedule, breaks });
                }
            };
            return h('form', { novalidate: true, onsubmit: save }, name, active, schedule, breaks, alert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit' })));
        }, { wide: true });
    }

    mount(container, h('div', { class: 'staff-layout' }, list, detail));
    load();
    const off = on('event:staff', () => { load(); });
    return () => { alive = false; off(); for (const stop of stops) stop(); };
}

function staffBody(member, name, schedule, breaks, active) {
    const value = name.control.value.trim();
    name.setError(value ? '' : t('validation.required'));
    const hours = schedule.read();
    const pauses = breaks.read();
    if (!value || hours === null || pauses === null) return null;
    const body = { name: value, schedule: hours, breaks: pauses, active: active.control.checked };
    if (member) { body.branch = member.branch; body.display_order = member.display_order; }
    return body;
}

function timeOffPanel(member) {
    let alive = true;
    const list = h('div');
    const alert = alertBox();
    const start = field({ label: t('manage.timeoff.start'), name: 'start', type: 'datetime-local', required: true });
    const end = field({ label: t('manage.timeoff.end'), name: 'end', type: 'datetime-local', required: true });
    const reason = field({ label: t('manage.timeoff.reason'), name: 'reason', maxlength: 500 });

    async function load() {
        let items;
        try {
            items = (await api.get(`/v1/staff/${member.id}/time-off`, { from: rfc3339(new Date()) })).items || [];
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        mount(list, items.length ? h('ul', { class: 'list compact' }, items.map((item) => h('li', { class: 'row-line', dataset: { testid: 'time-off' } },
            h('span', null, `${formatDateTime(item.start)} – ${formatDateTime(item.end)}`, item.reason ? h('span', { class: 'muted' }, ` · ${item.reason}`) : null),
            button(t('manage.remove'), () => confirmDialog(t('manage.timeoff.remove_title'), `${formatDateTime(item.start)} – ${formatDateTime(item.end)}`, t('manage.remove'),
                async () => { await api.delete(`/v1/time-off/${item.id}`); load(); }), { ariaLabel: t('manage.timeoff.remove_named', { when: formatDateTime(item.start) }) }))))
            : emptyState(t('manage.timeoff.none')));
    }

    const instant = (wrapper) => {
        const [date, time] = wrapper.control.value.split('T');
        return date && time ? rfc3339(instantOf(date, time.slice(0, 5))) : null;
    };

    async function add(event) {
        event.preventDefault();
        const from = instant(start);
        const to = instant(end);
        start.setError(from ? '' : t('validation.required'));
        end.setError(to ? '' : t('validation.required'));
        if (!from || !to) return;
        try {
            await api.post(`/v1/staff/${member.id}/time-off`, { start: from, end: to, reason: reason.control.value.trim() });
            start.control.value = ''; end.control.value = ''; reason.control.value = '';
            showProblem(alert, null);
            load();
        } catch (error) {
            showProblem(alert, error, { start, end, reason });
        }
    }

    const element = section(t('manage.timeoff.title'), null, list,
        h('form', { novalidate: true, class: 'inline-form', onsubmit: add }, h('div', { class: 'form-row' }, start, end, reason), alert,
            button(t('manage.timeoff.add'), null, { kind: 'primary', type: 'submit' })));
    load();
    element.stop = () => { alive = false; };
    return element;
}
