// The outbox (#/messages, messages.read): the messages to clients, by default those that did not go
// (failed, skipped, expired) with their reasons, filtered by state (`?filter=`), newest due first
// (GET /v1/messages?state=…, at most 200), optionally of one client or appointment (`?client=`,
// `?appointment=`); each with its text and history, a link to its client
// and appointment, and Resend (POST /v1/messages/{id}/resend, messages.send: a new message due
// now; 409 `not_resendable` for an appointment that is cancelled or past). Re-read on every
// `message` live event (docs/messaging.md).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { can, on } from '../store.js';
import { button, alertBox, showProblem, problemText, emptyState, notify } from '../ui.js';
import { loadClients, whoName } from './day-common.js';
import { openAppointment } from './appointment.js';
import { messageItem, UNSENT } from './messaging-common.js';

/** The filters offered, each a set of states (empty: every state). */
const FILTERS = {
    unsent: UNSENT,
    failed: ['failed'],
    skipped: ['skipped'],
    expired: ['expired'],
    scheduled: ['scheduled', 'sending'],
    sent: ['sent', 'delivered', 'read'],
    all: [],
};

export function renderMessages(container, params, query) {
    let alive = true;
    const filter = FILTERS[query.filter] ? query.filter : 'unsent';
    // One client's or one appointment's messages (kept when the state filter changes).
    const scope = { client: query.client || '', appointment: query.appointment || '' };
    const link = (key) => {
        const search = new URLSearchParams(Object.entries({ filter: key === 'unsent' ? '' : key, ...scope }).filter(([, v]) => v)).toString();
        return `#/messages${search ? `?${search}` : ''}`;
    };
    const list = h('div', { dataset: { testid: 'outbox' } }, h('p', { class: 'muted' }, t('loading')));
    const alert = alertBox();
    const picker = h('div', { class: 'segmented', role: 'group', 'aria-label': t('msg.outbox.filter') },
        Object.keys(FILTERS).map((key) => h('a', {
            href: link(key), class: ['btn', key === filter ? 'primary' : 'secondary'],
            'aria-current': key === filter ? 'true' : null, dataset: { testid: `filter-${key}` },
        }, t(`msg.filter.${key}`))));
    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('msg.outbox.title'))),
        h('p', { class: 'hint' }, t('msg.outbox.intro')),
        picker,
        scope.client || scope.appointment ? h('p', { class: 'hint', dataset: { testid: 'outbox-scope' } },
            t(scope.appointment ? 'msg.outbox.one_appointment' : 'msg.outbox.one_client'), ' ',
            h('a', { href: `#/messages${filter === 'unsent' ? '' : `?filter=${filter}`}` }, t('msg.outbox.show_every'))) : null,
        alert, list);

    let sequence = 0;
    async function load() {
        const mine = ++sequence;
        let items;
        try {
            items = (await api.get('/v1/messages', { state: FILTERS[filter].join(','), ...scope, limit: 200 })).items || [];
            await loadClients(items.filter((m) => m.client));
        } catch (error) {
            if (alive && mine === sequence) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive || mine !== sequence) return;
        mount(list, items.length ? h('ul', { class: 'list message-list' }, items.map((message) => messageItem(message,
            [
                message.client && can('clients.read') ? [' · ', h('a', { href: `#/clients/${message.client}`, dataset: { testid: 'message-client' } }, whoName({ client: message.client }))] : null,
            ],
            [
                message.appointment ? button(t('msg.open_appointment'), () => openAppointment(message.appointment), { dataset: { testid: 'open-appointment' } }) : null,
                can('messages.send') && UNSENT.includes(message.state) ? button(t('msg.resend'), () => resend(message), { kind: 'primary', dataset: { testid: 'resend' } }) : null,
            ].filter(Boolean))))
            : emptyState(t(filter === 'unsent' ? 'msg.outbox.none_unsent' : 'msg.outbox.none')));
    }

    async function resend(message) {
        try {
            await api.post(`/v1/messages/${message.id}/resend`, {});
            showProblem(alert, null);
            notify(t('msg.resent'));
            load();
        } catch (error) {
            showProblem(alert, error);
        }
    }

    let timer = null;
    const off = on('event:message', () => { clearTimeout(timer); timer = setTimeout(load, 150); });
    load();
    return () => { alive = false; clearTimeout(timer); off(); };
}
