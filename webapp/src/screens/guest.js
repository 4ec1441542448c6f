// The guest's own page, /b/<tracking token>: opened from the link on the kiosk's confirmation,
// on the guest's own phone, with no device credential — the token is the credential
// (docs/api.md, Guests and tracking tokens). Shows the booking with the shop's names
// (GET /v1/bookings/{token} and …/shop), cancels it (…/cancel, after a confirmation) and moves it
// to another offered start (…/availability, …/reschedule). Inside the cancellation cut-off it
// says to call the shop, with the shop's phone number.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, localName, formatMoney, formatTime, setBranchFormats } from '../i18n.js';
import { today } from '../time.js';
import { button, field, alertBox, showProblem, problemText, openDialog, statusBadge } from '../ui.js';
import { languagePicker } from '../shell.js';
import { startsByDate, firstFreeDate, dayStrip, timeGrid, whenText, dayLabel } from './kiosk-slots.js';

const CHANGEABLE = ['held', 'requested', 'confirmed'];
const DAYS_AHEAD = 14;

export function renderGuest(container, token) {
    const base = `/v1/bookings/${token}`;
    let booking = null;
    let shop = null;
    let loadError = null;
    let message = null;              // {kind: 'info'|'problem', text}
    let moving = null;               // null, or {byDate, date, start, error, loading}
    let alive = true;

    async function load() {
        try {
            [booking, shop] = await Promise.all([api.get(base), api.get(`${base}/shop`)]);
            setBranchFormats({ time_zone: shop.branch.time_zone, region: shop.branch.region, currency: shop.branch.currency });
            loadError = null;
        } catch (error) {
            loadError = error;
        }
        draw();
    }

    function cutoffHours() { return shop ? shop.branch.cancellation_cutoff_hours : 0; }

    function insideCutoff() {
        return Date.now() >= new Date(booking.start).getTime() - cutoffHours() * 3600 * 1000;
    }

    function callShopText() {
        return t('guest.cutoff', { count: cutoffHours(), phone: shop ? shop.branch.phone : '' });
    }

    function serviceNames() {
        const byID = new Map((shop ? shop.services : []).map((service) => [service.id, service]));
        return booking.items.map((item) => {
            const service = byID.get(item.service);
            return service ? localName(service.names) : '';
        }).filter(Boolean);
    }

    function staffNames() {
        const byID = new Map((shop ? shop.staff : []).map((member) => [member.id, member.name]));
        return [...new Set(booking.items.map((item) => byID.get(item.staff)).filter(Boolean))];
    }

    function refused(error) {
        if (error.kind === 'inside_cancellation_cutoff') return callShopText();
        if (error.kind === 'slot_taken') return t('guest.slot_taken');
        return problemText(error);
    }

    // --- cancelling ---------------------------------------------------------------------------

    function askCancel() {
        openDialog(t('guest.cancel_title'), (dialog) => {
            const alert = alertBox();
            const reason = field({ label: t('guest.reason'), name: 'reason', type: 'textarea', rows: 2, maxlength: 500 });
            return h('form', { class: 'guest-cancel', onsubmit: (event) => event.preventDefault() },
                h('p', null, t('guest.cancel_body', { when: whenText(booking.start) })),
                reason, alert,
                h('div', { class: 'actions' },
                    button(t('guest.confirm_cancel'), async () => {
                        try {
                            const text = reason.control.value.trim();
                            booking = await api.post(`${base}/cancel`, text ? { reason: text } : {});
                            message = { kind: 'info', text: t('guest.cancelled') };
                            moving = null;
                            dialog.close();
                            draw();
                        } catch (error) {
                            if (error.kind === 'inside_cancellation_cutoff' || error.kind === 'illegal_transition') {
                                dialog.close();
                                message = { kind: 'problem', text: refused(error) };
                                await reload();
                                return;
                            }
                            showProblem(alert, error, { reason });
                            alert.textContent = refused(error);
                        }
                    }, { kind: 'danger', dataset: { testid: 'guest-confirm-cancel' } }),
                    button(t('guest.keep'), () => dialog.close(), { kind: 'secondary' })));
        });
    }

    async function reload() {
        try { booking = await api.get(base); } catch { /* keep what is shown */ }
        draw();
    }

    // --- moving -------------------------------------------------------------------------------

    async function startMoving() {
        message = null;
        moving = { byDate: null, date: null, start: null, error: null, loading: true };
        draw();
        await loadStarts();
        const title = container.querySelector('#guest-move-title');
        if (title) title.focus();
    }

    async function loadStarts() {
        try {
            const result = await api.get(`${base}/availability`, { date: today(), days: DAYS_AHEAD });
            if (!alive || !moving) return;
            moving.byDate = startsByDate(result.dates, result.starts);
            if (!moving.date || !(moving.byDate.get(moving.date) || []).length) moving.date = firstFreeDate(moving.byDate);
            moving.error = null;
        } catch (error) {
            if (!moving) return;
            moving.error = error;
        }
        moving.loading = false;
        draw();
    }

    async function move(alert) {
        try {
            booking = await api.post(`${base}/reschedule`, { start: moving.start });
            moving = null;
            message = { kind: 'info', text: t('guest.moved', { when: whenText(booking.start) }) };
            draw();
        } catch (error) {
            if (error.kind === 'slot_taken' || error.kind === 'not_available') {
                moving.start = null;
                moving.error = null;
                await loadStarts();
                const box = container.querySelector('[data-testid="guest-move-alert"]');
                if (box) { box.hidden = false; box.textContent = refused(error); }
                return;
            }
            if (error.kind === 'inside_cancellation_cutoff' || error.kind === 'illegal_transition') {
                moving = null;
                message = { kind: 'problem', text: refused(error) };
                await reload();
                return;
            }
            showProblem(alert, error);
            alert.textContent = refused(error);
        }
    }

    function movingPanel() {
        const alert = alertBox();
        alert.dataset.testid = 'guest-move-alert';
        let body;
        if (moving.loading && !moving.byDate) {
            body = h('p', { class: 'muted', role: 'status' }, t('loading'));
        } else if (moving.error) {
            body = h('div', null, h('div', { class: 'alert', role: 'alert' }, refused(moving.error)), button(t('retry'), loadStarts));
        } else {
            const list = (moving.date && moving.byDate.get(moving.date)) || [];
            const anyFree = [...moving.byDate.values()].some((starts) => starts.length);
            body = h('div', null,
                anyFree ? dayStrip(moving.byDate, moving.date, (date) => { moving.date = date; moving.start = null; draw(); }) : null,
                !anyFree ? h('p', { class: 'empty' }, t('guest.no_times', { phone: shop.branch.phone }))
                    : list.length ? h('div', null,
                        h('h3', null, t('kiosk.times_on', { date: dayLabel(moving.date) })),
                        timeGrid(list, moving.start, (start) => { moving.start = start; draw(); }, t('kiosk.times_on', { date: dayLabel(moving.date) })))
                        : h('p', { class: 'empty' }, t('kiosk.no_times')));
        }
        return h('section', { class: 'card guest-move', 'aria-labelledby': 'guest-move-title' },
            h('h2', { id: 'guest-move-title', tabindex: '-1' }, t('guest.choose_time')),
            body, alert,
            h('div', { class: 'actions' },
                moving.start ? button(t('guest.move_to', { when: whenText(moving.start) }), () => move(alert), { kind: 'primary', dataset: { testid: 'guest-confirm-move' } }) : null,
                button(t('guest.keep_time'), () => { moving = null; draw(); }, { kind: 'secondary' })));
    }

    // --- drawing ------------------------------------------------------------------------------

    function frame(...children) {
        return h('div', { class: 'guest' },
            h('header', { class: 'guest-header' },
                h('strong', { class: 'guest-brand' }, shop ? shop.branch.name : t('guest.title')),
                languagePicker(draw)),
            h('main', { id: 'main', class: 'guest-main' }, ...children));
    }

    function draw() {
        if (!alive) return;
        document.title = shop ? `${t('guest.title')} — ${shop.branch.name}` : t('guest.title');
        if (!booking && !loadError) {
            mount(container, frame(h('p', { class: 'muted', role: 'status' }, t('loading'))));
            return;
        }
        if (loadError) {
            const unknown = loadError.kind === 'invalid_token' || loadError.status === 404 || loadError.status === 400;
            mount(container, frame(h('section', { class: 'card', role: 'alert', dataset: { testid: 'guest-error' } },
                h('h1', null, unknown ? t('guest.unknown_title') : t('guest.title')),
                h('p', null, unknown ? t('guest.invalid_token') : problemText(loadError)),
                unknown ? null : button(t('retry'), () => { loadError = null; draw(); load(); }, { kind: 'primary' }))));
            return;
        }
        const changeable = CHANGEABLE.includes(booking.status) && new Date(booking.start).getTime() > Date.now();
        const cutoff = changeable && insideCutoff();
        const phone = shop.branch.phone;
        const rows = [
            [t('guest.when'), `${whenText(booking.start)}–${formatTime(booking.end)}`, 'guest-when'],
            [t('guest.services'), serviceNames().join(', '), 'guest-services'],
            [t('guest.staff'), staffNames().join(', '), 'guest-staff'],
            [t('guest.price'), formatMoney(booking.price)],
            [t('guest.order'), booking.order_number, 'guest-order'],
            booking.guest ? [t('guest.name'), booking.guest.name] : null,
        ].filter(Boolean);
        mount(container, frame(
            h('section', { class: 'card guest-booking', 'aria-labelledby': 'guest-title' },
                h('h1', { id: 'guest-title' }, t('guest.title')),
                h('p', { class: 'guest-status', dataset: { testid: 'guest-status', status: booking.status } }, statusBadge(booking.status)),
                message ? h('div', { class: message.kind === 'problem' ? 'alert' : 'guest-info', role: message.kind === 'problem' ? 'alert' : 'status', dataset: { testid: 'guest-message' } }, message.text) : null,
                h('dl', { class: 'kiosk-summary' }, ...rows.flatMap(([label, value, testid]) => [h('dt', null, label), h('dd', { dataset: testid ? { testid } : undefined }, value)])),
                booking.status === 'requested' ? h('p', { class: 'hint' }, t('guest.requested')) : null,
                cutoff ? h('p', { class: 'guest-cutoff', dataset: { testid: 'guest-cutoff' } }, callShopText()) : null,
                changeable && !cutoff && !moving ? h('div', { class: 'actions' },
                    button(t('guest.reschedule'), startMoving, { kind: 'primary', dataset: { testid: 'guest-reschedule' } }),
                    button(t('guest.cancel'), askCancel, { kind: 'danger', dataset: { testid: 'guest-cancel' } })) : null),
            moving ? movingPanel() : null,
            h('section', { class: 'card guest-shop', 'aria-labelledby': 'guest-shop-title' },
                h('h2', { id: 'guest-shop-title' }, shop.branch.name),
                shop.branch.address ? h('p', null, shop.branch.address) : null,
                phone ? h('p', null, h('a', { href: `tel:${phone.replace(/[^\d+]/g, '')}`, class: 'btn secondary guest-call', dataset: { testid: 'guest-call' } }, t('guest.call', { phone }))) : null),
            h('p', { class: 'hint guest-keep' }, t('guest.keep_link'))));
    }

    draw();
    load();
    return () => { alive = false; };
}
