// The frame around every signed-in screen: the branch, the navigation the role may use, the
// person (lock / switch), the language, and the status line with the truth about the network.
import { h, mount } from './dom.js';
import { t, LANGUAGES, currentLanguage, setLanguage, rememberLanguage } from './i18n.js';
import { state, can } from './store.js';
import { statusLine } from './statusline.js';
import { tillBadge } from './till-badge.js';

/** A language switch (ru / kk / en), remembered for this device or for the signed-in person. */
export function languagePicker(onChange) {
    return h('div', { class: 'languages', role: 'group', 'aria-label': t('language') },
        ...LANGUAGES.map((language) => h('button', {
            type: 'button', class: ['btn', 'ghost', 'lang', language.code === currentLanguage() && 'active'], lang: language.code,
            'aria-pressed': String(language.code === currentLanguage()),
            onclick: () => {
                rememberLanguage(language.code, state.me && state.me.person ? state.me.person.id : null);
                setLanguage(language.code);
                onChange();
            },
        }, language.name)));
}

/** The navigation entries, each shown only to roles with its permission (the box still checks). */
export function navigation() {
    const items = [];
    if (can('appointments.read')) items.push(['#/day', t('nav.day'), 'day']);
    if (state.me && state.me.staff) items.push(['#/my', t('nav.my_day'), 'my']);
    if (can('conflicts.read')) items.push(['#/queue', t('nav.queue'), 'queue']);
    if (can('clients.read')) items.push(['#/clients', t('nav.clients'), 'clients']);
    if (can('money.read')) items.push(['#/drawer', t('nav.till'), 'till']);
    if (can('retail.read')) items.push(['#/products', t('nav.products'), 'products']);
    if (can('retail.read')) items.push(['#/stock', t('nav.stock'), 'stock']);
    if (can('messages.read')) items.push(['#/messages', t('nav.messages'), 'messages']);
    // The owner reports: owner and manager (reports.read), when they may report on some branch.
    if (can('reports.read') && ((state.me && state.me.report_branches) || []).length) items.push(['#/dashboard', t('nav.reports'), 'reports']);
    if (can('catalogue.write')) items.push(['#/manage/services', t('nav.catalogue'), 'manage']);
    if (can('devices.manage')) items.push(['#/devices', t('nav.devices'), 'devices']);
    if (can('system.read')) items.push(['#/sync', t('nav.sync'), 'sync']);
    return items;
}

/**
 * Draws the frame and returns the element screens render into.
 * `actions`: {lock(), rerender()}.
 */
export function renderShell(container, current, actions) {
    const person = state.me && state.me.person;
    const main = h('main', { id: 'main', class: 'content', tabindex: '-1' });
    const nav = h('nav', { class: 'nav', 'aria-label': t('nav.label') },
        ...navigation().map(([href, label, key]) => h('a', { href, class: ['nav-link', current === key && 'active'], 'aria-current': current === key ? 'page' : null, dataset: { testid: `nav-${key}` } },
            label, key === 'till' ? tillBadge() : null)));
    mount(container,
        h('a', { href: '#main', class: 'skip-link' }, t('skip_to_content')),
        h('header', { class: 'topbar' },
            h('div', { class: 'brand' }, h('strong', null, state.branch ? state.branch.name : 'edgenode')),
            nav,
            h('div', { class: 'who' },
                h('span', { class: 'person-name', dataset: { testid: 'person-name' } }, person ? person.name : (state.me ? state.me.device.name : '')),
                h('span', { class: 'role' }, state.me ? t(`role.${state.me.role}`) : ''),
                languagePicker(actions.rerender),
                state.me && state.me.role !== 'kiosk' ? h('button', { type: 'button', class: 'btn secondary', onclick: actions.lock, dataset: { testid: 'lock' } }, t('lock.lock')) : null)),
        main,
        statusLine());
    return main;
}
