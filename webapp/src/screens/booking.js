// The booking dialog: who (a client found as you type or created here, or a guest), one or several
// services, a staff member or anyone, a date and one of the offered starts (GET /v1/availability),
// then POST /v1/appointments — or a weekly/monthly series (POST /v1/series), or the waitlist when
// nothing fits (POST /v1/waitlist). A taken time is said clearly; nothing typed is lost.
import { h, mount, uid } from '../dom.js';
import { api } from '../api.js';
import { on, can } from '../store.js';
import { t, formatTime, formatDate } from '../i18n.js';
import { instantOf, minutesOfDay, addDays, today, parseClock } from '../time.js';
import { button, field, alertBox, openDialog, notify, problemText } from '../ui.js';
import { branchStaff, branchServices, rememberClient, serviceName } from './day-common.js';
import { showDayProblem, explain } from './day-common.js';
import { localName } from '../i18n.js';

const staffServices = new Map();
function servicesOf(staff) {
    if (!staff) return Promise.resolve(null);
    if (!staffServices.has(staff)) {
        staffServices.set(staff, api.get(`/v1/staff/${staff}/services`).then((r) => new Set((r.items || []).map((i) => i.service)), () => null));
    }
    return staffServices.get(staff);
}

/** Opens the booking dialog. `prefill`: {date, staff, time ('HH:MM'), onBooked(appointment)}. */
export async function openBooking(prefill) {
    const performed = await servicesOf(prefill.staff);
    const services = branchServices();
    const firstService = (services.find((s) => !performed || performed.has(s.id)) || services[0] || {}).id || '';

    let mode = 'client';
    let chosenClient = prefill.client || null;
    let offered = [];
    // Why the chosen date offers nothing by rule (`unavailable[].reason` of GET /v1/availability), or empty.
    let ruledOut = '';
    let wantedTime = prefill.time || null;
    let availabilityTimer = null;
    let searchTimer = null;
    let searchSerial = 0;

    openDialog(t('day.booking_title'), ({ body, close, dialog }) => {
        const alert = alertBox();

        // --- who ---------------------------------------------------------------------
        const modeName = uid('who');
        const modeRadio = (value, label) => h('label', { class: 'choice' },
            h('input', { type: 'radio', name: modeName, value, checked: mode === value, dataset: { testid: `who-${value}` }, onchange: () => { mode = value; drawWho(); } }), ' ', label);
        const whoArea = h('div', { class: 'who-area' });
        const search = field({ label: t('day.find_client'), name: 'client-search', type: 'search', placeholder: t('day.find_client_hint'), oninput: () => scheduleSearch() });
        search.control.dataset.testid = 'client-search';
        const results = h('ul', { class: 'list client-results', 'aria-label': t('day.search_results') });
        const chosenLine = h('div', { class: 'chosen-client' });
        const newName = field({ label: t('day.client_name'), name: 'name', autocomplete: 'off' });
        const newPhone = field({ label: t('day.client_phone'), name: 'phone', type: 'tel', inputmode: 'tel' });
        const newAlert = alertBox();
        const newClient = h('div', { class: 'new-client', hidden: true },
            h('h3', null, t('day.new_client')), newName, newPhone, newAlert,
            button(t('day.create_client'), createClient, { kind: 'primary', dataset: { testid: 'create-client' } }));
        const guestName = field({ label: t('day.guest_name_label'), name: 'guest-name' });
        const guestPhone = field({ label: t('day.client_phone'), name: 'guest-phone', type: 'tel', inputmode: 'tel' });
        const guestEmail = field({ label: t('day.client_email'), name: 'guest-email', type: 'email' });
        const clientArea = h('div', null, chosenLine, search, results,
            can('clients.write') ? button(t('day.new_client'), () => { newClient.hidden = !newClient.hidden; if (!newClient.hidden) { newName.control.value = newName.control.value || search.control.value; newName.control.focus(); } }, { kind: 'ghost', dataset: { testid: 'new-client' } }) : null,
            newClient);
        const guestArea = h('div', null, guestName, guestPhone, guestEmail);

        function drawWho() {
            mount(whoArea, mode === 'client' ? clientArea : guestArea);
            if (chosenClient) {
                search.hidden = true; results.hidden = true;
                mount(chosenLine, h('p', { class: 'chosen', dataset: { testid: 'chosen-client' } }, h('strong', null, chosenClient.name), ' ', chosenClient.phone || ''),
                    button(t('day.change_client'), () => { chosenClient = null; drawWho(); search.control.focus(); }, { kind: 'ghost' }));
            } else {
                search.hidden = false; results.hidden = false;
                mount(chosenLine);
            }
        }

        function scheduleSearch() {
            clearTimeout(searchTimer);
            searchTimer = setTimeout(runSearch, 200);
        }
        async function runSearch() {
            const q = search.control.value.trim();
            const serial = ++searchSerial;
            if (!q) { mount(results); return; }
            try {
                const page = await api.get('/v1/clients', { q, limit: 8 });
                if (serial !== searchSerial) return;
                const items = page.items || [];
                mount(results, items.length ? items.map((client) => h('li', null, h('button', {
                    type: 'button', class: 'row', dataset: { testid: 'client-result' },
                    onclick: () => { chosenClient = client; rememberClient(client); search.setError(''); drawWho(); },
                }, h('strong', null, client.name), ' ', h('span', { class: 'muted' }, client.phone || client.email || ''))))
                    : h('li', { class: 'muted empty-row' }, t('day.no_clients_found')));
            } catch (error) {
                search.setError(problemText(error));
            }
        }
        async function createClient() {
            try {
                const client = await api.post('/v1/clients', { name: newName.control.value.trim(), phone: newPhone.control.value.trim() || null });
                showDayProblem(newAlert, null, { name: newName, phone: newPhone });
                chosenClient = client;
                rememberClient(client);
                newClient.hidden = true;
                drawWho();
            } catch (error) {
                showDayProblem(newAlert, error, { name: newName, phone: newPhone });
            }
        }

        // --- what, who with, when ----------------------------------------------------
        const serviceRows = h('div', { class: 'service-rows' });
        const serviceOptions = services.map((s) => [s.id, `${localName(s.names)} · ${s.duration_minutes} ${t('day.minutes_short')}`]);
        const serviceFields = [];
        function addService(value) {
            if (serviceFields.length >= 5) return;
            const wrapper = field({ label: serviceFields.length === 0 ? t('day.service') : t('day.service_n', { n: serviceFields.length + 1 }), name: 'service', options: serviceOptions, value, onchange: refreshAvailability });
            wrapper.control.dataset.testid = 'service';
            serviceFields.push(wrapper);
            if (serviceFields.length > 1) {
                wrapper.appendChild(button(t('day.remove_service'), () => {
                    serviceFields.splice(serviceFields.indexOf(wrapper), 1); wrapper.remove(); refreshAvailability();
                }, { kind: 'ghost' }));
            }
            serviceRows.appendChild(wrapper);
        }
        addService(firstService);
        const staffField = field({ label: t('day.staff'), name: 'staff', value: prefill.staff || '', options: [['', t('anyone')], ...branchStaff().map((s) => [s.id, s.name])], onchange: () => { markPerformed(); refreshAvailability(); } });
        staffField.control.dataset.testid = 'staff';
        const dateField = field({ label: t('day.date'), name: 'date', type: 'date', value: prefill.date || today(), min: today(), onchange: () => { wantedTime = null; refreshAvailability(); } });
        const startField = field({ label: t('day.start'), name: 'start', options: [['', t('loading')]], onchange: () => { startField.setError(''); wantedTime = null; } });
        startField.control.dataset.testid = 'start';
        const offeredNote = h('p', { class: 'hint', role: 'status', 'aria-live': 'polite', dataset: { testid: 'offered-note' } });
        const requests = field({ label: t('day.special_requests'), name: 'special_requests', type: 'textarea', rows: 2, maxlength: 2000 });
        const source = field({ label: t('day.source'), name: 'source', value: 'front_desk', options: ['front_desk', 'phone', 'online'].map((s) => [s, t(`day.source_${s}`)]) });

        // --- recurring and waitlist ----------------------------------------------------
        const repeatBox = h('input', { type: 'checkbox', id: uid('repeat'), dataset: { testid: 'repeat' }, onchange: () => { repeatArea.hidden = !repeatBox.checked; } });
        const frequency = field({ label: t('day.frequency'), name: 'frequency', value: 'weekly', options: ['weekly', 'every_two_weeks', 'monthly'].map((f) => [f, t(`day.frequency_${f}`)]) });
        const count = field({ label: t('day.occurrences'), name: 'count', type: 'number', value: '4', min: 1, max: 104, inputmode: 'numeric' });
        const repeatArea = h('div', { class: 'repeat-area', hidden: true }, frequency, count);
        const seriesReport = h('div', { class: 'series-report', role: 'status' });
        const waitFrom = field({ label: t('day.waitlist_from'), name: 'from', type: 'date', value: prefill.date || today() });
        const waitTo = field({ label: t('day.waitlist_to'), name: 'to', type: 'date', value: addDays(prefill.date || today(), 7) });
        const waitAlert = alertBox();
        const waitArea = h('div', { class: 'wait-area', hidden: true }, h('h3', null, t('day.waitlist_add_title')), h('p', { class: 'hint' }, t('day.waitlist_hint')),
            waitFrom, waitTo, waitAlert, button(t('day.waitlist_add'), joinWaitlist, { kind: 'primary', dataset: { testid: 'waitlist-submit' } }));

        const fields = {
            start: startField, services: serviceRows.firstChild, client: search, 'guest.name': guestName, 'guest.phone': guestPhone, 'guest.email': guestEmail,
            guest: guestName, special_requests: requests, source, count, frequency, until: count,
        };

        /** Greys out the services the chosen staff member does not perform (GET /v1/staff/{id}/services). */
        async function markPerformed() {
            const performedNow = await servicesOf(staffField.control.value);
            for (const wrapper of serviceFields) {
                for (const option of wrapper.control.options) option.disabled = Boolean(performedNow) && !performedNow.has(option.value);
            }
        }

        function selectedServices() { return serviceFields.map((f) => f.control.value).filter(Boolean); }

        function refreshAvailability() {
            clearTimeout(availabilityTimer);
            availabilityTimer = setTimeout(loadAvailability, 50);
        }
        async function loadAvailability(keepTaken = false) {
            const chosen = startField.control.value;
            const ids = selectedServices();
            const date = dateField.control.value;
            if (!ids.length || !date) return;
            try {
                const result = await api.get('/v1/availability', { service: ids.join(','), date, staff: staffField.control.value });
                offered = (result.slots || []).map((s) => s.start);
                // A date the rules exclude (past, beyond the booking horizon): say why, not just "nothing free".
                ruledOut = ((result.unavailable || [])[0] || {}).reason || '';
                startField.setError('');
            } catch (error) {
                offered = [];
                ruledOut = '';
                startField.setError(explain(error));
            }
            let selected = '';
            if (chosen && offered.includes(chosen)) {
                selected = chosen;
            } else if (wantedTime && date === (prefill.date || '')) {
                // The tapped time, while the person has not picked another one.
                const minutes = parseClock(wantedTime);
                selected = offered.find((s) => minutesOfDay(s) === minutes) || offered.find((s) => minutesOfDay(s) > minutes && minutesOfDay(s) < minutes + 30) || '';
            }
            const options = [h('option', { value: '' }, offered.length ? t('day.choose_time') : t('day.nothing_offered'))];
            if (keepTaken && chosen && !offered.includes(chosen)) {
                options.push(h('option', { value: chosen, selected: true }, t('day.time_taken_option', { time: formatTime(chosen) })));
                startField.setError(t('day.chosen_time_taken', { time: formatTime(chosen) }));
            }
            options.push(...offered.map((s) => h('option', { value: s, selected: s === selected }, formatTime(s))));
            mount(startField.control, ...options);
            const ruledOutNote = { past: 'day.date_past', beyond_horizon: 'day.date_beyond_horizon' }[ruledOut];
            offeredNote.textContent = offered.length ? t('day.offered_count', { count: offered.length, date: formatDate(instantOf(date, '12:00')) })
                : t(ruledOutNote || 'day.nothing_offered_hint');
            if (!offered.length && !ruledOutNote && !waitArea.dataset.touched) waitArea.hidden = false;
        }

        async function submit(event) {
            if (event) event.preventDefault();
            showDayProblem(alert, null, fields);
            const start = startField.control.value;
            const who = {};
            if (mode === 'client') {
                if (!chosenClient) { search.setError(t('day.choose_client_first')); search.control.focus(); return; }
                who.client = chosenClient.id;
            } else {
                if (!guestName.control.value.trim()) { guestName.setError(t('validation.required')); guestName.control.focus(); return; }
                who.guest = { name: guestName.control.value.trim(), phone: guestPhone.control.value.trim() || null, email: guestEmail.control.value.trim() || null };
            }
            if (!start) { startField.setError(t('day.choose_time_first')); startField.control.focus(); return; }
            const staff = staffField.control.value || null;
            const bodyBase = {
                ...who, start, services: selectedServices().map((service) => ({ service, staff })),
                source: source.control.value, special_requests: requests.control.value || null,
            };
            try {
                if (repeatBox.checked) {
                    const report = await api.post('/v1/series', { ...bodyBase, frequency: frequency.control.value, count: Number(count.control.value) || 1 });
                    for (const appointment of report.booked || []) prefill.onBooked && prefill.onBooked(appointment);
                    mount(seriesReport, h('p', { class: 'notice-inline', dataset: { testid: 'series-report' } }, t('day.series_booked', { count: (report.booked || []).length })),
                        (report.failed || []).length ? h('ul', { class: 'series-failed' }, ...report.failed.map((f) => h('li', null, `${formatDate(instantOf(f.date, '12:00'))}: ${problemText({ kind: f.problem, detail: f.detail })}`))) : null,
                        button(t('close'), close, { kind: 'primary' }));
                    submitButton.hidden = true;
                    return;
                }
                const appointment = await api.post('/v1/appointments', bodyBase);
                if (prefill.onBooked) prefill.onBooked(appointment);
                close();
                notify(appointment.tracking_token
                    ? t('day.booked_guest', { time: formatTime(appointment.start), number: appointment.order_number })
                    : t('day.booked', { time: formatTime(appointment.start), number: appointment.order_number }));
            } catch (error) {
                if (error.kind === 'slot_taken' || error.kind === 'not_available') {
                    showDayProblem(alert, error, fields);
                    await loadAvailability(true);
                    startField.setError(error.kind === 'slot_taken' ? t('day.chosen_time_taken', { time: formatTime(start) }) : problemText(error));
                } else {
                    showDayProblem(alert, error, fields);
                }
            }
        }

        async function joinWaitlist() {
            waitArea.dataset.touched = '1';
            if (mode !== 'client' || !chosenClient) { showDayProblem(waitAlert, { kind: 'waitlist_client', detail: t('day.waitlist_needs_client') }); return; }
            try {
                await api.post('/v1/waitlist', {
                    client: chosenClient.id, service: selectedServices()[0], staff: staffField.control.value || null,
                    from: waitFrom.control.value, to: waitTo.control.value,
                });
                close();
                notify(t('day.waitlist_added', { name: chosenClient.name, service: serviceName(selectedServices()[0]) }));
            } catch (error) {
                showDayProblem(waitAlert, error, { from: waitFrom, to: waitTo, service: serviceRows.firstChild, staff: staffField });
            }
        }

        const submitButton = button(t('day.book'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'book-submit' } });
        const form = h('form', { class: 'booking-form', novalidate: true, onsubmit: submit },
            h('fieldset', { class: 'who-fieldset' }, h('legend', null, t('day.who_comes')),
                h('div', { class: 'choices' }, modeRadio('client', t('day.who_client')), modeRadio('guest', t('day.who_guest'))), whoArea),
            serviceRows,
            button(t('day.add_service'), () => { addService(firstService); markPerformed(); refreshAvailability(); }, { kind: 'ghost', dataset: { testid: 'add-service' } }),
            h('div', { class: 'form-row' }, staffField, dateField),
            startField, offeredNote,
            requests, source,
            h('div', { class: 'choice' }, repeatBox, h('label', { for: repeatBox.id }, ' ', t('day.repeat'))),
            repeatArea,
            alert, seriesReport,
            h('div', { class: 'actions' }, submitButton,
                can('appointments.manage') ? button(t('day.waitlist_open'), () => { waitArea.hidden = !waitArea.hidden; waitArea.dataset.touched = '1'; }, { dataset: { testid: 'waitlist-toggle' } }) : null),
            waitArea);
        drawWho();
        markPerformed();
        loadAvailability();

        // Another tablet's booking may take an offered time while this dialog is open.
        const off = on('event:appointment', () => refreshLive());
        let liveTimer = null;
        function refreshLive() { clearTimeout(liveTimer); liveTimer = setTimeout(() => loadAvailability(true), 200); }
        dialog.addEventListener('close', () => { off(); clearTimeout(liveTimer); clearTimeout(availabilityTimer); clearTimeout(searchTimer); });
        return form;
    }, { wide: true });
}
