// Boxes and sync (#/sync, system.read): this box's identity and replication counts, each other
// box of the business (GET /v1/status: peers), the relay uplink with its bootstrap progress,
// refreshed every few seconds; and the audit trail (GET /v1/audit, newest first).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime, formatAgo } from '../i18n.js';
import { on, can } from '../store.js';
import { emptyState, problemText } from '../ui.js';
import { section } from './manage-common.js';

function when(value) {
    return value ? h('span', { title: formatDateTime(value) }, formatAgo(value)) : t('manage.sync.never');
}

function count(value) { return value === null || value === undefined ? '—' : String(value); }

function fact(label, value, testid) {
    return [h('dt', null, label), h('dd', { dataset: testid ? { testid } : null }, value)];
}

const GOOD = new Set(['current', 'syncing', 'connected', 'announced', 'browsing']);

function stateBadge(value) {
    const key = `manage.sync.state.${value}`;
    const text = t(key);
    return h('span', { class: ['badge', 'sync-state', GOOD.has(value) ? 'good' : 'warn'] }, text === key ? value : text);
}

export function renderSync(container) {
    if (!can('system.read')) {
        mount(container, h('h1', null, t('manage.sync.title')), h('p', { class: 'alert', role: 'alert' }, t('problem.forbidden')));
        return null;
    }
    let alive = true;
    const identity = h('div');
    const peers = h('div');
    const uplink = h('div');
    const audit = h('div');
    let timer = null;
    let auditTimer = null;

    async function loadStatus() {
        let status;
        try {
            status = await api.get('/v1/status');
        } catch (error) {
            if (alive) mount(identity, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        mount(identity, h('dl', { class: 'facts', dataset: { testid: 'identity' } },
            fact(t('manage.sync.branch'), status.branch || '—'),
            fact(t('manage.sync.site'), h('code', null, status.site || '—')),
            fact(t('manage.sync.business'), h('code', null, status.business || '—')),
            fact(t('manage.sync.started'), status.started_at ? formatDateTime(status.started_at) : '—'),
            fact(t('manage.sync.changesets'), t('manage.sync.changesets_value', {
                own: count(status.own_changesets), logged: count(status.logged_changesets), waiting: count(status.waiting_changesets),
                rejected: count(status.rejected_changesets),
            })),
            fact(t('manage.sync.last_sync'), when(status.last_sync)),
            fact(t('manage.sync.discovery'), status.discovery ? h('span', null, stateBadge(status.discovery.state), ' ', status.discovery.detail || '') : t('manage.sync.discovery_off'))),
        (status.health || []).length ? h('ul', { class: 'warnings', 'aria-label': t('manage.sync.health') },
            status.health.map((item) => h('li', { class: 'alert' }, item.message))) : null);

        const list = status.peers || [];
        mount(peers, list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('manage.sync.peers')),
            h('thead', null, h('tr', null, ['name', 'state', 'last_seen', 'last_sync', 'pending', 'error'].map((key) => h('th', { scope: 'col' }, t(`manage.sync.col.${key}`))))),
            h('tbody', null, list.map((peer) => h('tr', { dataset: { testid: 'peer-row' } },
                h('th', { scope: 'row' }, peer.name, h('br'), h('span', { class: 'muted small' }, [peer.address, peer.branch, t(`manage.sync.source.${peer.source}`)].filter(Boolean).join(' · '))),
                h('td', null, stateBadge(peer.state)),
                h('td', null, when(peer.last_seen)),
                h('td', null, when(peer.last_sync)),
                h('td', null, t('manage.sync.pending_each', { out: count(peer.pending_to_peer), in: count(peer.pending_from_peer) })),
                h('td', { class: peer.last_error ? 'error-text' : null }, peer.last_error || '—')))))) : emptyState(t('manage.sync.no_peers')));

        const up = status.uplink;
        if (!up) {
            mount(uplink, emptyState(t('manage.sync.no_relay')));
        } else {
            const boot = up.bootstrap;
            mount(uplink, h('dl', { class: 'facts', dataset: { testid: 'uplink' } },
                fact(t('manage.sync.relay'), h('code', null, up.url)),
                fact(t('manage.sync.reachable'), h('span', null, stateBadge(up.state), ' ', up.connected ? t('manage.sync.reachable_yes') : t('manage.sync.reachable_no'))),
                fact(t('manage.sync.last_push'), when(up.last_push)),
                fact(t('manage.sync.last_pull'), when(up.last_pull)),
                fact(t('manage.sync.pending'), t('manage.sync.pending_each', { out: count(up.pending_push), in: count(up.pending_pull) })),
                up.last_error ? fact(t('manage.sync.last_error'), h('span', { class: 'error-text' }, up.last_error)) : null,
                up.clock_warning ? fact(t('manage.sync.clock'), h('span', { class: 'error-text' }, up.clock_warning)) : null,
                boot ? fact(t('manage.sync.bootstrap'), bootstrap(boot)) : null));
        }
    }

    function bootstrap(boot) {
        const done = boot.phase === 'done';
        const total = boot.snapshot_total_bytes;
        const parts = [h('span', null, t(`manage.sync.phase.${boot.phase}`))];
        if (total) {
            parts.push(h('label', { class: 'progress-label' }, t('manage.sync.snapshot'),
                h('progress', { max: String(total), value: String(boot.snapshot_bytes) }),
                `${Math.round((boot.snapshot_bytes / total) * 100)} %`));
        }
        if (boot.changesets_total) {
            parts.push(h('label', { class: 'progress-label' }, t('manage.sync.changesets_progress', { done: boot.changesets, total: boot.changesets_total }),
                h('progress', { max: String(boot.changesets_total), value: String(boot.changesets) })));
        }
        parts.push(h('span', { class: 'muted small' }, done && boot.finished_at ? t('manage.sync.finished', { time: formatDateTime(boot.finished_at) })
            : t('manage.sync.since', { time: formatDateTime(boot.started_at) })));
        return h('div', { class: 'bootstrap' }, parts);
    }

    async function loadAudit() {
        let items;
        try {
            items = (await api.get('/v1/audit', { limit: 100 })).items || [];
        } catch (error) {
            if (alive) mount(audit, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        mount(audit, items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data audit', dataset: { testid: 'audit' } },
            h('caption', { class: 'visually-hidden' }, t('manage.sync.audit')),
            h('thead', null, h('tr', null, ['when', 'operation', 'who', 'role'].map((key) => h('th', { scope: 'col' }, t(`manage.sync.audit_col.${key}`))))),
            h('tbody', null, items.map((event) => h('tr', null,
                h('td', null, formatDateTime(event.at)),
                h('td', null, operationText(event.operation), h('br'), h('code', { class: 'muted small' }, event.operation)),
                h('td', null, event.person_name || event.device_name || t('manage.sync.guest'),
                    event.person_name && event.device_name ? h('span', { class: 'muted small' }, ` · ${event.device_name}`) : null),
                h('td', null, event.role ? t(`role.${event.role}`) : '—')))))) : emptyState(t('manage.sync.no_audit')));
    }

    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('manage.sync.title'))),
        section(t('manage.sync.this_box'), null, identity),
        section(t('manage.sync.peers'), null, peers),
        section(t('manage.sync.uplink'), null, uplink),
        section(t('manage.sync.audit'), null, h('p', { class: 'hint' }, t('manage.sync.audit_intro')), audit));
    mount(identity, h('p', { class: 'muted' }, t('loading')));
    loadStatus();
    loadAudit();
    const tick = () => { timer = setTimeout(async () => { await loadStatus(); if (alive) tick(); }, 4000); };
    tick();
    const offEvent = on('event', () => { clearTimeout(auditTimer); auditTimer = setTimeout(loadAudit, 500); });
    return () => { alive = false; clearTimeout(timer); clearTimeout(auditTimer); offEvent(); };
}

/** A person's words for an audit operation (`appointment.create` → "Booked"); unknown ones stay as they are. */
function operationText(operation) {
    const key = `manage.audit_op.${operation}`;
    const text = t(key);
    return text === key ? operation : text;
}
