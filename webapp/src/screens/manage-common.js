// Pieces shared by the clients and management screens: a weekly-hours editor (one line per
// weekday, "09:00–13:00, 14:00–18:00"), a checkbox field, a confirmation dialog, money in major
// units, and small table helpers. Everything labelled, keyboard-usable, ≥ 44 px targets.
import { h, uid } from '../dom.js';
import { t, currentCurrency } from '../i18n.js';
import { button, alertBox, showProblem, openDialog } from '../ui.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** `[["09:00","13:00"],["14:00","18:00"]]` → `09:00–13:00, 14:00–18:00`. */
export function intervalsText(intervals) {
    return (intervals || []).map(([from, to]) => `${from}–${to}`).join(', ');
}

/** Parses `09:00-13:00, 14:00–18:00` (empty = closed); null when it cannot be read. */
export function parseIntervals(text) {
    const trimmed = (text || '').trim();
    if (!trimmed) return [];
    const result = [];
    for (const part of trimmed.split(/[,;]+/)) {
        const match = part.trim().match(/^(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})$/);
        if (!match) return null;
        const pad = (n) => String(Number(n)).padStart(2, '0');
        const from = `${pad(match[1])}:${match[2]}`;
        const to = `${pad(match[3])}:${match[4]}`;
        if (Number(match[1]) > 24 || Number(match[3]) > 24 || Number(match[2]) > 59 || Number(match[4]) > 59) return null;
        result.push([from, to]);
    }
    return result;
}

/** A text field for one day's intervals, with its error place. */
export function intervalsField(label, intervals, name) {
    const id = uid(name || 'hours');
    const errorID = `${id}-error`;
    const control = h('input', { id, name, type: 'text', value: intervalsText(intervals), autocomplete: 'off', inputmode: 'text',
        placeholder: t('manage.hours.placeholder'), 'aria-describedby': `${errorID} ${id}-hint` });
    const error = h('p', { id: errorID, class: 'field-error', role: 'alert', hidden: true });
    const wrapper = h('div', { class: 'field hours-day' }, h('label', { for: id }, label), control,
        h('p', { id: `${id}-hint`, class: 'visually-hidden' }, t('manage.hours.hint')), error);
    wrapper.control = control;
    wrapper.setError = (message) => {
        error.textContent = message || '';
        error.hidden = !message;
        if (message) control.setAttribute('aria-invalid', 'true'); else control.removeAttribute('aria-invalid');
    };
    wrapper.read = () => {
        const parsed = parseIntervals(control.value);
        wrapper.setError(parsed === null ? t('manage.hours.unreadable') : '');
        return parsed;
    };
    return wrapper;
}

/**
 * A fieldset with one line per weekday. `read()` gives the WeeklyHours object (closed days left
 * out) or null when a line cannot be read (its error is shown next to it).
 */
export function weeklyEditor(legend, hours, name) {
    const days = {};
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const element = h('fieldset', { class: 'weekly' }, h('legend', null, legend),
        h('p', { class: 'hint' }, t('manage.hours.hint')),
        h('div', { class: 'weekly-grid' }, WEEKDAYS.map((day) => {
            days[day] = intervalsField(t(`manage.weekday.${day}`), (hours || {})[day], `${name}-${day}`);
            return days[day];
        })), error);
    element.read = () => {
        const value = {};
        let ok = true;
        for (const day of WEEKDAYS) {
            const parsed = days[day].read();
            if (parsed === null) ok = false;
            else if (parsed.length) value[day] = parsed;
        }
        return ok ? value : null;
    };
    element.setError = (message) => { error.textContent = message || ''; error.hidden = !message; };
    element.days = days;
    return element;
}

/** A short summary of weekly hours: "Mon 09:00–18:00 · Tue …". */
export function weeklySummary(hours) {
    const parts = WEEKDAYS.filter((day) => (hours || {})[day] && hours[day].length)
        .map((day) => `${t(`manage.weekday_short.${day}`)} ${intervalsText(hours[day])}`);
    return parts.length ? parts.join(' · ') : t('manage.hours.closed_all');
}

