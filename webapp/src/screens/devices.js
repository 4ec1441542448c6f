// Devices and people (#/devices, devices.manage): pending pairing requests (refreshed every few
// seconds) with approve (choosing the role; only an owner may give `owner`) and reject; the paired
// devices with revoke; the people who sign in with a PIN (add, change PIN or role, deactivate);
// and this tablet's own settings (the auto-lock idle minutes main.js reads).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime, formatAgo, formatTime } from '../i18n.js';
import { state, on, can } from '../store.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, notify, problemText } from '../ui.js';
import { confirmDialog, section, checkboxField, focusFirstError } from './manage-common.js';

const DEVICE_ROLES = ['front_desk', 'staff', 'kiosk', 'manager', 'owner'];
const PERSON_ROLES = ['front_desk', 'staff', 'manager', 'owner'];
const AUTOLOCK_KEY = 'edgenode.autolock_minutes';

function isOwner() { return Boolean(state.me && state.me.role === 'owner'); }
/** The roles this person may give (a manager never gives `owner`). */
function givable(roles) { return roles.filter((role) => role !== 'owner' || isOwner()); }
function roleOptions(roles) { return givable(roles).map((role) => [role, t(`role.${role}`)]); }

export function renderDevices(container) {
    if (!can('devices.manage')) {
        mount(container, h('h1', null, t('manage.devices.screen_title')), h('p', { class: 'alert', role: 'alert' }, t('problem.forbidden')));
        return null;
    }
    let alive = true;
    const pendingBody = h('div', { dataset: { testid: 'pairing-requests' } });
    const pendingAlert = alertBox();
    const devicesBody = h('div');
    const peopleBody = h('div');
    const rows = new Map(); // code → row element (kept across refreshes so a chosen role stays)
    // Approved requests whose tablet has not claimed its token yet (the device is listed once it has).
    const approved = new Map(); // code → {device_name, role, expires_at}
    let knownDevices = null;
    let pendingSignature = null;
    let ticks = 0; // the paired devices are refreshed every fifth poll (or each while a tablet is claiming)
    let pollTimer = null;

    async function loadPending() {
        try {
            const items = (await api.get('/v1/pairing-requests')).items || [];
            if (!alive) return;
            ticks += 1;
            if (approved.size || ticks % 5 === 0) await loadDevices();
            drawPending(items.filter((item) => item.status === 'pending'));
        } catch (error) {
            if (alive && error.kind !== 'offline') showProblem(pendingAlert, error);
        }
    }

    function drawPending(items) {
        const codes = new Set(items.map((item) => item.code));
        for (const code of [...rows.keys()]) if (!codes.has(code)) rows.delete(code);
        for (const item of items) if (!rows.has(item.code)) rows.set(item.code, pendingRow(item));
        const now = Date.now();
        for (const [code, item] of approved) if (new Date(item.expires_at).getTime() < now) approved.delete(code);
        const waiting = [...approved.values()].map((item) => h('li', { class: 'pending-row approved', dataset: { testid: 'pairing-approved' } },
            h('div', { class: 'pending-info' }, h('p', null, h('strong', null, item.device_name), ` — ${t(`role.${item.role}`)}`),
                h('p', { class: 'muted small' }, t('manage.pairing.waiting_claim')))));
        // Redraw only when the list changed: a redraw would close a role menu someone has open.
        const signature = JSON.stringify([items.map((item) => item.code), [...approved.keys()]]);
        if (signature === pendingSignature) return;
        pendingSignature = signature;
        mount(pendingBody, items.length || waiting.length
            ? h('ul', { class: 'list pending' }, items.map((item) => rows.get(item.code)), waiting)
            : emptyState(t('manage.pairing.none')));
    }

    function pendingRow(item) {
        const roleField = field({ label: t('manage.pairing.role'), name: 'role', options: roleOptions(DEVICE_ROLES), value: 'front_desk' });
        roleField.control.dataset.testid = 'pairing-role';
        const alert = alertBox();
        const done = () => { rows.delete(item.code); loadPending(); loadDevices(); };
        return h('li', { class: 'pending-row', dataset: { testid: 'pairing-request', code: item.code } },
            h('div', { class: 'pending-info' },
                h('p', { class: 'pairing-code-small' }, h('span', { 'aria-hidden': 'true' }, item.code.replace(/(\d{3})(\d{3})/, '$1 $2')),
                    h('span', { class: 'visually-hidden' }, t('manage.pairing.code_label', { code: item.code.split('').join(' ') }))),
                h('p', null, h('strong', null, item.device_name)),
                h('p', { class: 'muted small' }, t('manage.pairing.from', { address: item.remote, time: formatTime(item.requested_at) })),
                h('p', { class: 'muted small' }, t('manage.pairing.expires', { time: formatDateTime(item.expires_at) }))),
            h('div', { class: 'pending-actions' }, roleField,
                h('div', { class: 'actions tight' },
                    button(t('manage.pairing.approve'), async () => {
                        try {
                            const result = await api.post('/v1/pairing-requests/approve', { code: item.code, role: roleField.control.value });
                            approved.set(item.code, { device_name: item.device_name, role: result.role || roleField.control.value, expires_at: item.expires_at, since: Date.now() });
                            notify(t('manage.pairing.approved', { name: item.device_name }));
                            done();
                        } catch (error) { showProblem(alert, error, { role: roleField }); }
                    }, { kind: 'primary', dataset: { testid: 'approve' } }),
                    button(t('manage.pairing.reject'), async () => {
                        try {
                            await api.post('/v1/pairing-requests/reject', { code: item.code });
                            notify(t('manage.pairing.rejected', { name: item.device_name }));
                            done();
                        } catch (error) { showProblem(alert, error); }
                    }, { kind: 'secondary', dataset: { testid: 'reject' } })),
                alert));
    }

    async function loadDevices() {
        let items;
        try {
            items = (await api.get('/v1/devices')).items || [];
        } catch (error) {
            if (alive) mount(devicesBody, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        const signature = JSON.stringify(items);
        if (signature === knownDevices) return;
        // Not while someone is on a button of the list (a redraw would take their focus away).
        if (knownDevices && devicesBody.contains(document.activeElement) && !approved.size) return;
        const before = knownDevices ? new Set(JSON.parse(knownDevices).map((d) => d.id)) : null;
        knownDevices = signature;
        if (before) {
            // A tablet that claimed its token is no longer waiting.
            for (const device of items) {
                if (before.has(device.id)) continue;
                for (const [code, item] of approved) if (item.device_name === device.name) approved.delete(code);
            }
        }
        const selfID = state.me && state.me.device && state.me.device.id;
        const rowsOf = items.map((device) => h('tr', { class: device.revoked_at ? 'revoked' : null, dataset: { testid: 'device', name: device.name } },
            h('th', { scope: 'row' }, device.name, device.id === selfID ? h('span', { class: 'badge self' }, t('manage.devices.this')) : null),
            h('td', null, t(`role.${device.role}`)),
            h('td', null, formatDateTime(device.paired_at), h('br'), h('span', { class: 'muted small' }, device.paired_by)),
            h('td', null, device.last_used_at ? formatAgo(device.last_used_at) : '—'),
            h('td', null, device.revoked_at ? h('span', { class: 'badge status-cancelled' }, t('manage.devices.revoked_at', { time: formatDateTime(device.revoked_at) }))
                : button(t('manage.devices.revoke'), () => confirmDialog(t('manage.devices.revoke_title', { name: device.name }),
                    device.id === selfID ? t('manage.devices.revoke_self') : t('manage.devices.revoke_text'), t('manage.devices.revoke'),
                    async () => { await api.post(`/v1/devices/${device.id}/revoke`); knownDevices = null; loadDevices(); }),
                { kind: 'secondary', dataset: { testid: 'revoke' }, ariaLabel: t('manage.devices.revoke_named', { name: device.name }) }))));
        mount(devicesBody, items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('manage.devices.title')),
            h('thead', null, h('tr', null, ['name', 'role', 'paired', 'last_used', 'state'].map((key) => h('th', { scope: 'col' }, t(`manage.devices.col.${key}`))))),
            h('tbody', null, rowsOf))) : emptyState(t('manage.devices.none')));
    }

    async function loadPeople() {
        let items;
        try {
            items = (await api.get('/v1/people')).items || [];
        } catch (error) {
            if (alive) mount(peopleBody, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        const staffName = (id) => { const s = (state.staff || []).find((x) => x.id === id); return s ? s.name : '—'; };
        mount(peopleBody, items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('manage.people.title')),
            h('thead', null, h('tr', null, ['name', 'role', 'staff', 'state', 'actions'].map((key) => h('th', { scope: 'col' }, t(`manage.people.col.${key}`))))),
            h('tbody', null, items.map((person) => h('tr', { class: person.active ? null : 'revoked', dataset: { testid: 'person', name: person.name } },
                h('th', { scope: 'row' }, person.name),
                h('td', null, t(`role.${person.role}`)),
                h('td', null, person.staff ? staffName(person.staff) : '—'),
                h('td', null, person.active ? t('manage.people.active') : t('manage.people.inactive')),
                h('td', { class: 'person-actions' }, person.role === 'owner' && !isOwner() ? h('span', { class: 'muted small' }, t('manage.people.owner_only'))
                    : button(t('manage.people.edit'), () => openPerson(person), { ariaLabel: t('manage.people.edit_named', { name: person.name }), dataset: { testid: 'edit-person' } }),
                    person.role === 'manager' && can('reports.grant') ? button(t('manage.people.report_access'), () => openReportAccess(person, loadPeople),
                        { ariaLabel: t('manage.people.report_access_named', { name: person.name }), dataset: { testid: 'report-access' } }) : null))))))
            : emptyState(t('manage.people.none')));
    }

    function openPerson(person) {
        const editing = Boolean(person);
        openDialog(editing ? t('manage.people.edit_title', { name: person.name }) : t('manage.people.add'), (handle) => {
            const alert = alertBox();
            const fields = {
                name: field({ label: t('manage.people.name'), name: 'name', value: editing ? person.name : '', required: true, maxlength: 200 }),
                role: field({ label: t('manage.people.role'), name: 'role', options: roleOptions(PERSON_ROLES), value: editing ? person.role : 'front_desk' }),
                pin: field({ label: editing ? t('manage.people.new_pin') : t('manage.people.pin'), name: 'pin', type: 'password', inputmode: 'numeric',
                    maxlength: 8, autocomplete: 'new-password', hint: editing ? t('manage.people.new_pin_hint') : t('manage.people.pin_hint'), required: !editing }),
            };
            if (!editing) {
                fields.staff = field({ label: t('manage.people.staff'), name: 'staff', value: '',
                    options: [['', t('manage.people.no_staff')], ...(state.staff || []).map((s) => [s.id, s.name])], hint: t('manage.people.staff_hint') });
            } else {
                fields.active = checkboxField(t('manage.people.active_label'), person.active, 'active');
            }
            const save = async (event) => {
                event.preventDefault();
                const name = fields.name.control.value.trim();
                const pin = fields.pin.control.value.trim();
                let bad = false;
                fields.name.setError(name ? '' : t('validation.required'));
                if (!name) bad = true;
                if ((!editing || pin) && !/^\d{4,8}$/.test(pin)) { fields.pin.setError(t('manage.people.pin_format')); bad = true; } else fields.pin.setError('');
                if (bad) { focusFirstError(event.target); return; }
                try {
                    if (editing) {
                        const patch = {};
                        if (name !== person.name) patch.name = name;
                        if (fields.role.control.value !== person.role) patch.role = fields.role.control.value;
                        if (pin) patch.pin = pin;
                        if (fields.active.control.checked !== person.active) patch.active = fields.active.control.checked;
                        if (Object.keys(patch).length) await api.patch(`/v1/people/${person.id}`, patch);
                    } else {
                        const body = { name, role: fields.role.control.value, pin };
                        if (fields.staff.control.value) body.staff = fields.staff.control.value;
                        await api.post('/v1/people', body);
                    }
                    handle.close();
                    notify(t('manage.people.saved', { name }));
                    loadPeople();
                } catch (error) {
                    showProblem(alert, error, fields);
                    if (error.kind === 'invalid_argument' && /pin/i.test(error.detail || '')) fields.pin.setError(problemText(error));
                }
            };
            return h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'person-form' } }, Object.values(fields),
                editing ? h('p', { class: 'hint' }, t('manage.people.sessions_end')) : null, alert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit' })));
        });
    }

    function tabletSettings() {
        const current = String(Number(localStorage.getItem(AUTOLOCK_KEY)) || 5);
        const choices = ['1', '2', '5', '10', '15', '30', '60'];
        if (!choices.includes(current)) choices.push(current);
        const minutes = field({ label: t('manage.tablet.autolock'), name: 'autolock', value: current, hint: t('manage.tablet.autolock_hint'),
            options: choices.map((value) => [value, t('manage.tablet.minutes', { count: Number(value) })]) });
        minutes.control.dataset.testid = 'autolock';
        minutes.control.addEventListener('change', () => {
            try {
                localStorage.setItem(AUTOLOCK_KEY, minutes.control.value);
                notify(t('manage.tablet.saved', { count: Number(minutes.control.value) }));
            } catch { notify(t('manage.tablet.not_saved'), 'error'); }
        });
        return h('div', { class: 'narrow-form' }, minutes);
    }

    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('manage.devices.screen_title'))),
        section(t('manage.pairing.title'), null, h('p', { class: 'hint' }, t('manage.pairing.intro')), pendingAlert, pendingBody),
        section(t('manage.devices.title'), null, devicesBody),
        section(t('manage.people.title'), button(t('manage.people.add'), () => openPerson(null), { kind: 'primary', dataset: { testid: 'add-person' } }), peopleBody),
        section(t('manage.tablet.title'), null, tabletSettings()));
    mount(pendingBody, h('p', { class: 'muted' }, t('loading')));
    loadPending();
    loadDevices();
    loadPeople();
    const poll = () => { pollTimer = setTimeout(async () => { await loadPending(); if (alive) poll(); }, 3000); };
    poll();
    const offs = [on('event:person', loadPeople)];
    return () => { alive = false; clearTimeout(pollTimer); offs.forEach((off) => off()); };
}

