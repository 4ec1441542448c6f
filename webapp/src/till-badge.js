// The Till entry's badge in the navigation: whether this box's drawer is open and how many
// payments wait for verification (GET /v1/drawer, GET /v1/payments/unverified), kept fresh by the
// `payment` and `drawer` live events.
import { h, mount } from './dom.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { on } from './store.js';

const known = { open: null, unverified: 0 };
const badges = new Set();
let loading = null;
let last = 0;

function draw(element) {
    if (known.open === null) { mount(element); return; }
    mount(element,
        h('span', { class: ['till-state', known.open ? 'open' : 'closed'], dataset: { testid: 'till-state' } }, known.open ? t('money.till.open') : t('money.till.closed')),
        known.unverified ? h('span', { class: 'count-badge', dataset: { testid: 'till-unverified' }, title: t('money.till.unverified_count', { count: known.unverified }) },
            h('span', { 'aria-hidden': 'true' }, String(known.unverified)), h('span', { class: 'visually-hidden' }, t('money.till.unverified_count', { count: known.unverified }))) : null);
}

async function refresh(force = true) {
    if (loading) return loading;
    if (!force && Date.now() - last < 3000) return null;
    last = Date.now();
    loading = (async () => {
        const [drawer, unverified] = await Promise.all([api.get('/v1/drawer').catch(() => null), api.get('/v1/payments/unverified').catch(() => null)]);
        if (drawer) known.open = Boolean(drawer.session);
        if (unverified) known.unverified = (unverified.items || []).length;
        for (const element of badges) if (element.isConnected) draw(element); else badges.delete(element);
    })().finally(() => { loading = null; });
    return loading;
}

export function tillBadge() {
    const element = h('span', { class: 'till-badge' });
    badges.add(element);
    draw(element);
    refresh(false);
    return element;
}

on('event:payment', () => refresh());
on('event:drawer', () => refresh());
on('event:sale', () => refresh());
