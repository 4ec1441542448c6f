// The front-desk web app (docs/webapp.md): starts here. Who is this tablet (GET /v1/me)? Not
// paired → pairing; a kiosk → the self-booking flow; a shared tablet with nobody signed in → the
// lock screen; otherwise the shell and the screen of the URL's hash.
import { mount, h } from './dom.js';
import { api } from './api.js';
import { state, on, can } from './store.js';
import { t, setLanguage, setBranchFormats, storedLanguage } from './i18n.js';
import { route, match, currentPath, go } from './router.js';
import { startLive, stopLive } from './live.js';
import { renderShell } from './shell.js';
import { renderPairing } from './screens/pairing.js';
import { renderLock } from './screens/lock.js';
import { routes } from './screens/index.js';
import { renderKiosk } from './screens/kiosk.js';
import { renderGuest } from './screens/guest.js';
import { renderPublicReceipt } from './screens/receipt.js';
import { button } from './ui.js';

const root = document.getElementById('app');
let cleanup = null;
let mode = 'starting';

for (const [pattern, render, key] of routes) route(pattern, render, { key });

function runCleanup() {
    if (typeof cleanup === 'function') cleanup();
    cleanup = null;
}

/** Reads who this tablet is and what the shop looks like, then shows the right screen. */
async function start() {
    runCleanup();
    setLanguage(storedLanguage(null));
    try {
        state.me = await api.get('/v1/me');
    } catch (error) {
        if (error.status === 401) return showPairing();
        return showUnreachable(error);
    }
    setLanguage(storedLanguage(state.me.person && state.me.person.id));
    await loadShop();
    if (state.me.role === 'kiosk' && !state.me.person) {
        mode = 'kiosk';
        startLive();
        cleanup = renderKiosk(root);
        return;
    }
    if (!state.me.person) {
        const people = await api.get('/v1/sessions/people').catch(() => ({ items: [] }));
        if ((people.items || []).length > 0) return showLock();
    }
    mode = 'app';
    startLive();
    armAutoLock();
    show();
}

async function loadShop() {
    const [branches, services, staff, categories] = await Promise.all([
        api.get('/v1/branches'), api.get('/v1/services'), api.get('/v1/staff'), api.get('/v1/categories'),
    ]);
    const home = state.me.home_branch;
    state.branch = (branches.items || []).find((b) => b.id === home) || (branches.items || [])[0] || null;
    state.branches = branches.items || [];
    state.services = services.items || [];
    state.staff = staff.items || [];
    state.categories = categories.items || [];
    setBranchFormats(state.branch);
}

function showPairing() {
    mode = 'pairing';
    stopLive();
    runCleanup();
    cleanup = renderPairing(root, start);
}

async function showLock(reason) {
    mode = 'locked';
    runCleanup();
    await renderLock(root, start, { reason });
}

function showUnreachable(error) {
    mode = 'unreachable';
    mount(root, h('main', { class: 'center-screen', id: 'main' }, h('section', { class: 'card narrow', role: 'alert' },
        h('h1', null, t('unreachable.title')), h('p', null, t('unreachable.body')), h('p', { class: 'muted' }, error.detail || ''),
        button(t('retry'), start, { kind: 'primary' }))));
}

/** Draws the screen of the current hash inside the shell. */
function show() {
    if (mode !== 'app') return;
    runCleanup();
    const { path, query } = currentPath();
    let found = match(path);
    if (!found) {
        go(can('appointments.read') ? '/day' : '/clients');
        return;
    }
    const main = renderShell(root, found.route.options.key, { lock, rerender: show });
    cleanup = found.route.render(main, found.params, query) || null;
    main.focus({ preventScroll: true });
}

async function lock() {
    if (state.me && state.me.person) await api.delete('/v1/sessions/current').catch(() => null);
    state.me = await api.get('/v1/me').catch(() => state.me);
    showLock();
}

// Auto-lock: after the configured idle minutes (this device's setting, default 5) a shared tablet
// with someone signed in locks itself.
let idleTimer = null;
export function autoLockMinutes() {
    const stored = Number(localStorage.getItem('edgenode.autolock_minutes'));
    return Number.isFinite(stored) && stored > 0 ? stored : 5;
}
function armAutoLock() {
    clearTimeout(idleTimer);
    if (mode !== 'app' || !state.me || !state.me.person) return;
    idleTimer = setTimeout(() => { if (mode === 'app') lock(); }, autoLockMinutes() * 60000);
}
for (const type of ['pointerdown', 'keydown', 'touchstart']) document.addEventListener(type, armAutoLock, { passive: true });

window.addEventListener('hashchange', () => { if (mode === 'app') show(); });
on('unauthenticated', (error) => {
    // The box refused the tablet: revoked → pair again; a person's session ended → lock screen.
    if (mode === 'pairing' || mode === 'guest') return;
    if (error.kind === 'session_ended') showLock(t('lock.session_ended'));
    else showPairing();
});
on('event:reset', () => { if (mode === 'app') show(); });

const guest = location.pathname.match(/^\/b\/([a-z2-7]{26})\/?$/);
// A client's receipt, /r/<token> (the receipt's token; open, like the guest's page).
const receipt = location.pathname.match(/^\/r\/([a-z2-7]{26})\/?$/);
if (receipt) {
    mode = 'guest';
    renderPublicReceipt(root, receipt[1]);
} else if (guest) {
    mode = 'guest';
    setLanguage(storedLanguage(null));
    cleanup = renderGuest(root, guest[1]);
} else {
    start();
}
