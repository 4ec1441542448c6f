// Messaging settings (#/manage/messaging) and templates (#/manage/templates), messaging.settings
// (owner, manager); docs/messaging.md.
//
// Settings (GET and PUT /v1/messaging/settings): the kinds sent, the reminders' offsets, the minimum
// lead of a late reminder, the change threshold, the channel order, the review request's delay and
// expiry, the Telegram bot's name and the List-Unsubscribe target; which channels this box has
// configured (configured or not: never a secret); which box sends each branch's messages, with
// "send from this box" (POST /v1/messaging/sender) and the take-over confirmation when another box
// sends for it (`take_over`, 409 `sender_elsewhere`).
//
// Templates (GET /v1/messaging/templates): pick kind × channel × language, edit the subject (email),
// the body (and WhatsApp's approved template name and parameters), a live preview (POST
// /v1/messaging/templates/preview) with the box's refusal (422 `invalid_template`) next to its
// field, save (PUT …/{kind}/{channel}/{language}) and reset to the built-in one (DELETE).
import { h, mount, uid } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime, currentLanguage } from '../i18n.js';
import { button, field, alertBox, showProblem, problemText, notify } from '../ui.js';
import { checkboxField, section, confirmDialog, table } from './manage-common.js';
import { KINDS, CHANNELS, LANGUAGE_CODES, kindName, channelName, languageName, channelOrderEditor } from './messaging-common.js';

// --- settings --------------------------------------------------------------------------------------

const UNITS = [['minutes', 1], ['hours', 60], ['days', 1440]];

/** An offset in minutes as a number and the largest unit that divides it. */
function splitOffset(minutes) {
    const [unit, size] = [...UNITS].reverse().find(([, s]) => minutes % s === 0) || UNITS[0];
    return { value: minutes / size, unit };
}

/** A number field of whole minutes/hours with a range check; `read()` gives the number or null (error shown). */
function wholeField(label, name, value, min, max, hint) {
    const wrapper = field({ label, name, type: 'number', value, min, max, step: 1, inputmode: 'numeric', hint });
    wrapper.control.dataset.testid = name;
    wrapper.read = () => {
        const text = wrapper.control.value.trim();
        const number = Number(text);
        if (text === '' || !Number.isInteger(number) || number < min || number > max) {
            wrapper.setError(t('msg.settings.range', { min, max }));
            return null;
        }
        wrapper.setError('');
        return number;
    };
    return wrapper;
}

