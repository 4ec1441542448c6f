// The kiosk: a tablet on the counter where a client books themselves in (role `kiosk`, which may
// read the catalogue and free times and book for guests — and read no client data at all).
// Steps: service → specialist (or anyone) → day and free time → name and phone → confirm →
// the confirmation with the order number and the guest's link (/b/<tracking token>). After a
// minute on the confirmation, on "Done", or after two idle minutes anywhere, it starts over and
// forgets everything typed: nothing personal is kept on the kiosk (no storage, no autofill).
import { h, mount, uid } from '../dom.js';
import { api } from '../api.js';
import { state, on } from '../store.js';
import { t, has, localName, formatMoney, formatTime, currentLanguage, setLanguage, rememberLanguage } from '../i18n.js';
import { today } from '../time.js';
import { button, field, alertBox, showProblem, problemText } from '../ui.js';
import { languagePicker } from '../shell.js';
import { startsByDate, firstFreeDate, dayStrip, timeGrid, whenText, dayLabel } from './kiosk-slots.js';

const STEPS = ['service', 'staff', 'time', 'details', 'confirm'];
const DAYS_AHEAD = 7;
const DONE_SECONDS = 60;
const IDLE_SECONDS = 120;

function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A new, empty visit: everything a client chose or typed lives here and only here. */
function freshVisit() {
    return {
        step: 'service', service: null, staff: null, staffChosen: false, date: null, start: null,
        name: '', phone: '', email: '', notice: null, booked: null, key: null, keyFor: null,
        detailsError: null,
    };
}

