// A client's profile (#/clients/:id): contact (edit with PATCH, clients.write), tags, preferences,
// marketing consent, messaging (channels, consents, Telegram: client-messaging.js), visit history
// with lifetime spend, no-shows and late cancellations
// (GET /v1/clients/{id}/history), notes (GET, and append with POST, clients.notes), merge into
// another record (clients.merge). Refreshes live on `client` and `client_note` events.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatMoney, formatDateTime, formatDate, localName } from '../i18n.js';
import { can, on, serviceById, staffById } from '../store.js';
import { go } from '../router.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, statusBadge, problemText } from '../ui.js';
import { clientForm, showClientProblem, openMerge } from './clients.js';
import { section } from './manage-common.js';
import { clientMessaging } from './client-messaging.js';
import { clientLoyalty } from './loyalty.js';

export function renderClient(container, params) {
    const id = params.id;
    let client = null;
    let alive = true;
    const title = h('h1', { dataset: { testid: 'client-name' } }, t('loading'));
    const head = h('div');
    const contact = h('div');
    const stats = h('div');
    const notesList = h('ul', { class: 'notes', 'aria-label': t('clients.notes.list'), dataset: { testid: 'notes' } });
    const visits = h('div');
    const alert = alertBox();
    const messaging = can('messages.read') ? clientMessaging(id) : null;
    const loyalty = can('money.read') && can('retail.read') ? clientLoyalty(id) : null;

    async function loadClient() {
        try {
            client = await api.get(`/v1/clients/${id}`);
        } catch (error) {
            if (alive) mount(container, h('p', null, h('a', { href: '#/clients' }, t('clients.back'))), h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return false;
        }
        if (!alive) return false;
        if (client.merged_into) {
            mount(head, h('p', { class: 'alert', role: 'alert' }, t('clients.merged_into'), ' ', h('a', { href: `#/clients/${client.merged_into}` }, t('clients.open_survivor'))));
        }
        drawContact();
        return true;
    }

    function drawContact() {
        title.textContent = client.name;
        mount(contact, section(t('clients.contact'), h('div', { class: 'actions tight' },
            can('clients.write') && !client.merged_into ? button(t('clients.edit'), openEdit, { dataset: { testid: 'edit-client' } }) : null,
            can('clients.merge') && !client.merged_into ? button(t('clients.merge.button'), openMergeSearch, { dataset: { testid: 'merge' } }) : null),
        h('dl', { class: 'facts' },
            h('dt', null, t('clients.field.phone')), h('dd', { dataset: { testid: 'client-phone' } }, client.phone || '—'),
            h('dt', null, t('clients.field.email')), h('dd', null, client.email || '—'),
            h('dt', null, t('clients.field.tags')), h('dd', null, client.tags.length ? h('span', { class: 'tags' }, client.tags.map((tag) => h('span', { class: 'tag' }, tag))) : '—'),
            h('dt', null, t('clients.field.preferences')), h('dd', { class: 'pre' }, client.preferences || '—'),
            h('dt', null, t('clients.field.marketing_consent')), h('dd', null, client.marketing_consent ? t('clients.yes') : t('clients.no')),
            h('dt', null, t('clients.since')), h('dd', null, formatDate(client.created_at)))));
    }

    async function loadHistory() {
        let history;
        try {
            history = await api.get(`/v1/clients/${id}/history`);
        } catch (error) {
            if (alive) mount(visits, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        const spend = (history.lifetime_spend || []).map(formatMoney).join(' + ') || formatMoney({ amount_minor: 0 });
        mount(stats, h('ul', { class: 'stats', 'aria-label': t('clients.stats') },
            // What was actually paid (net of refunds) when the box says so (lifetime_paid), else the prices of completed visits.
            history.lifetime_paid ? h('li', null, h('strong', { dataset: { testid: 'lifetime-spend' } }, (history.lifetime_paid.length ? history.lifetime_paid : [{ amount_minor: 0 }]).map(formatMoney).join(' + ')), h('span', null, t('clients.lifetime_paid')))
                : h('li', null, h('strong', { dataset: { testid: 'lifetime-spend' } }, spend), h('span', null, t('clients.lifetime_spend'))),
            h('li', null, h('strong', null, String(history.completed_visits)), h('span', null, t('clients.completed_visits', { count: history.completed_visits }))),
            h('li', { class: history.no_shows ? 'warn' : null }, h('strong', null, String(history.no_shows)), h('span', null, t('clients.no_shows', { count: history.no_shows }))),
            h('li', { class: history.late_cancellations ? 'warn' : null }, h('strong', null, String(history.late_cancellations)), h('span', null, t('clients.late_cancellations', { count: history.late_cancellations })))));
        // visits_paid: per appointment, the sale it is in and what was paid on it.
        const showPaid = Array.isArray(history.visits_paid);
        const paidBy = new Map();
        for (const paid of history.visits_paid || []) {
            const known = paidBy.get(paid.appointment);
            paidBy.set(paid.appointment, known ? { ...known, paid_minor: known.paid_minor + paid.paid_minor } : { ...paid });
        }
        const rows = (history.visits || []).map((visit) => h('tr', null,
            h('td', null, formatDateTime(visit.start)),
            h('td', null, visit.items.map((item) => {
                const service = serviceById(item.service);
                const staff = staffById(item.staff);
                return h('div', null, service ? localName(service.names) : t('clients.unknown_service'), staff ? h('span', { class: 'muted' }, ` · ${staff.name}`) : null);
            })),
            h('td', null, statusBadge(visit.status), visit.late_cancellation ? h('span', { class: 'badge late' }, t('clients.late')) : null),
            h('td', { class: 'num' }, formatMoney(visit.price)),
            showPaid ? h('td', { class: 'num', dataset: { testid: 'visit-paid' } }, paidBy.has(visit.id)
                ? (can('money.read') ? h('a', { href: `#/sales/${paidBy.get(visit.id).sale}` }, formatMoney({ amount_minor: paidBy.get(visit.id).paid_minor, currency: paidBy.get(visit.id).currency }))
                    : formatMoney({ amount_minor: paidBy.get(visit.id).paid_minor, currency: paidBy.get(visit.id).currency })) : '—') : null));
        mount(visits, section(t('clients.visits', { count: (history.visits || []).length }), null,
            rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
                h('caption', { class: 'visually-hidden' }, t('clients.visits_caption')),
                h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('clients.col.when')), h('th', { scope: 'col' }, t('clients.col.services')),
                    h('th', { scope: 'col' }, t('clients.col.status')), h('th', { scope: 'col', class: 'num' }, t('clients.col.price')),
                    showPaid ? h('th', { scope: 'col', class: 'num' }, t('clients.col.paid')) : null)),
                h('tbody', null, rows))) : emptyState(t('clients.no_visits'))));
    }

    async function loadNotes() {
        let notes;
        try {
            notes = (await api.get(`/v1/clients/${id}/notes`)).items || [];
        } catch (error) {
            if (alive) mount(notesList, h('li', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        notes.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : (a.id < b.id ? 1 : -1)));
        mount(notesList, notes.length ? notes.map((note) => h('li', { class: 'note', dataset: { testid: 'note' } },
            h('p', { class: 'pre' }, note.body),
            h('p', { class: 'muted small' }, `${note.author || '—'} · ${formatDateTime(note.created_at)}`))) : h('li', { class: 'empty' }, t('clients.notes.none')));
    }

    const noteField = field({ label: t('clients.notes.new'), name: 'body', type: 'textarea', rows: 3, maxlength: 10000 });
    noteField.control.dataset.testid = 'note-body';
    const noteAlert = alertBox();
    async function addNote(event) {
        event.preventDefault();
        const body = noteField.control.value;
        if (!body.trim()) { noteField.setError(t('validation.required')); noteField.control.focus(); return; }
        noteField.setError('');
        try {
            await api.post(`/v1/clients/${id}/notes`, { body });
            noteField.control.value = '';
            showProblem(noteAlert, null);
            loadNotes();
        } catch (error) {
            showProblem(noteAlert, error, { body: noteField });
        }
    }

    function openEdit() {
        openDialog(t('clients.edit_title', { name: client.name }), (handle) => {
            const { fields, read } = clientForm(client);
            const formAlert = alertBox();
            const save = async (event) => {
                event.preventDefault();
                const body = read();
                if (!body.name) { fields.name.setError(t('validation.required')); fields.name.control.focus(); return; }
                // Only what changed: PATCH changes the fields sent.
                const patch = {};
                for (const [key, value] of Object.entries(body)) {
                    if (JSON.stringify(value) !== JSON.stringify(client[key])) patch[key] = value;
                }
                if (!Object.keys(patch).length) { handle.close(); return; }
                try {
                    client = await api.patch(`/v1/clients/${id}`, patch);
                    handle.close();
                    drawContact();
                } catch (error) {
                    showClientProblem(formAlert, error, fields);
                }
            };
            return h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'client-form' } }, Object.values(fields), formAlert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit' })));
        });
    }

    function openMergeSearch() {
        openDialog(t('clients.merge.find_title', { name: client.name }), (handle) => {
            const input = h('input', { id: 'merge-search', type: 'search', autocomplete: 'off', maxlength: 200 });
            const list = h('ul', { class: 'list' });
            let sequence = 0;
            let timer = null;
            input.addEventListener('input', () => {
                clearTimeout(timer);
                timer = setTimeout(async () => {
                    const mine = ++sequence;
                    const q = input.value.trim();
                    if (!q) { mount(list); return; }
                    const page = await api.get('/v1/clients', { q, limit: 20 }).catch(() => ({ items: [] }));
                    if (mine !== sequence) return;
                    mount(list, (page.items || []).filter((c) => c.id !== id).map((other) => h('li', null,
                        h('button', { type: 'button', class: 'row', onclick: () => { handle.close(); openMerge([client, other], (into) => go(`/clients/${into}`)); } },
                            other.name, ' ', h('span', { class: 'muted' }, other.phone || other.email || '')))));
                }, 250);
            });
            return h('div', null, h('p', { class: 'hint' }, t('clients.merge.find_hint')),
                h('div', { class: 'field' }, h('label', { for: 'merge-search' }, t('clients.search_label')), input), list);
        });
    }

    mount(container,
        h('p', null, h('a', { href: '#/clients', class: 'back-link' }, `← ${t('clients.back')}`)),
        title, head, alert,
        h('div', { class: 'profile-grid' },
            h('div', null, contact, stats, loyalty && loyalty.element, messaging && messaging.element,
                section(t('clients.notes.title'), null,
                    can('clients.notes') ? h('form', { novalidate: true, onsubmit: addNote, class: 'note-form' }, noteField, noteAlert,
                        button(t('clients.notes.add'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'add-note' } })) : null,
                    notesList)),
            visits));
    loadClient().then((ok) => { if (ok) { loadHistory(); loadNotes(); } });

    let noteTimer = null;
    const offs = [
        on('event:client', (event) => { if (event && event.id === id) loadClient(); }),
        on('event:client_note', () => { clearTimeout(noteTimer); noteTimer = setTimeout(loadNotes, 100); }),
        on('event:appointment', (event) => { if (event && event.appointment && event.appointment.client === id) loadHistory(); }),
    ];
    return () => { alive = false; clearTimeout(noteTimer); offs.forEach((off) => off()); if (messaging) messaging.stop(); if (loyalty) loyalty.stop(); };
}
