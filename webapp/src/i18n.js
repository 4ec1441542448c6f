// Languages (ru, kk, en), plural forms and the branch's formats. Every text a person reads comes
// from the catalogues in ./locales (one module per area, each with all three languages); the
// catalogue check (webapp/tests/test_locales.py) fails on any key missing in any language and on
// any plural without the forms the language needs (Intl.PluralRules: ru one/few/many/other, kk
// and en one/other).
import { catalogues } from './locales/index.js';
import { emit } from './store.js';

export const LANGUAGES = [
    { code: 'ru', name: 'Русский' },
    { code: 'kk', name: 'Қазақша' },
    { code: 'en', name: 'English' },
];

const merged = { en: {}, ru: {}, kk: {} };
for (const catalogue of catalogues) {
    for (const language of Object.keys(merged)) Object.assign(merged[language], catalogue[language] || {});
}

let language = 'ru';
let region = 'KZ';
let timeZone = 'UTC';
let currency = 'KZT';

/** The device's language, or the signed-in person's on this device. */
export function storedLanguage(personID) {
    try {
        return (personID && localStorage.getItem(`edgenode.lang.${personID}`)) || localStorage.getItem('edgenode.lang') || null;
    } catch { return null; }
}

export function rememberLanguage(code, personID) {
    try {
        localStorage.setItem(personID ? `edgenode.lang.${personID}` : 'edgenode.lang', code);
    } catch { /* private mode: the choice lasts this page */ }
}

export function currentLanguage() { return language; }
export function currentTimeZone() { return timeZone; }
export function currentCurrency() { return currency; }

/** The language the app shows: the stored choice, else the browser's if supported, else Russian. */
export function setLanguage(code) {
    const wanted = code || (navigator.language || 'ru').slice(0, 2);
    language = merged[wanted] ? wanted : 'ru';
    document.documentElement.lang = language;
    emit('language', language);
}

/** The branch's time zone, region and currency, for dates, times and money. */
export function setBranchFormats(branch) {
    if (!branch) return;
    timeZone = branch.time_zone || timeZone;
    region = branch.region || (branch.locale || '').split('-')[1] || region;
    currency = branch.currency || currency;
}

/** The locale used by Intl: the person's language with the branch's region (ru-KZ, en-GB, kk-KZ). */
export function locale() { return `${language}-${region}`; }

/**
 * The text of `key` in the current language, `{name}` placeholders filled from `params`;
 * `params.count` picks the plural form when the entry has forms.
 */
export function t(key, params = {}) {
    let entry = merged[language][key];
    if (entry === undefined) entry = merged.en[key];
    if (entry === undefined) return key;
    if (typeof entry === 'object') {
        const form = new Intl.PluralRules(language).select(Number(params.count ?? 0));
        entry = entry[form] ?? entry.other;
    }
    return entry.replace(/\{(\w+)\}/g, (match, name) => (params[name] === undefined ? match : String(params[name])));
}

/** Whether a key exists (screens use it for optional texts such as problem kinds). */
export function has(key) { return merged.en[key] !== undefined; }

/** The catalogue's name of a multilingual record (`names`: {ru, kk, en}). */
export function localName(names, fallback = '') {
    if (!names) return fallback;
    return names[language] || names.ru || names.en || names.kk || Object.values(names)[0] || fallback;
}

const cache = new Map();
function formatter(kind, options, forLocale = locale()) {
    const key = `${kind}|${forLocale}|${timeZone}|${JSON.stringify(options)}`;
    if (!cache.has(key)) {
        cache.set(key, kind === 'number' ? new Intl.NumberFormat(forLocale, options) : new Intl.DateTimeFormat(forLocale, { timeZone, ...options }));
    }
    return cache.get(key);
}

