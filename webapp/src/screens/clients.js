// Clients: search as you type (GET /v1/clients?q=…, Cyrillic and Latin, phone fragments), a new
// client (POST /v1/clients, clients.write), and for roles that may merge (clients.merge) the
// duplicate suggestions (GET /v1/clients/duplicates) with their merge. The profile is in
// clients-profile.js.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { state, can, on } from '../store.js';
import { go } from '../router.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText } from '../ui.js';
import { checkboxField, section } from './manage-common.js';
export { renderClient } from './clients-profile.js';

/** Splits "vip, новый клиент" into tags. */
export function parseTags(text) {
    return (text || '').split(',').map((tag) => tag.trim()).filter(Boolean);
}

/** Client form fields (new or edit); `fields` keyed by the API's field names. */
export function clientForm(client = {}) {
    const fields = {
        name: field({ label: t('clients.field.name'), name: 'name', value: client.name || '', required: true, maxlength: 200, autocomplete: 'off' }),
        phone: field({ label: t('clients.field.phone'), name: 'phone', type: 'tel', value: client.phone || '', maxlength: 40, inputmode: 'tel', hint: t('clients.field.phone_hint') }),
        email: field({ label: t('clients.field.email'), name: 'email', type: 'email', value: client.email || '', maxlength: 254 }),
        tags: field({ label: t('clients.field.tags'), name: 'tags', value: (client.tags || []).join(', '), hint: t('clients.field.tags_hint') }),
        preferences: field({ label: t('clients.field.preferences'), name: 'preferences', type: 'textarea', value: client.preferences || '', maxlength: 2000 }),
        marketing_consent: checkboxField(t('clients.field.marketing_consent'), client.marketing_consent, 'marketing_consent'),
    };
    const read = () => ({
        name: fields.name.control.value.trim(),
        phone: fields.phone.control.value.trim(),
        email: fields.email.control.value.trim(),
        tags: parseTags(fields.tags.control.value),
        preferences: fields.preferences.control.value,
        marketing_consent: fields.marketing_consent.control.checked,
    });
    return { fields, read };
}

/** Shows an API problem on a client form; phone problems (no `errors` list) go next to the phone. */
export function showClientProblem(alert, error, fields) {
    showProblem(alert, error, fields);
    if (error && (error.kind === 'invalid_phone' || error.kind === 'duplicate_phone')) {
        fields.phone.setError(error.kind === 'duplicate_phone' ? `${problemText(error)} ${error.detail || ''}`.trim() : problemText(error));
        fields.phone.control.focus();
    }
}

export function openNewClient(initialName = '') {
    openDialog(t('clients.new'), (handle) => {
        const { fields, read } = clientForm({ name: initialName });
        const alert = alertBox();
        const save = async (event) => {
            event.preventDefault();
            const body = read();
            if (!body.name) { fields.name.setError(t('validation.required')); fields.name.control.focus(); return; }
            fields.name.setError('');
            try {
                const created = await api.post('/v1/clients', body);
                handle.close();
                go(`/clients/${created.id}`);
            } catch (error) {
                showClientProblem(alert, error, fields);
            }
        };
        return h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'client-form' } }, Object.values(fields), alert,
            h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit' })));
    });
}

function clientRow(client) {
    return h('li', null, h('a', { href: `#/clients/${client.id}`, class: 'client-row', dataset: { testid: 'client-row' } },
        h('span', { class: 'client-name' }, client.name),
        h('span', { class: 'client-phone muted' }, client.phone || client.email || ''),
        (client.tags || []).length ? h('span', { class: 'tags' }, client.tags.map((tag) => h('span', { class: 'tag' }, tag))) : null));
}

// The last search, kept in memory (not in the URL: names and phones stay out of the browser's
// history) so that coming back from a profile shows the same results.
let lastQuery = { who: null, q: '' };
function who() { return state.me && state.me.person ? state.me.person.id : null; }

