// Calendar feeds (#/manage/feeds, calendar.feeds: owner, manager; docs/messaging.md): a
// subscribable .ics feed of a staff member's or the branch's appointments, with their details
// (client's first name and services) or only "busy". Created with POST /v1/calendar-feeds, whose
// answer carries the feed's secret URL once (the box keeps only its SHA-256): shown then with a copy
// button and a QR for a phone, never again. Listed (GET) and revoked with a confirmation (DELETE:
// the URL answers 404 from then on).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime } from '../i18n.js';
import { state } from '../store.js';
import { button, field, alertBox, showProblem, problemText, emptyState, openDialog, notify } from '../ui.js';
import { section, confirmDialog, table } from './manage-common.js';
import { qrSvg } from './kaspi.js';

export function renderFeeds(container) {
    let alive = true;
    let branches = [];
    const list = h('div', null, h('p', { class: 'muted' }, t('loading')));
    const formArea = h('div');
    mount(container, formArea, section(t('msg.feeds.title'), null, h('p', { class: 'hint' }, t('msg.feeds.intro')), list));

    async function load() {
        let items;
        try {
            [items, branches] = await Promise.all([
                api.get('/v1/calendar-feeds').then((r) => r.items || []),
                api.get('/v1/branches').then((r) => r.items || [], () => []),
            ]);
        } catch (error) {
            if (!alive) return;
            if (!formArea.firstChild) drawForm();
            mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        if (!formArea.firstChild) drawForm();
        items.sort((a, b) => Number(a.revoked) - Number(b.revoked) || String(b.created_at).localeCompare(String(a.created_at)));
        mount(list, items.length ? h('div', { class: 'table-wrap' }, table(t('msg.feeds.title'),
            [t('msg.feeds.col.name'), t('msg.feeds.col.scope'), t('msg.feeds.col.content'), t('msg.feeds.col.created'), t('msg.feeds.col.state'), t('msg.col.actions')],
            items.map((feed) => h('tr', { class: feed.revoked ? 'revoked' : null, dataset: { testid: 'feed', id: feed.id, revoked: String(Boolean(feed.revoked)) } },
                h('th', { scope: 'row' }, feed.name || feed.subject),
                h('td', null, t(`msg.feeds.scope.${feed.scope}`)),
                h('td', null, t(`msg.feeds.content.${feed.content}`)),
                h('td', null, formatDateTime(feed.created_at)),
                h('td', { dataset: { testid: 'feed-state' } }, t(feed.revoked ? 'msg.feeds.revoked' : 'msg.feeds.active')),
                h('td', null, feed.revoked ? null : button(t('msg.feeds.revoke'), () => revoke(feed), { kind: 'danger', dataset: { testid: 'revoke-feed' },
                    ariaLabel: t('msg.feeds.revoke_named', { name: feed.name || '' }) })))), { hideCaption: true }))
            : emptyState(t('msg.feeds.none')));
    }

    function drawForm() {
        const alert = alertBox();
        const scope = field({ label: t('msg.feeds.scope_label'), name: 'scope', value: 'staff',
            options: [['staff', t('msg.feeds.scope.staff')], ['branch', t('msg.feeds.scope.branch')]], onchange: () => fillSubjects() });
        scope.control.dataset.testid = 'feed-scope';
        const subject = field({ label: t('msg.feeds.subject_label'), name: 'subject', options: [] });
        subject.control.dataset.testid = 'feed-subject';
        const content = field({ label: t('msg.feeds.content_label'), name: 'content', value: 'details',
            options: [['details', t('msg.feeds.content.details')], ['busy', t('msg.feeds.content.busy')]], hint: t('msg.feeds.content_hint') });
        content.control.dataset.testid = 'feed-content';
        function fillSubjects() {
            const options = scope.control.value === 'branch'
                ? branches.filter((b) => b.active !== false).map((b) => [b.id, b.name])
                : state.staff.filter((s) => s.active !== false).map((s) => [s.id, s.name]);
            mount(subject.control, options.map(([value, text]) => h('option', { value }, text)));
            subject.querySelector('label').textContent = t(scope.control.value === 'branch' ? 'msg.feeds.branch_label' : 'msg.feeds.subject_label');
        }
        fillSubjects();
        const fields = { scope, subject, content };
        async function create(event) {
            event.preventDefault();
            if (!subject.control.value) { subject.setError(t('validation.required')); return; }
            try {
                const feed = await api.post('/v1/calendar-feeds', { scope: scope.control.value, subject: subject.control.value, content: content.control.value });
                showProblem(alert, null, fields);
                showURL(feed);
                load();
            } catch (error) {
                showProblem(alert, error, fields);
            }
        }
        mount(formArea, section(t('msg.feeds.create_title'), null,
            h('form', { novalidate: true, onsubmit: create, dataset: { testid: 'feed-form' } },
                h('div', { class: 'form-row' }, scope, subject, content), alert,
                h('div', { class: 'actions' }, button(t('msg.feeds.create'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'create-feed' } })))));
    }

    function revoke(feed) {
        confirmDialog(t('msg.feeds.revoke_title', { name: feed.name || '' }), t('msg.feeds.revoke_text'), t('msg.feeds.revoke'), async () => {
            await api.delete(`/v1/calendar-feeds/${feed.id}`);
            notify(t('msg.feeds.revoked_done'));
            load();
        });
    }

    load();
    return () => { alive = false; };
}

/** The new feed's URL, shown this once: copy it or scan it with the phone that subscribes. */
function showURL(feed) {
    openDialog(t('msg.feeds.url_title', { name: feed.name || '' }), (handle) => {
        const input = h('input', { id: 'feed-url', type: 'text', readonly: true, value: feed.url, dataset: { testid: 'feed-url' }, onfocus: (event) => event.target.select() });
        const copied = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite' });
        async function copy() {
            let ok = false;
            try {
                await navigator.clipboard.writeText(feed.url);
                ok = true;
            } catch {
                // No clipboard API (a plain-HTTP page on the LAN): select the text and copy it.
                input.focus();
                input.select();
                try { ok = document.execCommand('copy'); } catch { ok = false; }
            }
            copied.textContent = t(ok ? 'msg.feeds.copied' : 'msg.feeds.copy_by_hand');
        }
        const qr = qrSvg(feed.url, t('msg.feeds.qr_label'));
        qr.dataset.testid = 'feed-qr';
        return h('div', { class: 'feed-url', dataset: { testid: 'feed-created' } },
            h('p', { class: 'notice-inline' }, t('msg.feeds.once')),
            h('div', { class: 'field' }, h('label', { for: 'feed-url' }, t('msg.feeds.url')), input),
            h('div', { class: 'actions' }, button(t('msg.feeds.copy'), copy, { kind: 'primary', dataset: { testid: 'copy-feed-url' } })), copied,
            h('div', { class: 'qr-box' }, qr),
            h('p', { class: 'hint' }, t('msg.feeds.how')),
            h('div', { class: 'actions' }, button(t('close'), () => handle.close())));
    }, { wide: true });
}