// Kazakh: some browsers (Debian's Chromium among them) list `kk` as supported but carry no Kazakh
// data, and format dates as "M12 7, Mon" and money as "KZT 8,000". Then the app spells Kazakh
// dates itself and formats numbers as Kazakhstan does (8 000 ₸, like ru-KZ).
const KK_MONTHS = ['қаңтар', 'ақпан', 'наурыз', 'сәуір', 'мамыр', 'маусым', 'шілде', 'тамыз', 'қыркүйек', 'қазан', 'қараша', 'желтоқсан'];
const KK_MONTHS_SHORT = ['қаң.', 'ақп.', 'нау.', 'сәу.', 'мам.', 'мау.', 'шіл.', 'там.', 'қыр.', 'қаз.', 'қар.', 'жел.'];
const KK_WEEKDAYS = { mon: 'дүйсенбі', tue: 'сейсенбі', wed: 'сәрсенбі', thu: 'бейсенбі', fri: 'жұма', sat: 'сенбі', sun: 'жексенбі' };
const KK_WEEKDAYS_SHORT = { mon: 'дс', tue: 'сс', wed: 'ср', thu: 'бс', fri: 'жм', sat: 'сб', sun: 'жс' };
let kazakhData = null;
function kazakhFallback() {
    if (language !== 'kk') return false;
    if (kazakhData === null) {
        try {
            kazakhData = new Intl.DateTimeFormat('kk', { month: 'long', timeZone: 'UTC' }).format(Date.UTC(2026, 0, 15)).includes('қаңтар');
        } catch { kazakhData = false; }
    }
    return !kazakhData;
}
function kazakhParts(value) {
    const parts = {};
    for (const part of formatter('date', { year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }, 'en-GB')
        .formatToParts(new Date(value))) parts[part.type] = part.value;
    return { year: parts.year, month: Number(parts.month) - 1, day: Number(parts.day), weekday: parts.weekday.toLowerCase().slice(0, 3), time: `${parts.hour}:${parts.minute}` };
}

/** 14:30 in the branch's time zone. */
export function formatTime(value) {
    if (kazakhFallback()) return kazakhParts(value).time;
    return formatter('date', { hour: '2-digit', minute: '2-digit', hourCycle: language === 'en' && region === 'US' ? 'h12' : 'h23' }).format(new Date(value));
}

/** 8 December 2026 (with the weekday when `weekday`). */
export function formatDate(value, weekday = false) {
    if (kazakhFallback()) {
        const p = kazakhParts(value);
        return `${weekday ? `${KK_WEEKDAYS[p.weekday]}, ` : ''}${p.year} ж. ${p.day} ${KK_MONTHS[p.month]}`;
    }
    return formatter('date', { day: 'numeric', month: 'long', year: 'numeric', ...(weekday ? { weekday: 'long' } : {}) }).format(new Date(value));
}

/** Mon, 7 Dec. */
export function formatShortDate(value) {
    if (kazakhFallback()) {
        const p = kazakhParts(value);
        return `${KK_WEEKDAYS_SHORT[p.weekday]}, ${p.day} ${KK_MONTHS_SHORT[p.month]}`;
    }
    return formatter('date', { day: 'numeric', month: 'short', weekday: 'short' }).format(new Date(value));
}

/** 7 Dec, 14:30. */
export function formatDateTime(value) {
    if (kazakhFallback()) {
        const p = kazakhParts(value);
        return `${p.day} ${KK_MONTHS_SHORT[p.month]}, ${p.time}`;
    }
    return formatter('date', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(value));
}

/** Money from minor units (`{amount_minor, currency}`), in the branch's locale: 8 000 ₸, £25.50. */
export function formatMoney(money) {
    if (!money) return '';
    const code = money.currency || currency;
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
    const amount = Number(money.amount_minor) / 10 ** digits;
    const whole = Number.isInteger(amount);
    const numberLocale = kazakhFallback() ? `ru-${region}` : locale();
    return formatter('number', { style: 'currency', currency: code, minimumFractionDigits: whole ? 0 : digits, maximumFractionDigits: digits }, numberLocale).format(amount);
}

/** How long ago, in words: "5 minutes ago". */
export function formatAgo(value, now = Date.now()) {
    const seconds = Math.round((new Date(value).getTime() - now) / 1000);
    const abs = Math.abs(seconds);
    const [amount, unit] = abs < 60 ? [seconds, 'second'] : abs < 3600 ? [Math.round(seconds / 60), 'minute']
        : abs < 86400 ? [Math.round(seconds / 3600), 'hour'] : [Math.round(seconds / 86400), 'day'];
    if (kazakhFallback()) {
        if (unit === 'second') return 'жаңа ғана';
        const [past, future] = { minute: ['минут', 'минуттан'], hour: ['сағат', 'сағаттан'], day: ['күн', 'күннен'] }[unit];
        return amount < 0 ? `${-amount} ${past} бұрын` : `${amount} ${future} кейін`;
    }
    return new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' }).format(amount, unit);
}