export function renderClients(container, params, query) {
    let sequence = 0;
    let timer = null;
    let nextCursor = null;
    let items = [];
    const alert = alertBox();
    const results = h('ul', { class: 'list client-list', 'aria-label': t('clients.results') });
    const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
    const more = h('div', { class: 'actions' });
    const search = h('input', {
        id: 'client-search', type: 'search', value: query.q || (lastQuery.who === who() ? lastQuery.q : ''), autocomplete: 'off', maxlength: 200,
        placeholder: t('clients.search_placeholder'), dataset: { testid: 'client-search' },
    });

    function draw() {
        mount(results, ...items.map(clientRow));
        const q = search.value.trim();
        count.textContent = items.length === 0 ? (q ? t('clients.nothing_found', { q }) : t('clients.none'))
            : q ? t('clients.found', { count: items.length }) : '';
        mount(more, nextCursor ? button(t('clients.more'), () => load(true)) : null,
            q && can('clients.write') ? button(t('clients.new_named', { name: q }), () => openNewClient(q), { kind: 'ghost' }) : null);
    }

    async function load(append = false) {
        const mine = ++sequence;
        const q = search.value.trim();
        try {
            const page = await api.get('/v1/clients', { q, limit: 50, cursor: append ? nextCursor : null });
            if (mine !== sequence) return;
            items = append ? [...items, ...(page.items || [])] : (page.items || []);
            nextCursor = page.next_cursor || null;
            showProblem(alert, null);
            draw();
        } catch (error) {
            if (mine === sequence) showProblem(alert, error);
        }
    }

    search.addEventListener('input', () => {
        lastQuery = { who: who(), q: search.value };
        clearTimeout(timer);
        timer = setTimeout(() => load(), 250);
    });

    const duplicates = h('div');
    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('clients.title')),
            can('clients.write') ? button(t('clients.new'), () => openNewClient(search.value.trim()), { kind: 'primary', dataset: { testid: 'new-client' } }) : null),
        h('form', { novalidate: true, class: 'search-form', role: 'search', onsubmit: (event) => { event.preventDefault(); clearTimeout(timer); load(); } },
            h('label', { for: 'client-search', class: 'search-label' }, t('clients.search_label')), search),
        alert, count, results, more, duplicates);
    load();
    search.focus();

    const cleanups = [];
    if (can('clients.merge')) {
        const drawDuplicates = () => loadDuplicates(duplicates);
        drawDuplicates();
        cleanups.push(on('event:client', drawDuplicates));
    }
    cleanups.push(on('event:client', () => { clearTimeout(timer); timer = setTimeout(() => load(), 300); }));
    return () => { clearTimeout(timer); sequence += 1; cleanups.forEach((off) => off()); };
}

/** The duplicate suggestions: groups of clients sharing a phone, each with a merge. */
async function loadDuplicates(container) {
    let groups = [];
    try {
        groups = (await api.get('/v1/clients/duplicates')).items || [];
    } catch (error) {
        mount(container, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
        return;
    }
    if (!groups.length) {
        mount(container, section(t('clients.duplicates.title'), null, emptyState(t('clients.duplicates.none'))));
        return;
    }
    const resolved = await Promise.all(groups.map(async (group) => ({
        phone: group.phone,
        clients: (await Promise.all(group.clients.map((id) => api.get(`/v1/clients/${id}`).catch(() => null)))).filter(Boolean),
    })));
    mount(container, section(t('clients.duplicates.title'), null,
        h('p', { class: 'hint' }, t('clients.duplicates.intro')),
        h('ul', { class: 'list' }, resolved.map((group) => h('li', { class: 'dup-group', dataset: { testid: 'duplicate' } },
            h('p', null, h('strong', null, group.phone), ' — ', t('clients.duplicates.count', { count: group.clients.length })),
            h('ul', { class: 'plain' }, group.clients.map((client) => h('li', null, h('a', { href: `#/clients/${client.id}` }, client.name)))),
            button(t('clients.merge.button'), () => openMerge(group.clients), { dataset: { testid: 'merge' } }))))));
}

/** Merge dialog: choose the record that survives; the others merge into it. */
export function openMerge(clients, onDone) {
    openDialog(t('clients.merge.title'), (handle) => {
        const alert = alertBox();
        const name = `survivor-${Date.now()}`;
        const radios = clients.map((client, index) => {
            const input = h('input', { type: 'radio', name, value: client.id, id: `${name}-${index}`, checked: index === 0 });
            return h('div', { class: 'field check' }, h('label', { for: `${name}-${index}`, class: 'check-label' }, input,
                h('span', null, client.name, ' ', h('span', { class: 'muted' }, client.phone || client.email || ''))));
        });
        const merge = async () => {
            const chosen = radios.map((r) => r.querySelector('input')).find((input) => input.checked);
            const into = chosen ? chosen.value : clients[0].id;
            try {
                for (const client of clients) {
                    if (client.id !== into) await api.post(`/v1/clients/${client.id}/merge`, { into });
                }
                handle.close();
                if (onDone) onDone(into); else go(`/clients/${into}`);
            } catch (error) {
                showProblem(alert, error);
            }
        };
        return h('div', null,
            h('fieldset', { class: 'plain-fieldset' }, h('legend', null, t('clients.merge.keep')), radios),
            h('p', { class: 'hint' }, t('clients.merge.explain')), alert,
            h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()),
                button(t('clients.merge.confirm'), merge, { kind: 'danger', dataset: { testid: 'confirm-merge' } })));
    });
}