/**
 * The owner's control of a manager's report access (issue 19): their own branch, every branch, or
 * chosen branches → `PUT /v1/people/{id}/report-access` (reports.grant).
 */
function openReportAccess(person, reload) {
    const access = person.report_access === undefined ? 'own' : person.report_access;
    const current = Array.isArray(access) ? 'chosen' : access;
    openDialog(t('manage.people.report_access_title', { name: person.name }), (handle) => {
        const alert = alertBox();
        const name = `access-${person.id}`;
        const choices = ['own', 'all', 'chosen'].map((value) => h('label', { class: 'check' },
            h('input', { type: 'radio', name, value, checked: value === current, dataset: { testid: `access-${value}` }, onchange: () => { picks.hidden = !chosen(); } }),
            ` ${t(`manage.people.report_access_${value}`)}`));
        const boxes = (state.branches || []).map((branch) => h('label', { class: 'check' },
            h('input', { type: 'checkbox', value: branch.id, checked: Array.isArray(access) && access.includes(branch.id), dataset: { testid: 'access-branch' } }), ` ${branch.name}`));
        const picks = h('fieldset', { class: 'report-branches', hidden: current !== 'chosen' }, h('legend', null, t('reports.filter.branches')), boxes);
        const chosen = () => choices.some((label) => label.querySelector('input').checked && label.querySelector('input').value === 'chosen');
        async function save(event) {
            event.preventDefault();
            const picked = choices.map((label) => label.querySelector('input')).find((input) => input.checked);
            let branches = picked ? picked.value : 'own';
            if (branches === 'chosen') {
                branches = boxes.map((label) => label.querySelector('input')).filter((input) => input.checked).map((input) => input.value);
                if (!branches.length) { alert.hidden = false; alert.textContent = t('manage.people.report_access_pick'); return; }
            }
            try {
                await api.put(`/v1/people/${person.id}/report-access`, { branches });
            } catch (error) {
                showProblem(alert, error);
                return;
            }
            notify(t('manage.people.report_access_saved', { name: person.name }));
            handle.close();
            reload();
        }
        return h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'report-access-form' } },
            h('fieldset', { class: 'report-branches' }, h('legend', null, t('manage.people.report_access')), choices),
            picks, h('p', { class: 'hint' }, t('manage.people.report_access_hint')), alert,
            h('div', { class: 'actions' }, button(t('manage.people.save'), null, { type: 'submit', kind: 'primary', dataset: { testid: 'report-access-save' } })));
    });
}