/** A labelled checkbox (the whole row is the target). */
export function checkboxField(label, checked, name) {
    const id = uid(name || 'check');
    const control = h('input', { id, name, type: 'checkbox', checked: Boolean(checked) });
    const wrapper = h('div', { class: 'field check' }, h('label', { for: id, class: 'check-label' }, control, h('span', null, label)));
    wrapper.control = control;
    wrapper.setError = () => {};
    return wrapper;
}

/** Fraction digits of a currency (KZT 2, GBP 2, BDT 2, JPY 0). */
export function currencyDigits(code) {
    try {
        return new Intl.NumberFormat('en', { style: 'currency', currency: code || currentCurrency() }).resolvedOptions().maximumFractionDigits;
    } catch { return 2; }
}

/** Minor units → the text of an amount input (8000, 25.5). */
export function majorText(amountMinor, code) {
    const digits = currencyDigits(code);
    return String(Number(amountMinor || 0) / 10 ** digits);
}

/** The text of an amount input → minor units, or null when it is not a number. */
export function parseMajor(text, code) {
    const cleaned = String(text || '').replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
    if (!/^\d+(\.\d+)?$/.test(cleaned)) return null;
    return Math.round(Number(cleaned) * 10 ** currencyDigits(code));
}

/** An integer from a number input, or null. */
export function intValue(wrapper) {
    const text = wrapper.control.value.trim();
    if (text === '') return null;
    const value = Number(text);
    return Number.isInteger(value) ? value : NaN;
}

/**
 * Asks before a change that cannot be undone; `action` runs on confirm. The API's answer (for
 * example a device that may not revoke itself) is shown in the dialog, which stays open.
 */
export function confirmDialog(title, text, confirmLabel, action) {
    return openDialog(title, (handle) => {
        const alert = alertBox();
        return h('div', null, h('p', null, text), alert,
            h('div', { class: 'actions' },
                button(t('cancel'), () => handle.close(), { kind: 'secondary' }),
                button(confirmLabel, async () => {
                    try {
                        await action();
                        handle.close();
                    } catch (error) {
                        showProblem(alert, error);
                    }
                }, { kind: 'danger', dataset: { testid: 'confirm' } })));
    });
}

/** A table with a caption (visually hidden when `hideCaption`) and header cells. */
export function table(caption, headers, rows, options = {}) {
    return h('table', { class: ['data', options.class] },
        h('caption', { class: options.hideCaption ? 'visually-hidden' : null }, caption),
        h('thead', null, h('tr', null, headers.map((header) => h('th', { scope: 'col' }, header)))),
        h('tbody', null, rows));
}

/** A section with a heading and optional actions at its right. */
export function section(title, actions, ...content) {
    const id = uid('section');
    return h('section', { class: 'panel', 'aria-labelledby': id },
        h('div', { class: 'panel-head' }, h('h2', { id }, title), actions ? h('div', { class: 'panel-actions' }, actions) : null),
        ...content);
}

/** Moves focus to the first field marked invalid in `form` (so its message is seen and read out). */
export function focusFirstError(form) {
    const invalid = form && form.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
}

/**
 * Puts the box's refusal of a day's hours (`invalid_argument`, "schedule on sun: … overlap") next to
 * that day in the weekly editor whose API name the detail starts with. `editors`: {'opening hours':
 * editor, schedule: editor, breaks: editor}. Returns whether it placed it.
 */
export function placeHoursProblem(error, editors) {
    if (!error || error.kind !== 'invalid_argument') return false;
    const match = /^(.+?) on (mon|tue|wed|thu|fri|sat|sun)\b/.exec(error.detail || '');
    if (!match || !editors[match[1]]) return false;
    const day = editors[match[1]].days[match[2]];
    day.setError(t('manage.hours.refused'));
    day.control.focus();
    return true;
}
