// The waitlist panel (GET /v1/waitlist), reachable from the day screen: who waits for what and
// when, the offered time when one was freed, and accept / decline / leave
// (POST /v1/waitlist/{id}/{action}). Live: event:waitlist refreshes it.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { on, can, state } from '../store.js';
import { t, formatDate, formatDateTime } from '../i18n.js';
import { instantOf } from '../time.js';
import { button, alertBox, showProblem, openDialog, notify, emptyState, problemText } from '../ui.js';
import { loadClient, serviceName, staffName } from './day-common.js';

export function openWaitlist() {
    openDialog(t('day.waitlist_title'), ({ dialog }) => {
        const list = h('div', { class: 'waitlist', dataset: { testid: 'waitlist' } }, h('p', { class: 'muted' }, t('loading')));
        const alert = alertBox();

        async function load() {
            try {
                const page = await api.get('/v1/waitlist', state.branch ? { branch: state.branch.id } : {});
                const entries = (page.items || []).filter((e) => e.status === 'waiting' || e.status === 'offered');
                const clients = await Promise.all(entries.map((e) => loadClient(e.client)));
                mount(list, entries.length ? h('ul', { class: 'list' }, ...entries.map((entry, index) => h('li', { class: 'waitlist-entry', dataset: { testid: 'waitlist-entry' } },
                    h('div', { class: 'entry-body' },
                        h('strong', null, clients[index] ? clients[index].name : t('day.client_unknown')), ' — ', serviceName(entry.service),
                        entry.staff ? `, ${staffName(entry.staff)}` : `, ${t('anyone')}`,
                        h('div', { class: 'muted' }, t('day.waitlist_range', { from: formatDate(instantOf(entry.from_date, '12:00')), to: formatDate(instantOf(entry.to_date, '12:00')) })),
                        entry.status === 'offered' && entry.offered_start
                            ? h('div', { class: 'offered' }, t('day.waitlist_offered', { when: formatDateTime(entry.offered_start), staff: staffName(entry.offered_staff) }))
                            : h('div', { class: 'muted' }, t('day.waitlist_waiting'))),
                    can('appointments.manage') ? h('div', { class: 'actions' },
                        entry.status === 'offered' ? button(t('day.waitlist_accept'), () => act(entry, 'accept'), { kind: 'primary' }) : null,
                        entry.status === 'offered' ? button(t('day.waitlist_decline'), () => act(entry, 'decline')) : null,
                        button(t('day.waitlist_leave'), () => act(entry, 'leave'), { dataset: { testid: 'waitlist-leave' } })) : null)))
                    : emptyState(t('day.waitlist_empty')));
            } catch (error) {
                mount(list, h('p', { class: 'alert' }, problemText(error)));
            }
        }
        async function act(entry, action) {
            try {
                await api.post(`/v1/waitlist/${entry.id}/${action}`, {});
                showProblem(alert, null);
                notify(t(`day.waitlist_done_${action}`));
                load();
            } catch (error) {
                showProblem(alert, error);
            }
        }
        const off = on('event:waitlist', () => load());
        dialog.addEventListener('close', off);
        load();
        return h('div', null, alert, list);
    }, { wide: true });
}
