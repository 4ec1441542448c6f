// What the kiosk and the guest's page share: the offered starts grouped by the branch's local
// date, a strip of days and a grid of free times (buttons, keyboard usable, ≥ 44 px).
import { h } from '../dom.js';
import { t, formatShortDate, formatTime, formatDate } from '../i18n.js';
import { instantOf, today, addDays, zoned } from '../time.js';

/** Offered starts (RFC 3339 strings) by local date of the branch: Map date → [start]. */
export function startsByDate(dates, starts) {
    const map = new Map((dates || []).map((date) => [date, []]));
    for (const start of starts || []) {
        const date = zoned(start).date;
        if (!map.has(date)) map.set(date, []);
        map.get(date).push(start);
    }
    for (const list of map.values()) list.sort((a, b) => new Date(a) - new Date(b));
    return map;
}

/** "Today", "Tomorrow" or "Wed, 9 Dec" for a local date. */
export function dayLabel(date) {
    if (date === today()) return t('kiosk.today');
    if (date === addDays(today(), 1)) return t('kiosk.tomorrow');
    return formatShortDate(instantOf(date, '12:00'));
}

/** The first date that has a free start (or the first date). */
export function firstFreeDate(byDate) {
    for (const [date, list] of byDate) if (list.length) return date;
    return byDate.keys().next().value || null;
}

/**
 * A row of day buttons: each shows the day and how many free times it has; days without any are
 * disabled. `onpick(date)`.
 */
export function dayStrip(byDate, selected, onpick, label) {
    return h('div', { class: 'kiosk-days', role: 'group', 'aria-label': label || t('kiosk.days') },
        ...[...byDate.entries()].map(([date, list]) => h('button', {
            type: 'button',
            class: ['kiosk-day', date === selected && 'chosen'],
            'aria-pressed': String(date === selected),
            disabled: list.length === 0,
            dataset: { date, testid: 'day' },
            onclick: () => onpick(date),
        }, h('span', { class: 'kiosk-day-name' }, dayLabel(date)),
        h('span', { class: 'kiosk-day-count' }, list.length ? t('kiosk.free_count', { count: list.length }) : t('kiosk.day_full')))));
}

/** A grid of the day's free times; `onpick(start)`; `chosen` is marked. */
export function timeGrid(starts, chosen, onpick, label) {
    return h('div', { class: 'kiosk-times', role: 'group', 'aria-label': label },
        ...starts.map((start) => h('button', {
            type: 'button',
            class: ['kiosk-time', start === chosen && 'chosen'],
            'aria-pressed': String(start === chosen),
            dataset: { start, testid: 'time' },
            onclick: () => onpick(start),
        }, formatTime(start))));
}

/** "Wednesday, 9 December 2026, 14:30". */
export function whenText(start) {
    return t('kiosk.when_at', { date: formatDate(start, true), time: formatTime(start) });
}