export function renderMessagingSettings(container) {
    let alive = true;
    let settings = null;
    const alert = alertBox();
    const formArea = h('div', null, h('p', { class: 'muted' }, t('loading')));
    const channelsArea = h('div');
    const sendersArea = h('div');
    mount(container, sendersArea, channelsArea, formArea);

    async function load() {
        let loaded;
        try {
            loaded = await api.get('/v1/messaging/settings');
        } catch (error) {
            if (alive) mount(formArea, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        settings = loaded;
        drawSenders();
        drawChannels();
        drawForm();
    }

    function drawChannels() {
        const rows = (settings.channels || []).map((c) => h('tr', { dataset: { testid: 'channel-config', channel: c.channel, configured: String(Boolean(c.configured)) } },
            h('th', { scope: 'row' }, channelName(c.channel)),
            h('td', null, h('span', { class: ['badge', c.configured ? 'msg-ok' : 'msg-off'] }, t(c.configured ? 'msg.channels.configured' : 'msg.channels.not_configured'))),
            h('td', null, c.provider || '—')));
        mount(channelsArea, section(t('msg.channels.title'), null,
            h('p', { class: 'hint' }, t('msg.channels.hint')),
            h('div', { class: 'table-wrap' }, table(t('msg.channels.title'), [t('msg.col.channel'), t('msg.col.state'), t('msg.col.provider')], rows, { hideCaption: true }))));
    }

    function drawSenders() {
        const rows = (settings.senders || []).map((s) => h('tr', { dataset: { testid: 'sender', branch: s.branch } },
            h('th', { scope: 'row' }, s.branch_name || s.branch),
            h('td', { dataset: { testid: 'sender-box' } }, !s.site ? t('msg.senders.nobody') : s.this_box ? h('strong', null, t('msg.senders.this_box')) : t('msg.box', { box: s.box })),
            h('td', null, s.since ? formatDateTime(s.since) : '—'),
            h('td', null, s.this_box ? null : button(t('msg.senders.send_here'), () => takeOver(s), { kind: s.site ? 'secondary' : 'primary', dataset: { testid: 'send-from-here' },
                ariaLabel: t('msg.senders.send_here_named', { name: s.branch_name || s.branch }) }))));
        mount(sendersArea, section(t('msg.senders.title'), null,
            h('p', { class: 'hint' }, t('msg.senders.hint', { box: settings.this_box || '' })),
            h('div', { class: 'table-wrap' }, table(t('msg.senders.title'), [t('msg.col.branch'), t('msg.col.sender'), t('msg.col.since'), t('msg.col.actions')], rows, { hideCaption: true }))));
    }

    /** Makes this box the branch's sender; when another box sends for it, only after a confirmation. */
    async function takeOver(sender) {
        const send = (takeOver) => api.post('/v1/messaging/sender', { branch: sender.branch, take_over: takeOver });
        const confirm = (box) => confirmDialog(t('msg.senders.take_over_title', { name: sender.branch_name || '' }),
            t('msg.senders.take_over_text', { box }), t('msg.senders.take_over'), async () => { await send(true); notify(t('msg.senders.done')); load(); });
        if (sender.site && !sender.this_box) { confirm(sender.box); return; }
        try {
            await send(false);
            notify(t('msg.senders.done'));
            load();
        } catch (error) {
            // Another box started sending for it meanwhile.
            if (error.kind === 'sender_elsewhere') confirm(error.detail || '');
            else showProblem(alert, error);
        }
    }

    function drawForm() {
        const kinds = Object.fromEntries(KINDS.map((kind) => [kind, checkboxField(kindName(kind), settings.kinds ? settings.kinds[kind] !== false : true, `kind-${kind}`)]));
        for (const [kind, wrapper] of Object.entries(kinds)) wrapper.control.dataset.testid = `kind-${kind}`;
        const kindsField = h('fieldset', { class: 'plain-fieldset checks-grid' }, h('legend', null, t('msg.settings.kinds')), Object.values(kinds));
        kindsField.setError = () => {};

        // Reminder offsets: up to four, each a number and a unit.
        const offsetsList = h('div', { class: 'offsets' });
        const offsetsError = h('p', { class: 'field-error', role: 'alert', hidden: true });
        let offsets = (settings.reminder_offsets_minutes || []).map(splitOffset);
        const addOffset = button(t('msg.settings.add_reminder'), () => { offsets.push({ value: '', unit: 'hours' }); drawOffsets(); const inputs = offsetsList.querySelectorAll('input'); if (inputs.length) inputs[inputs.length - 1].focus(); }, { dataset: { testid: 'add-reminder' } });
        function drawOffsets() {
            mount(offsetsList, offsets.length ? offsets.map((offset, index) => {
                const id = uid('offset');
                const number = h('input', { id, type: 'number', min: 1, step: 1, inputmode: 'numeric', value: offset.value, dataset: { testid: 'reminder-offset' },
                    oninput: (event) => { offset.value = event.target.value; } });
                const unit = h('select', { 'aria-label': t('msg.settings.unit'), dataset: { testid: 'reminder-unit' }, onchange: (event) => { offset.unit = event.target.value; } },
                    UNITS.map(([key]) => h('option', { value: key, selected: key === offset.unit }, t(`msg.unit.${key}`))));
                return h('div', { class: 'offset-row field' }, h('label', { for: id }, t('msg.settings.reminder_n', { n: index + 1 })),
                    h('div', { class: 'inline-controls' }, number, unit, t('msg.settings.before'),
                        button(t('msg.settings.remove'), () => { offsets.splice(index, 1); drawOffsets(); addOffset.focus(); }, { kind: 'ghost', ariaLabel: t('msg.settings.remove_n', { n: index + 1 }) })));
            }) : h('p', { class: 'muted' }, t('msg.settings.no_reminders')));
            addOffset.disabled = offsets.length >= 4;
        }
        drawOffsets();
        const offsetsField = h('fieldset', { class: 'plain-fieldset', dataset: { testid: 'reminder-offsets' } }, h('legend', null, t('msg.settings.reminders')),
            h('p', { class: 'hint' }, t('msg.settings.reminders_hint')), offsetsList, offsetsError, addOffset);
        offsetsField.setError = (message) => { offsetsError.textContent = message || ''; offsetsError.hidden = !message; };
        offsetsField.read = () => {
            const minutes = [];
            for (const offset of offsets) {
                const value = Number(String(offset.value).trim());
                const size = (UNITS.find(([key]) => key === offset.unit) || UNITS[0])[1];
                if (!Number.isInteger(value) || value * size < 5 || value * size > 20160) { offsetsField.setError(t('msg.settings.offset_range')); return null; }
                minutes.push(value * size);
            }
            offsetsField.setError('');
            return minutes;
        };

        const lead = wholeField(t('msg.settings.min_lead'), 'min_reminder_lead_minutes', settings.min_reminder_lead_minutes, 0, 1440, t('msg.settings.min_lead_hint'));
        const threshold = wholeField(t('msg.settings.change_threshold'), 'change_threshold_minutes', settings.change_threshold_minutes, 0, 1440, t('msg.settings.change_threshold_hint'));
        const reviewDelay = wholeField(t('msg.settings.review_delay'), 'review_delay_minutes', settings.review_delay_minutes, 0, 10080);
        const reviewExpiry = wholeField(t('msg.settings.review_expiry'), 'review_expiry_hours', settings.review_expiry_hours, 1, 720);
        const order = channelOrderEditor(t('msg.settings.channel_order'), settings.channel_order || [], t('msg.settings.channel_order_hint'));
        const bot = field({ label: t('msg.settings.telegram_bot'), name: 'telegram_bot', value: settings.telegram_bot || '', maxlength: 32, hint: t('msg.settings.telegram_bot_hint') });
        bot.control.dataset.testid = 'telegram_bot';
        const unsubscribe = field({ label: t('msg.settings.unsubscribe'), name: 'unsubscribe', value: settings.unsubscribe || '', maxlength: 500, hint: t('msg.settings.unsubscribe_hint') });
        const fields = {
            kinds: kindsField, reminder_offsets_minutes: offsetsField, min_reminder_lead_minutes: lead, change_threshold_minutes: threshold,
            channel_order: order, review_delay_minutes: reviewDelay, review_expiry_hours: reviewExpiry, telegram_bot: bot, unsubscribe,
        };

        async function save(event) {
            event.preventDefault();
            const offsetsValue = offsetsField.read();
            const values = [lead.read(), threshold.read(), reviewDelay.read(), reviewExpiry.read()];
            const botName = bot.control.value.trim().replace(/^@/, '');
            const botOK = botName === '' || /^[A-Za-z0-9_]{5,32}$/.test(botName);
            bot.setError(botOK ? '' : t('msg.settings.bot_invalid'));
            const channelOrder = order.read();
            order.setError(channelOrder.length ? '' : t('msg.settings.order_empty'));
            if (offsetsValue === null || values.includes(null) || !botOK || !channelOrder.length) {
                const invalid = container.querySelector('[aria-invalid="true"]');
                if (invalid) invalid.focus();
                return;
            }
            const body = {
                kinds: Object.fromEntries(Object.entries(kinds).map(([kind, wrapper]) => [kind, wrapper.control.checked])),
                reminder_offsets_minutes: offsetsValue,
                min_reminder_lead_minutes: values[0], change_threshold_minutes: values[1], review_delay_minutes: values[2], review_expiry_hours: values[3],
                channel_order: channelOrder, telegram_bot: botName, unsubscribe: unsubscribe.control.value.trim(),
            };
            try {
                settings = await api.put('/v1/messaging/settings', body);
                showProblem(alert, null, fields);
                notify(t('msg.settings.saved'));
                drawSenders();
                drawChannels();
                drawForm();
            } catch (error) {
                showProblem(alert, error, fields);
            }
        }
        mount(formArea, h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'messaging-settings' } },
            section(t('msg.settings.what'), null, kindsField),
            section(t('msg.settings.when'), null, offsetsField, h('div', { class: 'form-row' }, lead, threshold), h('div', { class: 'form-row' }, reviewDelay, reviewExpiry)),
            section(t('msg.settings.how'), null, order, bot, unsubscribe),
            alert,
            h('div', { class: 'actions' }, button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-messaging' } }))));
    }

    load();
    return () => { alive = false; };
}

// --- templates -------------------------------------------------------------------------------------

export function renderTemplates(container, query = {}) {
    let alive = true;
    let templates = [];
    let variables = [];
    const choice = {
        kind: KINDS.includes(query.kind) ? query.kind : 'reminder',
        channel: CHANNELS.includes(query.channel) ? query.channel : 'sms',
        language: LANGUAGE_CODES.includes(query.language) ? query.language : currentLanguage(),
    };
    const pickers = h('div', { class: 'toolbar template-pickers' });
    const editor = h('div', null, h('p', { class: 'muted' }, t('loading')));
    mount(container, section(t('msg.templates.title'), null, h('p', { class: 'hint' }, t('msg.templates.intro')), pickers, editor));

    function picker(label, name, options) {
        const wrapper = field({ label, name, value: choice[name], options, onchange: (event) => { choice[name] = event.target.value; drawEditor(); } });
        wrapper.control.dataset.testid = `template-${name}`;
        return wrapper;
    }
    function drawPickers() {
        mount(pickers,
            picker(t('msg.templates.kind'), 'kind', KINDS.map((k) => [k, kindName(k)])),
            picker(t('msg.templates.channel'), 'channel', CHANNELS.map((c) => [c, channelName(c)])),
            picker(t('msg.templates.language'), 'language', LANGUAGE_CODES.map((l) => [l, languageName(l)])));
    }

    async function load() {
        let loaded;
        try {
            loaded = await api.get('/v1/messaging/templates');
        } catch (error) {
            if (alive) mount(editor, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        templates = loaded.items || [];
        variables = loaded.variables || [];
        drawPickers();
        drawEditor();
    }

    let stopPreview = () => {};
    function drawEditor() {
        stopPreview();
        const template = templates.find((x) => x.kind === choice.kind && x.channel === choice.channel && x.language === choice.language)
            || { ...choice, subject: '', body: '', provider_template: '', provider_parameters: [], customised: false };
        const alert = alertBox();
        const email = choice.channel === 'email';
        const whatsapp = choice.channel === 'whatsapp';
        const subject = email ? field({ label: t('msg.templates.subject'), name: 'subject', value: template.subject, maxlength: 300 }) : null;
        const body = field({ label: t('msg.templates.body'), name: 'body', type: 'textarea', rows: 6, value: template.body, maxlength: 5000 });
        body.control.dataset.testid = 'template-body';
        if (subject) subject.control.dataset.testid = 'template-subject';
        const providerTemplate = whatsapp ? field({ label: t('msg.templates.provider_template'), name: 'provider_template', value: template.provider_template, maxlength: 512, hint: t('msg.templates.provider_template_hint') }) : null;
        const providerParameters = whatsapp ? field({ label: t('msg.templates.provider_parameters'), name: 'provider_parameters', value: (template.provider_parameters || []).join(', '), maxlength: 1000, hint: t('msg.templates.provider_parameters_hint') }) : null;
        const fields = { subject, body, provider_template: providerTemplate, provider_parameters: providerParameters };
        const present = Object.fromEntries(Object.entries(fields).filter(([, v]) => v));

        // Where a variable goes: the text field last typed in (the body at first).
        let target = body.control;
        for (const wrapper of Object.values(present)) if (wrapper === subject || wrapper === body) wrapper.control.addEventListener('focus', () => { target = wrapper.control; });
        const chips = h('div', { class: 'variable-chips', role: 'group', 'aria-label': t('msg.templates.variables') },
            variables.map((name) => h('button', { type: 'button', class: 'btn small chip', dataset: { testid: 'variable', name },
                'aria-label': t('msg.templates.insert', { name }),
                onclick: () => {
                    const control = target;
                    const at = control.selectionStart ?? control.value.length;
                    const end = control.selectionEnd ?? at;
                    control.value = `${control.value.slice(0, at)}{${name}}${control.value.slice(end)}`;
                    control.focus();
                    control.setSelectionRange(at + name.length + 2, at + name.length + 2);
                    schedulePreview();
                },
            }, `{${name}}`)));

        const preview = h('div', { class: 'template-preview', 'aria-live': 'polite', dataset: { testid: 'template-preview' } }, h('p', { class: 'muted' }, t('loading')));
        let sequence = 0;
        let timer = null;
        let stopped = false;
        stopPreview = () => { stopped = true; clearTimeout(timer); };
        function current() {
            return {
                subject: subject ? subject.control.value : '',
                body: body.control.value,
                provider_template: providerTemplate ? providerTemplate.control.value.trim() : '',
                provider_parameters: providerParameters ? providerParameters.control.value.split(/[,\s]+/).map((p) => p.trim().replace(/^\{|\}$/g, '')).filter(Boolean) : [],
            };
        }
        async function runPreview() {
            const mine = ++sequence;
            const value = current();
            try {
                const rendered = await api.post('/v1/messaging/templates/preview',
                    { kind: choice.kind, channel: choice.channel, language: choice.language, subject: value.subject, body: value.body, appointment: null },
                    { idempotent: false });
                if (stopped || mine !== sequence) return;
                for (const wrapper of Object.values(present)) wrapper.setError('');
                mount(preview,
                    h('p', { class: 'hint' }, t('msg.templates.preview_sample')),
                    rendered.subject ? h('p', null, h('strong', { dataset: { testid: 'preview-subject' } }, rendered.subject)) : null,
                    h('p', { class: 'pre preview-text', dataset: { testid: 'preview-text' } }, rendered.text));
            } catch (error) {
                if (stopped || mine !== sequence) return;
                showProblem(null, error, present);
                mount(preview, h('p', { class: 'muted', dataset: { testid: 'preview-refused' } }, error.kind === 'invalid_template' ? t('msg.templates.preview_waits') : problemText(error)));
            }
        }
        function schedulePreview() { clearTimeout(timer); timer = setTimeout(runPreview, 300); }
        for (const wrapper of [subject, body]) if (wrapper) wrapper.control.addEventListener('input', schedulePreview);

        async function save(event) {
            event.preventDefault();
            try {
                const saved = await api.put(`/v1/messaging/templates/${choice.kind}/${choice.channel}/${choice.language}`, current());
                templates = templates.filter((x) => !(x.kind === saved.kind && x.channel === saved.channel && x.language === saved.language)).concat([saved]);
                notify(t('msg.templates.saved'));
                drawEditor();
            } catch (error) {
                showProblem(alert, error, present);
                const invalid = editor.querySelector('[aria-invalid="true"]');
                if (invalid) invalid.focus();
            }
        }
        function reset() {
            confirmDialog(t('msg.templates.reset_title'), t('msg.templates.reset_text'), t('msg.templates.reset'), async () => {
                await api.delete(`/v1/messaging/templates/${choice.kind}/${choice.channel}/${choice.language}`);
                notify(t('msg.templates.reset_done'));
                await load();
            });
        }

        mount(editor, h('form', { novalidate: true, onsubmit: save, class: 'template-editor', dataset: { testid: 'template-editor' } },
            h('p', { dataset: { testid: 'template-origin' } }, h('span', { class: ['badge', template.customised ? 'msg-custom' : 'msg-builtin'] },
                t(template.customised ? 'msg.templates.customised' : 'msg.templates.builtin'))),
            h('div', { class: 'template-grid' },
                h('div', null, subject, body,
                    h('p', { class: 'hint' }, t('msg.templates.variables_hint')), chips,
                    providerTemplate, providerParameters),
                h('div', null, h('h3', null, t('msg.templates.preview')), preview)),
            alert,
            h('div', { class: 'actions' },
                button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-template' } }),
                template.customised ? button(t('msg.templates.reset'), reset, { kind: 'danger', dataset: { testid: 'reset-template' } }) : null)));
        runPreview();
    }

    load();
    return () => { alive = false; stopPreview(); };
}