export function renderKiosk(container) {
    const startLanguage = currentLanguage();
    let visit = freshVisit();
    let assignments = null;          // Map staff id → Map service id → {price_minor, duration_minutes}
    let availability = null;         // {key, byDate} for the time step
    let loadingTimes = false;
    let refreshTimer = null;
    let doneTimer = null;
    let idleTimer = null;
    let alive = true;

    // --- the catalogue as the kiosk offers it -------------------------------------------------

    function offeredServices() {
        const branch = state.branch && state.branch.id;
        return state.services.filter((service) => service.active && (!branch || service.branch === branch)
            && (!assignments || qualifiedStaff(service.id).length > 0));
    }

    function qualifiedStaff(serviceID) {
        return state.staff.filter((member) => member.active && (!assignments || (assignments.get(member.id) || new Map()).has(serviceID)));
    }

    async function loadAssignments() {
        try {
            const lists = await Promise.all(state.staff.filter((member) => member.active)
                .map((member) => api.get(`/v1/staff/${member.id}/services`).then((page) => [member.id, page.items || []])));
            assignments = new Map(lists.map(([id, items]) => [id, new Map(items.map((item) => [item.service, item]))]));
        } catch {
            assignments = null;      // show every active service and staff member; the box still checks
        }
        if (alive) draw();
    }

    /** The price of the service with the chosen specialist (their own price if set). */
    function priceOf(service, staffID) {
        const own = staffID && assignments && assignments.get(staffID) && assignments.get(staffID).get(service.id);
        if (own && own.price_minor !== undefined && own.price_minor !== null) return { amount_minor: own.price_minor, currency: service.price.currency };
        return service.price;
    }

    /** The price as text: the specialist's, or for "anyone" the range over the qualified staff. */
    function priceText(service, staffID) {
        if (staffID || !assignments) return formatMoney(priceOf(service, staffID));
        const amounts = qualifiedStaff(service.id).map((member) => priceOf(service, member.id).amount_minor);
        const low = Math.min(...amounts), high = Math.max(...amounts);
        if (!amounts.length || low === high) return formatMoney(amounts.length ? { amount_minor: low, currency: service.price.currency } : service.price);
        return `${formatMoney({ amount_minor: low, currency: service.price.currency })} – ${formatMoney({ amount_minor: high, currency: service.price.currency })}`;
    }

    function durationOf(service, staffID) {
        const own = staffID && assignments && assignments.get(staffID) && assignments.get(staffID).get(service.id);
        return (own && own.duration_minutes) || service.duration_minutes;
    }

    function categoryName(name) {
        if (!name) return t('kiosk.category.other');
        const key = `kiosk.category.${name}`;
        return has(key) ? t(key) : name.replace(/_/g, ' ');
    }

    function staffName(id) {
        const member = state.staff.find((s) => s.id === id);
        return member ? member.name : '';
    }

    // --- moving between steps ----------------------------------------------------------------

    function go(step) {
        visit.step = step;
        draw();
        const heading = container.querySelector('h1');
        if (heading) heading.focus({ preventScroll: false });
    }

    function back() {
        const index = STEPS.indexOf(visit.step);
        visit.notice = null;
        if (index > 0) go(STEPS[index - 1]);
    }

    function startOver() {
        clearTimeout(doneTimer);
        clearTimeout(idleTimer);
        clearTimeout(refreshTimer);
        visit = freshVisit();
        availability = null;
        if (currentLanguage() !== startLanguage) {
            setLanguage(startLanguage);
            rememberLanguage(startLanguage, null);
        }
        go('service');
    }

    function armIdle() {
        clearTimeout(idleTimer);
        if (visit.step === 'service' && currentLanguage() === startLanguage) return;
        idleTimer = setTimeout(() => { if (alive) startOver(); }, IDLE_SECONDS * 1000);
    }

    // --- free times ---------------------------------------------------------------------------

    function availabilityKey() {
        return `${visit.service && visit.service.id}|${visit.staff || ''}`;
    }

    async function loadTimes(quiet = false) {
        const key = availabilityKey();
        if (!quiet) { loadingTimes = true; draw(); }
        try {
            const result = await api.get('/v1/availability', {
                service: visit.service.id, date: today(), days: DAYS_AHEAD, staff: visit.staff || undefined,
            });
            if (!alive || key !== availabilityKey()) return;
            const starts = (result.slots || []).map((slot) => slot.start);
            availability = { key, byDate: startsByDate(result.dates, starts), error: null };
            if (!visit.date || !availability.byDate.has(visit.date) || !availability.byDate.get(visit.date).length) {
                visit.date = firstFreeDate(availability.byDate);
            }
        } catch (error) {
            if (!alive) return;
            availability = { key, byDate: new Map(), error };
        } finally {
            loadingTimes = false;
        }
        if (visit.step === 'time') drawKeepingFocus();
    }

    function onLive() {
        if (visit.step !== 'time' || !visit.service) return;
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(() => loadTimes(true), 250);
    }

    /** Redraws without losing the keyboard's place (a live refresh must not move the focus). */
    function drawKeepingFocus() {
        const active = document.activeElement;
        const selector = active && active.dataset && active.dataset.start ? `[data-start="${active.dataset.start}"]`
            : active && active.dataset && active.dataset.date ? `[data-date="${active.dataset.date}"]` : null;
        draw();
        if (selector) {
            const again = container.querySelector(selector);
            if (again) again.focus({ preventScroll: true });
        }
    }

    // --- booking ------------------------------------------------------------------------------

    function bookingBody() {
        const part = { service: visit.service.id };
        if (visit.staff) part.staff = visit.staff;
        return {
            services: [part],
            start: visit.start,
            guest: { name: visit.name.trim(), phone: visit.phone.trim(), email: visit.email.trim() || null },
            source: 'kiosk',
        };
    }

    async function book(alert) {
        const body = bookingBody();
        const fingerprint = JSON.stringify(body);
        // One key per booking attempt: a retry after a dropped connection cannot book twice.
        if (visit.keyFor !== fingerprint) { visit.key = randomKey(); visit.keyFor = fingerprint; }
        try {
            const created = await api.post('/v1/appointments', body, { key: visit.key });
            visit.booked = created;
            visit.step = 'done';
            draw();
            const heading = container.querySelector('h1');
            if (heading) heading.focus();
            countdown(DONE_SECONDS);
        } catch (error) {
            if (error.kind === 'slot_taken' || error.kind === 'not_available') {
                visit.notice = error.kind === 'slot_taken' ? t('kiosk.slot_taken') : problemText(error);
                visit.start = null;
                availability = null;
                go('time');
                loadTimes();
                return;
            }
            const fieldNames = ['guest.name', 'guest.phone', 'guest.email', 'guest'];
            const onDetails = error.kind === 'invalid_phone'
                || (error.errors || []).some((fieldError) => fieldNames.includes(fieldError.field));
            if (onDetails) {
                visit.detailsError = error;
                go('details');
                return;
            }
            showProblem(alert, error);
        }
    }

    function countdown(seconds) {
        clearTimeout(doneTimer);
        const counter = container.querySelector('[data-testid="kiosk-countdown"]');
        if (counter) counter.textContent = t('kiosk.clears_in', { count: seconds });
        if (seconds <= 0) { startOver(); return; }
        doneTimer = setTimeout(() => { if (alive && visit.step === 'done') countdown(seconds - 1); }, 1000);
    }

    // --- drawing ------------------------------------------------------------------------------

    function progress() {
        const index = STEPS.indexOf(visit.step);
        return h('nav', { class: 'kiosk-progress', 'aria-label': t('kiosk.steps') },
            h('p', { class: 'kiosk-step-of', dataset: { testid: 'kiosk-step' } }, t('kiosk.step_of', { n: index + 1, total: STEPS.length })),
            h('ol', { class: 'kiosk-steps' }, ...STEPS.map((step, i) => h('li', {
                class: ['kiosk-step', i < index && 'done', i === index && 'current'],
                'aria-current': i === index ? 'step' : null,
            }, h('span', { class: 'kiosk-step-number', 'aria-hidden': 'true' }, String(i + 1)),
            h('span', { class: 'kiosk-step-label' }, t(`kiosk.step.${step}`))))));
    }

    function header() {
        return h('header', { class: 'kiosk-header' },
            h('div', { class: 'kiosk-brand' }, h('strong', null, state.branch ? state.branch.name : t('kiosk.title'))),
            visit.step === 'service' ? languagePicker(draw)
                : visit.step !== 'done' ? button(t('kiosk.start_over'), startOver, { kind: 'ghost', dataset: { testid: 'kiosk-start-over' } }) : null);
    }

    function heading(text) {
        return h('h1', { tabindex: '-1', class: 'kiosk-title' }, text);
    }

    function navigation(extra) {
        return h('div', { class: 'kiosk-nav' },
            button(t('back'), back, { kind: 'secondary', class: 'kiosk-back', dataset: { testid: 'kiosk-back' } }),
            extra || null);
    }

    function serviceStep() {
        const services = offeredServices();
        const groups = new Map();
        const order = (state.categories || []).map((category) => category.name);
        for (const service of services) {
            if (!groups.has(service.category)) groups.set(service.category, []);
            groups.get(service.category).push(service);
        }
        const names = [...groups.keys()].sort((a, b) => {
            const ia = order.indexOf(a), ib = order.indexOf(b);
            return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib);
        });
        return [
            heading(t('kiosk.choose_service')),
            h('p', { class: 'kiosk-intro' }, t('kiosk.welcome')),
            services.length === 0 ? h('p', { class: 'empty' }, t('kiosk.no_services')) : null,
            ...names.map((name) => {
                const id = uid('category');
                return h('section', { class: 'kiosk-category', 'aria-labelledby': id },
                    h('h2', { id }, categoryName(name)),
                    h('ul', { class: 'kiosk-choices' }, ...groups.get(name).map((service) => h('li', null, h('button', {
                        type: 'button', class: ['kiosk-choice', visit.service && visit.service.id === service.id && 'chosen'],
                        dataset: { testid: 'service', id: service.id },
                        onclick: () => {
                            if (!visit.service || visit.service.id !== service.id) {
                                visit.staff = null; visit.staffChosen = false; visit.start = null; visit.date = null; availability = null;
                            }
                            visit.service = service;
                            go('staff');
                        },
                    }, h('span', { class: 'kiosk-choice-name' }, localName(service.names, service.id)),
                    h('span', { class: 'kiosk-choice-meta' },
                        h('span', null, t('kiosk.minutes', { count: service.duration_minutes })),
                        h('span', { class: 'kiosk-price' }, priceText(service, null))))))));
            }),
        ];
    }

    function staffStep() {
        const service = visit.service;
        const staff = qualifiedStaff(service.id);
        const choose = (id) => {
            if (visit.staff !== id) { visit.start = null; visit.date = null; availability = null; }
            visit.staff = id;
            visit.staffChosen = true;
            go('time');
            loadTimes();
        };
        return [
            heading(t('kiosk.choose_staff')),
            h('p', { class: 'kiosk-intro' }, localName(service.names)),
            h('ul', { class: 'kiosk-choices' },
                h('li', null, h('button', {
                    type: 'button', class: ['kiosk-choice', 'anyone', visit.staffChosen && visit.staff === null && 'chosen'],
                    dataset: { testid: 'staff-anyone' }, onclick: () => choose(null),
                }, h('span', { class: 'kiosk-choice-name' }, t('anyone')), h('span', { class: 'kiosk-choice-meta' }, t('kiosk.anyone_hint')))),
                ...staff.map((member) => h('li', null, h('button', {
                    type: 'button', class: ['kiosk-choice', visit.staff === member.id && 'chosen'],
                    dataset: { testid: 'staff', id: member.id }, onclick: () => choose(member.id),
                }, h('span', { class: 'kiosk-choice-name' }, member.name),
                h('span', { class: 'kiosk-choice-meta' },
                    h('span', null, t('kiosk.minutes', { count: durationOf(service, member.id) })),
                    h('span', { class: 'kiosk-price' }, formatMoney(priceOf(service, member.id)))))))),
            navigation(),
        ];
    }

    function timeStep() {
        const notice = visit.notice ? h('div', { class: 'alert', role: 'alert', dataset: { testid: 'kiosk-notice', kind: 'slot_taken' } }, visit.notice) : null;
        const ready = availability && availability.key === availabilityKey();
        let body;
        if (!ready) {
            body = h('p', { class: 'muted', role: 'status' }, t('loading'));
        } else if (availability.error) {
            body = h('div', null, h('div', { class: 'alert', role: 'alert' }, problemText(availability.error)),
                button(t('retry'), () => loadTimes(), { kind: 'primary' }));
        } else {
            const list = (visit.date && availability.byDate.get(visit.date)) || [];
            const anyFree = [...availability.byDate.values()].some((starts) => starts.length);
            body = h('div', null,
                dayStrip(availability.byDate, visit.date, (date) => { visit.date = date; drawKeepingFocus(); }),
                !anyFree ? h('p', { class: 'empty' }, t('kiosk.no_times_week'))
                    : list.length === 0 ? h('p', { class: 'empty' }, t('kiosk.no_times'))
                        : h('section', { class: 'kiosk-day-times' },
                            h('h2', null, t('kiosk.times_on', { date: dayLabel(visit.date) })),
                            timeGrid(list, visit.start, (start) => { visit.start = start; visit.notice = null; go('details'); }, t('kiosk.times_on', { date: dayLabel(visit.date) }))));
        }
        return [
            heading(t('kiosk.choose_time')),
            h('p', { class: 'kiosk-intro' }, `${localName(visit.service.names)} · ${visit.staff ? staffName(visit.staff) : t('anyone')}`),
            notice,
            loadingTimes && ready ? h('p', { class: 'muted', role: 'status' }, t('loading')) : null,
            body,
            navigation(),
        ];
    }

    function detailsStep() {
        const alert = alertBox();
        const name = field({ label: t('kiosk.name'), name: 'name', value: visit.name, required: true, maxlength: 200, autocomplete: 'off',
            oninput: (event) => { visit.name = event.target.value; } });
        const phone = field({ label: t('kiosk.phone'), name: 'phone', type: 'tel', inputmode: 'tel', value: visit.phone, required: true, maxlength: 40,
            autocomplete: 'off', hint: t('kiosk.phone_hint'), oninput: (event) => { visit.phone = event.target.value; } });
        const email = field({ label: t('kiosk.email'), name: 'email', type: 'email', inputmode: 'email', value: visit.email, maxlength: 254,
            autocomplete: 'off', oninput: (event) => { visit.email = event.target.value; } });
        const fields = { 'guest.name': name, 'guest.phone': phone, 'guest.email': email, guest: name };
        const next = (event) => {
            event.preventDefault();
            visit.detailsError = null;
            showProblem(alert, null, fields);
            let ok = true;
            if (!visit.name.trim()) { name.setError(t('kiosk.need_name')); ok = false; }
            if (visit.phone.replace(/\D/g, '').length < 5) { phone.setError(t('kiosk.need_phone')); ok = false; }
            if (visit.email.trim() && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(visit.email.trim())) { email.setError(t('kiosk.bad_email')); ok = false; }
            if (!ok) {
                const invalid = container.querySelector('[aria-invalid="true"]');
                if (invalid) invalid.focus();
                return;
            }
            go('confirm');
        };
        const form = h('form', { class: 'kiosk-form', onsubmit: next, novalidate: true, autocomplete: 'off' },
            name, phone, email,
            h('p', { class: 'hint' }, t('kiosk.privacy')),
            alert,
            navigation(button(t('kiosk.next'), null, { kind: 'primary', type: 'submit', class: 'kiosk-next', dataset: { testid: 'kiosk-next' } })));
        if (visit.detailsError) {
            const error = visit.detailsError;
            queueMicrotask(() => {
                showProblem(alert, error, fields);
                if (error.kind === 'invalid_phone') phone.setError(problemText(error));
            });
        }
        return [
            heading(t('kiosk.your_details')),
            h('p', { class: 'kiosk-intro' }, `${localName(visit.service.names)} · ${whenText(visit.start)}`),
            form,
        ];
    }

    function summary(rows) {
        return h('dl', { class: 'kiosk-summary' }, ...rows.filter(Boolean).flatMap(([label, value, testid]) => [
            h('dt', null, label), h('dd', { dataset: testid ? { testid } : undefined }, value)]));
    }

    function confirmStep() {
        const alert = alertBox();
        const service = visit.service;
        return [
            heading(t('kiosk.check')),
            summary([
                [t('kiosk.service'), localName(service.names)],
                [t('kiosk.specialist'), visit.staff ? staffName(visit.staff) : t('anyone')],
                [t('kiosk.when'), whenText(visit.start)],
                [t('kiosk.duration'), t('kiosk.minutes', { count: durationOf(service, visit.staff) })],
                [t('kiosk.price'), priceText(service, visit.staff)],
                [t('kiosk.name'), visit.name.trim(), 'confirm-name'],
                [t('kiosk.phone'), visit.phone.trim(), 'confirm-phone'],
                visit.email.trim() ? [t('kiosk.email'), visit.email.trim()] : null,
            ]),
            alert,
            navigation(button(t('kiosk.book'), () => book(alert), { kind: 'primary', class: 'kiosk-next', dataset: { testid: 'kiosk-book' } })),
        ];
    }

    function doneStep() {
        const booked = visit.booked;
        const item = (booked.items || [])[0] || {};
        const link = `${location.origin}/b/${booked.tracking_token || ''}`;
        return [
            h('div', { class: 'kiosk-done-mark', 'aria-hidden': 'true' }, '✓'),
            heading(t('kiosk.booked')),
            summary([
                [t('kiosk.when'), `${whenText(booked.start)}–${formatTime(booked.end)}`, 'done-when'],
                [t('kiosk.service'), localName(visit.service.names)],
                [t('kiosk.specialist'), staffName(item.staff) || t('anyone'), 'done-staff'],
                [t('kiosk.price'), formatMoney(booked.price)],
                [t('kiosk.order'), h('strong', { class: 'kiosk-order' }, booked.order_number), 'done-order'],
            ]),
            booked.status === 'requested' ? h('p', { class: 'hint' }, t('kiosk.requested')) : null,
            booked.tracking_token ? h('section', { class: 'kiosk-link-box', 'aria-labelledby': 'kiosk-link-title' },
                h('h2', { id: 'kiosk-link-title' }, t('kiosk.link')),
                h('p', { class: 'kiosk-link', dataset: { testid: 'tracking-link' } }, link),
                h('p', null, t('kiosk.keep_link'))) : null,
            h('p', { class: 'muted', dataset: { testid: 'kiosk-countdown' } }, t('kiosk.clears_in', { count: DONE_SECONDS })),
            h('div', { class: 'kiosk-nav' }, button(t('kiosk.done'), startOver, { kind: 'primary', class: 'kiosk-next', dataset: { testid: 'kiosk-done' } })),
        ];
    }

    function draw() {
        if (!alive) return;
        document.title = `${t('kiosk.title')} — ${state.branch ? state.branch.name : 'edgenode'}`;
        const steps = { service: serviceStep, staff: staffStep, time: timeStep, details: detailsStep, confirm: confirmStep, done: doneStep };
        mount(container,
            h('div', { class: ['kiosk', `kiosk-at-${visit.step}`] },
                header(),
                visit.step === 'done' ? null : progress(),
                h('main', { id: 'main', class: 'kiosk-main' }, ...steps[visit.step]())));
        armIdle();
    }

    const activity = () => armIdle();
    container.addEventListener('pointerdown', activity);
    container.addEventListener('keydown', activity);
    const unsubscribe = [on('event:availability', onLive), on('event:appointment', onLive), on('event:reset', onLive)];

    draw();
    loadAssignments();

    return () => {
        alive = false;
        clearTimeout(refreshTimer);
        clearTimeout(doneTimer);
        clearTimeout(idleTimer);
        container.removeEventListener('pointerdown', activity);
        container.removeEventListener('keydown', activity);
        for (const off of unsubscribe) off();
    };
}
