// The catalogue (#/manage/:section, catalogue.write): tabs services | staff | branch | resources,
// and the tabs of their own permissions: money (money.settings), messaging and templates
// (messaging.settings), calendar feeds (calendar.feeds), coupons and loyalty rules (loyalty.manage)
// and the gift-card balance enquiry (money.read): loyalty.js.
// Each tab is its own module; this one draws the tabs, the resources tab, and keeps the app's
// shared catalogue (state.services, state.staff) fresh after a change.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { state, can, on } from '../store.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText } from '../ui.js';
import { checkboxField, intValue, section } from './manage-common.js';
import { renderServices } from './manage-services.js';
import { renderStaff } from './manage-staff.js';
import { renderBranch } from './manage-branch.js';
import { renderMoneySettings } from './manage-money.js';
import { renderMessagingSettings, renderTemplates } from './manage-messaging.js';
import { renderFeeds } from './manage-feeds.js';
import { renderCoupons, renderLoyaltyRules, renderGiftCards } from './loyalty.js';

const ALL_SECTIONS = ['services', 'staff', 'branch', 'resources', 'money', 'messaging', 'templates', 'feeds', 'coupons', 'loyalty', 'giftcards'];
/** The permission of a tab (the others: catalogue.write). */
const SECTION_PERMISSION = { money: 'money.settings', messaging: 'messaging.settings', templates: 'messaging.settings', feeds: 'calendar.feeds',
    coupons: 'loyalty.manage', loyalty: 'loyalty.manage', giftcards: 'money.read' };
/** The tabs the role may use (money settings: the owner's money.settings). */
const sectionsFor = () => ALL_SECTIONS.filter((key) => can(SECTION_PERMISSION[key] || 'catalogue.write'));

/** Reloads the shared catalogue the other screens read (active services and staff). */
export async function refreshCatalogue() {
    const [services, staff] = await Promise.all([api.get('/v1/services').catch(() => null), api.get('/v1/staff').catch(() => null)]);
    if (services) state.services = services.items || [];
    if (staff) state.staff = staff.items || [];
}

export function renderManage(container, params, query) {
    const SECTIONS = sectionsFor();
    const current = SECTIONS.includes(params.section) ? params.section : 'services';
    const body = h('div', { class: 'tab-body' });
    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('manage.title'))),
        h('nav', { class: 'tabs', 'aria-label': t('manage.tabs') }, SECTIONS.map((key) => h('a', {
            href: `#/manage/${key}`, class: ['tab', key === current && 'active'], 'aria-current': key === current ? 'page' : null, dataset: { testid: `tab-${key}` },
        }, t(`manage.tab.${key}`)))),
        body);
    if (!can(SECTION_PERMISSION[current] || 'catalogue.write')) {
        mount(body, h('p', { class: 'alert', role: 'alert' }, t('problem.forbidden')));
        return null;
    }
    if (current === 'services') return renderServices(body, query);
    if (current === 'staff') return renderStaff(body, query);
    if (current === 'branch') return renderBranch(body, query);
    if (current === 'money') return renderMoneySettings(body);
    if (current === 'messaging') return renderMessagingSettings(body);
    if (current === 'templates') return renderTemplates(body, query);
    if (current === 'feeds') return renderFeeds(body);
    if (current === 'coupons') return renderCoupons(body);
    if (current === 'loyalty') return renderLoyaltyRules(body);
    if (current === 'giftcards') return renderGiftCards(body);
    return renderResources(body);
}

function renderResources(container) {
    let alive = true;
    const list = h('div');
    async function load() {
        let items;
        try {
            items = (await api.get('/v1/resources', { include_inactive: 'true' })).items || [];
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        mount(list, items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('manage.resources.title')),
            h('thead', null, h('tr', null, ['name', 'kind', 'units', 'state', 'actions'].map((key) => h('th', { scope: 'col' }, t(`manage.resources.col.${key}`))))),
            h('tbody', null, items.map((resource) => h('tr', { class: resource.active ? null : 'revoked', dataset: { testid: 'resource', name: resource.name } },
                h('th', { scope: 'row' }, resource.name),
                h('td', null, resource.kind),
                h('td', null, String(resource.units)),
                h('td', null, resource.active ? t('manage.active') : t('manage.inactive')),
                h('td', null, button(t('manage.edit'), () => openResource(resource, load), { ariaLabel: t('manage.edit_named', { name: resource.name }) })))))))
            : emptyState(t('manage.resources.none')));
    }
    mount(container, section(t('manage.resources.title'), button(t('manage.resources.add'), () => openResource(null, load), { kind: 'primary', dataset: { testid: 'add-resource' } }), list));
    load();
    const off = on('event:resource', load);
    return () => { alive = false; off(); };
}

function openResource(resource, onSaved) {
    openDialog(resource ? t('manage.resources.edit_title', { name: resource.name }) : t('manage.resources.add'), (handle) => {
        const alert = alertBox();
        const fields = {
            name: field({ label: t('manage.resources.name'), name: 'name', value: resource ? resource.name : '', required: true, maxlength: 200 }),
            kind: field({ label: t('manage.resources.kind'), name: 'kind', value: resource ? resource.kind : 'room', maxlength: 50, hint: t('manage.resources.kind_hint') }),
            units: field({ label: t('manage.resources.units'), name: 'units', type: 'number', min: 1, max: 10000, value: resource ? resource.units : 1, inputmode: 'numeric' }),
            active: checkboxField(t('manage.active_label'), resource ? resource.active : true, 'active'),
        };
        const save = async (event) => {
            event.preventDefault();
            const name = fields.name.control.value.trim();
            if (!name) { fields.name.setError(t('validation.required')); return; }
            const units = intValue(fields.units);
            if (units !== null && !(units >= 1)) { fields.units.setError(t('manage.whole_number')); return; }
            const body = { name, kind: fields.kind.control.value.trim() || null, units, active: fields.active.control.checked };
            if (resource) body.branch = resource.branch;
            try {
                if (resource) await api.put(`/v1/resources/${resource.id}`, body);
                else await api.post('/v1/resources', body);
                handle.close();
                onSaved();
            } catch (error) {
                showProblem(alert, error, fields);
            }
        };
        return h('form', { novalidate: true, onsubmit: save }, Object.values(fields), alert,
            h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit' })));
    });
}
