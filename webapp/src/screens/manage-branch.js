// Branch tab: the home branch's details, opening hours per weekday and booking policy (PUT
// /v1/branches/{id} replaces every field, so every field is sent), and its holidays and other
// date overrides (PUT/DELETE /v1/branches/{id}/overrides/{date}). The date-overrides panel is
// shared with the staff tab.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDate, setBranchFormats } from '../i18n.js';
import { state, on } from '../store.js';
import { today, instantOf } from '../time.js';
import { button, field, alertBox, showProblem, emptyState, problemText, notify } from '../ui.js';
import { weeklyEditor, intervalsField, intervalsText, checkboxField, intValue, section, confirmDialog, focusFirstError, placeHoursProblem } from './manage-common.js';

/**
 * Date overrides of a branch or a staff member (`base` = `/v1/branches/{id}` or `/v1/staff/{id}`):
 * the list from today on, a form to set one (no hours = closed / day off), and removal.
 */
export function overridesPanel(base, title, intro) {
    let alive = true;
    const list = h('div');
    const alert = alertBox();
    const date = field({ label: t('manage.overrides.date'), name: 'date', type: 'date', value: '', required: true });
    const hours = intervalsField(t('manage.overrides.hours'), [], 'override-hours');
    const note = field({ label: t('manage.overrides.note'), name: 'note', value: '', maxlength: 500, hint: t('manage.overrides.note_hint') });

    async function load() {
        let items;
        try {
            items = (await api.get(`${base}/overrides`, { from: today() })).items || [];
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        mount(list, items.length ? h('ul', { class: 'list compact' }, items.map((item) => h('li', { class: 'row-line', dataset: { testid: 'override', date: item.date } },
            h('span', null, h('strong', null, formatDate(instantOf(item.date, '12:00'), true)), ' — ',
                item.intervals.length ? intervalsText(item.intervals) : t('manage.overrides.closed'),
                item.note ? h('span', { class: 'muted' }, ` · ${item.note}`) : null),
            button(t('manage.remove'), () => confirmDialog(t('manage.overrides.remove_title'), formatDate(instantOf(item.date, '12:00'), true), t('manage.remove'),
                async () => { await api.delete(`${base}/overrides/${item.date}`); load(); }), { ariaLabel: t('manage.overrides.remove_named', { date: item.date }) }))))
            : emptyState(t('manage.overrides.none')));
    }

    async function save(event) {
        event.preventDefault();
        const intervals = hours.read();
        date.setError(date.control.value ? '' : t('validation.required'));
        if (!date.control.value || intervals === null) return;
        try {
            await api.put(`${base}/overrides/${date.control.value}`, { intervals, note: note.control.value.trim() });
            date.control.value = ''; hours.control.value = ''; note.control.value = '';
            showProblem(alert, null);
            load();
        } catch (error) {
            showProblem(alert, error, { date, intervals: hours, note });
        }
    }

    const element = section(title, null, intro ? h('p', { class: 'hint' }, intro) : null, list,
        h('form', { novalidate: true, class: 'inline-form', onsubmit: save }, h('div', { class: 'form-row' }, date, hours, note), alert,
            button(t('manage.overrides.set'), null, { kind: 'primary', type: 'submit' })));
    load();
    element.reload = load;
    element.stop = () => { alive = false; };
    return element;
}

export function renderBranch(container) {
    let alive = true;
    const body = h('div');
    let overrides = null;

    async function load() {
        let branch;
        try {
            branch = await api.get(`/v1/branches/${state.branch.id}`);
        } catch (error) {
            if (alive) mount(body, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        const alert = alertBox();
        const fields = {
            name: field({ label: t('manage.branch.name'), name: 'name', value: branch.name, required: true, maxlength: 200 }),
            address: field({ label: t('manage.branch.address'), name: 'address', value: branch.address, maxlength: 500 }),
            phone: field({ label: t('manage.branch.phone'), name: 'phone', type: 'tel', value: branch.phone, maxlength: 40 }),
        };
        const opening = weeklyEditor(t('manage.branch.hours'), branch.opening_hours, 'opening');
        const number = (label, key, min, max, hint) => field({ label, name: key, type: 'number', value: branch.policy[key], min, max, inputmode: 'numeric', hint });
        const policy = {
            minimum_notice_minutes: number(t('manage.branch.notice'), 'minimum_notice_minutes', 0, 525600, t('manage.branch.notice_hint')),
            horizon_days: number(t('manage.branch.horizon'), 'horizon_days', 0, 730, t('manage.branch.horizon_hint')),
            cancellation_cutoff_hours: number(t('manage.branch.cutoff'), 'cancellation_cutoff_hours', 0, 8760, t('manage.branch.cutoff_hint')),
            slot_hold_minutes: number(t('manage.branch.hold'), 'slot_hold_minutes', 1, 1440, t('manage.branch.hold_hint')),
        };
        const active = checkboxField(t('manage.active_label'), branch.active, 'active');
        const save = async (event) => {
            event.preventDefault();
            const hours = opening.read();
            const name = fields.name.control.value.trim();
            fields.name.setError(name ? '' : t('validation.required'));
            const values = {};
            let bad = !name || hours === null;
            for (const [key, wrapper] of Object.entries(policy)) {
                values[key] = intValue(wrapper);
                const wrong = values[key] === null || Number.isNaN(values[key]);
                wrapper.setError(wrong ? t('manage.whole_number') : '');
                if (wrong) bad = true;
            }
            if (bad) { focusFirstError(event.target); return; }
            const document = {
                name, address: fields.address.control.value.trim(), phone: fields.phone.control.value.trim(),
                time_zone: branch.time_zone, currency: branch.currency, locale: branch.locale, region: branch.region,
                opening_hours: hours, policy: values, active: active.control.checked,
            };
            try {
                const saved = await api.put(`/v1/branches/${branch.id}`, document);
                state.branch = saved;
                setBranchFormats(saved);
                showProblem(alert, null);
                notify(t('manage.saved'));
            } catch (error) {
                showProblem(alert, error, { ...fields, opening_hours: opening, policy: policy.minimum_notice_minutes, ...policy });
                if (!placeHoursProblem(error, { 'opening hours': opening })) focusFirstError(event.target);
            }
        };
        if (overrides) overrides.stop();
        overrides = overridesPanel(`/v1/branches/${branch.id}`, t('manage.branch.overrides'), t('manage.branch.overrides_intro'));
        mount(body,
            section(t('manage.branch.title'), null,
                h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'branch-form' } },
                    h('div', { class: 'form-grid' }, Object.values(fields)),
                    h('p', { class: 'muted small' }, t('manage.branch.zone', { zone: branch.time_zone, currency: branch.currency })),
                    opening,
                    h('fieldset', { class: 'plain-fieldset' }, h('legend', null, t('manage.branch.policy')), h('div', { class: 'form-grid' }, Object.values(policy))),
                    active, alert,
                    h('div', { class: 'actions' }, button(t('save'), null, { kind: 'primary', type: 'submit' })))),
            overrides);
    }

    mount(container, body);
    load();
    const off = on('event:branch', () => { if (overrides) overrides.reload(); });
    return () => { alive = false; if (overrides) overrides.stop(); off(); };
}
