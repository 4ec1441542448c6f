// Dates and times in the branch's time zone, whatever the tablet's own zone is.
import { currentTimeZone } from './i18n.js';

const partsFormatters = new Map();
function partsFormatter(zone) {
    if (!partsFormatters.has(zone)) {
        partsFormatters.set(zone, new Intl.DateTimeFormat('en-GB', {
            timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
            second: '2-digit', hourCycle: 'h23', weekday: 'short',
        }));
    }
    return partsFormatters.get(zone);
}

/** The wall-clock fields of an instant in the branch's zone. */
export function zoned(value, zone = currentTimeZone()) {
    const parts = {};
    for (const part of partsFormatter(zone).formatToParts(new Date(value))) parts[part.type] = part.value;
    return {
        year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
        hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second),
        weekday: parts.weekday.toLowerCase().slice(0, 3),
        date: `${parts.year}-${parts.month}-${parts.day}`,
    };
}

/** The zone's offset from UTC at an instant, in minutes. */
export function offsetMinutes(value, zone = currentTimeZone()) {
    const z = zoned(value, zone);
    const asUTC = Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second);
    return Math.round((asUTC - Math.floor(new Date(value).getTime() / 1000) * 1000) / 60000);
}

/** The instant of a wall-clock time on a date in the zone (`2026-12-08`, `14:30`). */
export function instantOf(date, time = '00:00', zone = currentTimeZone()) {
    const [y, m, d] = date.split('-').map(Number);
    const [hh, mm] = time.split(':').map(Number);
    const guess = Date.UTC(y, m - 1, d, hh, mm);
    let instant = guess - offsetMinutes(guess, zone) * 60000;
    instant = guess - offsetMinutes(instant, zone) * 60000;
    return new Date(instant);
}

/** RFC 3339 with the zone's offset, as the API wants (`2026-12-08T14:30:00+05:00`). */
export function rfc3339(value, zone = currentTimeZone()) {
    const z = zoned(value, zone);
    const offset = offsetMinutes(value, zone);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset);
    const pad = (n) => String(n).padStart(2, '0');
    return `${z.date}T${pad(z.hour)}:${pad(z.minute)}:${pad(z.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Today's date in the zone. */
export function today(zone = currentTimeZone()) { return zoned(Date.now(), zone).date; }

/** A date plus `days` (calendar days). */
export function addDays(date, days) {
    const [y, m, d] = date.split('-').map(Number);
    const moved = new Date(Date.UTC(y, m - 1, d + days));
    return moved.toISOString().slice(0, 10);
}

/** Monday of the date's week. */
export function weekStart(date) {
    const [y, m, d] = date.split('-').map(Number);
    const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
    return addDays(date, -weekday);
}

/** The weekday key the API's weekly hours use (`mon` … `sun`). */
export function weekdayKey(date) {
    const [y, m, d] = date.split('-').map(Number);
    return ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
}

/** Minutes since the zone's midnight of the instant. */
export function minutesOfDay(value, zone = currentTimeZone()) {
    const z = zoned(value, zone);
    return z.hour * 60 + z.minute;
}

/** `HH:MM` → minutes. */
export function parseClock(text) {
    const [h, m] = text.split(':').map(Number);
    return h * 60 + m;
}
