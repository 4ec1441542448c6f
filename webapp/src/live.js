// The live event stream (GET /v1/events, Server-Sent Events) with the device's cookie. The
// browser's EventSource resumes with Last-Event-ID by itself after a drop; when the box refused
// the stream (a revoked tablet, an ended session) the app re-checks who it is, which shows the
// pairing or lock screen. Screens subscribe with on('event:<type>') from store.js.
import { emit } from './store.js';
import { request } from './api.js';

const TYPES = ['appointment', 'availability', 'client', 'client_note', 'series', 'waitlist', 'conflict_resolution',
    'branch', 'service', 'staff', 'resource', 'person', 'sale', 'payment', 'drawer', 'message'];

let source = null;
let lastID = null;
let retryTimer = null;
export const liveState = { connected: false, since: new Date() };

function setConnected(value) {
    if (liveState.connected === value) return;
    liveState.connected = value;
    liveState.since = new Date();
    emit('live', liveState);
}

export function startLive() {
    stopLive();
    const url = lastID ? `/v1/events?after=${encodeURIComponent(lastID)}` : '/v1/events';
    source = new EventSource(url);
    source.addEventListener('open', () => setConnected(true));
    for (const type of TYPES) {
        source.addEventListener(type, (event) => {
            lastID = event.lastEventId || lastID;
            let data = null;
            try { data = JSON.parse(event.data); } catch { return; }
            emit(`event:${type}`, data);
            emit('event', data);
        });
    }
    source.addEventListener('reset', (event) => {
        lastID = event.lastEventId || null;
        emit('event:reset', null);
    });
    source.addEventListener('error', () => {
        setConnected(false);
        if (source && source.readyState === EventSource.CLOSED) {
            // Refused (401/403) or the box went away: ask who we are (a 401 leads to pairing or
            // the lock screen), then try again.
            source = null;
            request('GET', '/v1/me').then(() => scheduleRetry(1000), (error) => {
                if (error.kind === 'offline' || error.status >= 500) scheduleRetry(3000);
            });
        }
    });
}

function scheduleRetry(milliseconds) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(startLive, milliseconds);
}

export function stopLive() {
    clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
    setConnected(false);
}
