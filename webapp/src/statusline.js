// The status line: is the box reachable from this tablet, is the live stream up, is the internet
// (the relay) up and since when, when did each other box of the business last sync, and how many
// changesets wait each way (GET /v1/connectivity, refreshed every 10 s and on every change).
import { h, mount } from './dom.js';
import { api, reach } from './api.js';
import { on } from './store.js';
import { liveState } from './live.js';
import { t, formatAgo } from './i18n.js';

let connectivity = null;
let timer = null;
const elements = new Set();

async function refresh() {
    try {
        connectivity = await api.get('/v1/connectivity');
    } catch (error) {
        if (error.kind !== 'offline') connectivity = null;
    }
    draw();
}

function draw() {
    for (const element of elements) {
        if (!element.isConnected) { elements.delete(element); continue; }
        mount(element, ...parts());
    }
}

function parts() {
    const items = [];
    if (!reach.boxReachable) {
        items.push(h('span', { class: 'state bad', dataset: { testid: 'box-unreachable' } }, t('net.box_unreachable', { since: formatAgo(reach.since) })));
    } else {
        items.push(h('span', { class: ['state', liveState.connected ? 'good' : 'warn'] }, liveState.connected ? t('net.live') : t('net.reconnecting')));
    }
    if (connectivity) {
        const relay = connectivity.relay;
        if (relay && relay.configured) {
            const since = relay.since ? formatAgo(relay.since) : '';
            items.push(h('span', { class: ['state', relay.reachable ? 'good' : 'warn'] },
                relay.reachable ? t('net.internet_up', { since }) : t('net.internet_down', { since })));
            if (relay.pending_push || relay.pending_pull) items.push(h('span', { class: 'state' }, t('net.pending', { up: relay.pending_push || 0, down: relay.pending_pull || 0 })));
            if (relay.clock_warning) items.push(h('span', { class: 'state bad' }, relay.clock_warning));
        } else {
            items.push(h('span', { class: 'state' }, t('net.no_relay')));
        }
        for (const peer of connectivity.boxes || []) {
            items.push(h('span', { class: ['state', peer.state === 'current' || peer.state === 'syncing' ? 'good' : 'warn'], dataset: { testid: 'peer' } },
                peer.last_synced_at ? t('net.peer_synced', { name: peer.name, ago: formatAgo(peer.last_synced_at) }) : t('net.peer_never', { name: peer.name })));
        }
    }
    return items;
}

/** The status line element (kept up to date while it is on screen). */
export function statusLine() {
    const element = h('footer', { class: 'statusline', role: 'status', 'aria-live': 'polite', 'aria-label': t('net.label') });
    elements.add(element);
    mount(element, ...parts());
    if (!timer) {
        timer = setInterval(refresh, 10000);
        on('reach', draw);
        on('live', () => { draw(); });
        refresh();
    } else {
        draw();
    }
    return element;
}
