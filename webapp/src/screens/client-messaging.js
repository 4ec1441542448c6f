// A client's messaging, a section of their profile (messages.read; changes: messages.send;
// docs/messaging.md): the language messages are written in, the channel order and the kinds the
// client does not want (PUT /v1/clients/{id}/messaging), each channel's masked address, whether it
// can be used and the consents it holds; consent given or withdrawn with how it was given (POST
// /v1/clients/{id}/consents) and its history; linking Telegram by a one-time link shown as a QR
// (POST /v1/clients/{id}/telegram-link) and unlinking it (DELETE /v1/clients/{id}/telegram).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime } from '../i18n.js';
import { can, on } from '../store.js';
import { button, field, alertBox, showProblem, problemText, openDialog, notify } from '../ui.js';
import { section, confirmDialog, checkboxField } from './manage-common.js';
import { qrSvg } from './kaspi.js';
import { KINDS, CHANNELS, LANGUAGE_CODES, kindName, channelName, languageName, channelOrderEditor } from './messaging-common.js';

const SOURCES = ['in_person', 'phone', 'web', 'telegram', 'written'];

/** Returns {element, stop}: the section, and what ends its live updates. */
export function clientMessaging(clientID) {
    let alive = true;
    let doc = null;
    const alert = alertBox();
    const body = h('div', null, h('p', { class: 'muted' }, t('loading')));
    const element = h('div', { dataset: { testid: 'client-messaging' } });
    const yesNo = (value) => t(value ? 'msg.yes' : 'msg.no');

    async function load() {
        try {
            doc = await api.get(`/v1/clients/${clientID}/messaging`);
        } catch (error) {
            if (alive) mount(body, h('p', { class: 'muted' }, problemText(error)));
            return;
        }
        if (alive) draw();
    }

    function draw() {
        const mayChange = can('messages.send');
        const telegram = doc.telegram || {};
        // A list, not a table: it fits the profile's narrow column without scrolling sideways.
        const rows = (doc.channels || []).map((c) => h('li', { class: 'client-channel', dataset: { testid: 'client-channel', channel: c.channel, usable: String(Boolean(c.usable)) } },
            h('strong', null, channelName(c.channel)), ' ', h('span', { dataset: { testid: 'channel-address' } }, c.address || '—'),
            c.channel === 'telegram' && telegram.linked ? h('div', { class: 'hint' }, t('msg.client.telegram_linked', { name: telegram.name || '', at: telegram.linked_at ? formatDateTime(telegram.linked_at) : '' })) : null,
            h('div', { class: 'hint' },
                `${t('msg.col.usable')}: `, h('span', { dataset: { testid: 'channel-usable' } }, yesNo(c.usable)), ' · ',
                `${t('msg.col.transactional')}: `, h('span', { dataset: { testid: 'consent-transactional' } }, yesNo(c.transactional)), ' · ',
                `${t('msg.col.marketing')}: `, h('span', { dataset: { testid: 'consent-marketing' } }, yesNo(c.marketing)))));
        const order = (doc.channel_order || []).length ? doc.channel_order.map(channelName).join(' → ') : t('msg.client.business_order');
        const off = (doc.kinds_off || []).length ? doc.kinds_off.map(kindName).join(', ') : t('msg.client.none_off');
        const consents = [...(doc.consents || [])].sort((a, b) => String(b.at).localeCompare(String(a.at)));
        mount(body,
            h('dl', { class: 'facts' },
                h('dt', null, t('msg.client.language')), h('dd', { dataset: { testid: 'client-language' } }, doc.language ? languageName(doc.language) : t('msg.client.branch_language')),
                h('dt', null, t('msg.client.order')), h('dd', null, order),
                h('dt', null, t('msg.client.kinds_off')), h('dd', null, off)),
            h('h3', null, t('msg.client.channels')),
            h('ul', { class: 'plain client-channels' }, rows),
            mayChange ? h('div', { class: 'actions' }, telegram.linked ? button(t('msg.client.unlink'), unlink, { dataset: { testid: 'telegram-unlink' } })
                : button(t('msg.client.link_telegram'), linkTelegram, { dataset: { testid: 'telegram-link' } })) : null,
            h('p', null, h('a', { href: `#/messages?filter=all&client=${clientID}`, dataset: { testid: 'client-outbox' } }, t('msg.client.outbox'))),
            h('h3', null, t('msg.client.consents')),
            consents.length ? h('ul', { class: 'plain consent-list', dataset: { testid: 'consents' } }, consents.map((c) => h('li', { dataset: { testid: 'consent' } },
                h('strong', null, t(c.granted ? 'msg.consent.given' : 'msg.consent.withdrawn')), ' — ',
                `${channelName(c.channel)}, ${t(`msg.purpose.${c.purpose}`)}, ${t(`msg.source.${c.source}`)}`,
                h('span', { class: 'muted' }, ` · ${formatDateTime(c.at)}${c.actor ? ` · ${c.actor}` : ''}`),
                c.note ? h('div', { class: 'hint' }, c.note) : null))) : h('p', { class: 'muted' }, t('msg.client.no_consents')));
    }

    function linkTelegram() {
        return (async () => {
            let link;
            try {
                link = await api.post(`/v1/clients/${clientID}/telegram-link`, {});
                showProblem(alert, null);
            } catch (error) {
                showProblem(alert, error);
                return;
            }
            openDialog(t('msg.client.telegram_title'), (handle) => {
                const qr = qrSvg(link.url, t('msg.client.telegram_qr'));
                qr.dataset.testid = 'telegram-qr';
                return h('div', { class: 'feed-url', dataset: { testid: 'telegram-link-dialog' } },
                    h('p', null, t('msg.client.telegram_scan')),
                    h('div', { class: 'qr-box' }, qr),
                    h('p', null, h('a', { href: link.url, target: '_blank', rel: 'noopener noreferrer', dataset: { testid: 'telegram-url' } }, link.url)),
                    link.expires_at ? h('p', { class: 'hint' }, t('msg.client.telegram_expires', { at: formatDateTime(link.expires_at) })) : null,
                    h('div', { class: 'actions' }, button(t('close'), () => handle.close())));
            });
        })();
    }

    function unlink() {
        confirmDialog(t('msg.client.unlink_title'), t('msg.client.unlink_text'), t('msg.client.unlink'), async () => {
            await api.delete(`/v1/clients/${clientID}/telegram`);
            notify(t('msg.client.unlinked'));
            load();
        });
    }

    function recordConsent() {
        openDialog(t('msg.consent.title'), (handle) => {
            const formAlert = alertBox();
            const channel = field({ label: t('msg.col.channel'), name: 'channel', value: 'sms', options: CHANNELS.map((c) => [c, channelName(c)]) });
            const purpose = field({ label: t('msg.consent.purpose'), name: 'purpose', value: 'marketing', options: ['transactional', 'marketing'].map((p) => [p, t(`msg.purpose.${p}`)]) });
            const granted = field({ label: t('msg.consent.decision'), name: 'granted', value: 'true', options: [['true', t('msg.consent.given')], ['false', t('msg.consent.withdrawn')]] });
            const source = field({ label: t('msg.consent.source'), name: 'source', value: 'in_person', options: SOURCES.map((s) => [s, t(`msg.source.${s}`)]) });
            const note = field({ label: t('msg.consent.note'), name: 'note', maxlength: 500 });
            const fields = { channel, purpose, granted, source, note };
            for (const [name, wrapper] of Object.entries(fields)) wrapper.control.dataset.testid = `consent-${name}`;
            async function save(event) {
                event.preventDefault();
                try {
                    doc = await api.post(`/v1/clients/${clientID}/consents`, {
                        channel: channel.control.value, purpose: purpose.control.value, granted: granted.control.value === 'true',
                        source: source.control.value, note: note.control.value.trim(),
                    });
                    handle.close();
                    notify(t('msg.consent.recorded'));
                    draw();
                } catch (error) {
                    showProblem(formAlert, error, fields);
                }
            }
            return h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'consent-form' } },
                h('div', { class: 'form-row' }, channel, purpose), h('div', { class: 'form-row' }, granted, source), note, formAlert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('msg.consent.record'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-consent' } })));
        });
    }

    function editPreferences() {
        openDialog(t('msg.client.preferences_title'), (handle) => {
            const formAlert = alertBox();
            const language = field({ label: t('msg.client.language'), name: 'language', value: doc.language || '',
                options: [['', t('msg.client.branch_language')], ...LANGUAGE_CODES.map((code) => [code, languageName(code)])] });
            language.control.dataset.testid = 'client-language-select';
            const ownOrder = (doc.channel_order || []).length > 0;
            const useBusiness = checkboxField(t('msg.client.use_business_order'), !ownOrder, 'business-order');
            const order = channelOrderEditor(t('msg.client.order'), ownOrder ? doc.channel_order : [...CHANNELS]);
            order.hidden = !ownOrder;
            useBusiness.control.addEventListener('change', () => { order.hidden = useBusiness.control.checked; });
            const kinds = Object.fromEntries(KINDS.map((kind) => [kind, checkboxField(kindName(kind), (doc.kinds_off || []).includes(kind), `off-${kind}`)]));
            const kindsField = h('fieldset', { class: 'plain-fieldset checks-grid' }, h('legend', null, t('msg.client.kinds_off_legend')), Object.values(kinds));
            kindsField.setError = () => {};
            const fields = { language, channel_order: order, kinds_off: kindsField };
            async function save(event) {
                event.preventDefault();
                const channelOrder = useBusiness.control.checked ? [] : order.read();
                if (!useBusiness.control.checked && !channelOrder.length) { order.setError(t('msg.settings.order_empty')); return; }
                try {
                    doc = await api.put(`/v1/clients/${clientID}/messaging`, {
                        language: language.control.value, channel_order: channelOrder,
                        kinds_off: KINDS.filter((kind) => kinds[kind].control.checked),
                    });
                    handle.close();
                    notify(t('msg.client.saved'));
                    draw();
                } catch (error) {
                    showProblem(formAlert, error, fields);
                }
            }
            return h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'client-messaging-form' } },
                language, useBusiness, order, kindsField, formAlert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-client-messaging' } })));
        }, { wide: true });
    }

    mount(element, section(t('msg.client.title'), can('messages.send') ? h('div', { class: 'actions tight' },
        button(t('msg.client.preferences'), () => { if (doc) editPreferences(); }, { dataset: { testid: 'client-messaging-edit' } }),
        button(t('msg.consent.title'), () => { if (doc) recordConsent(); }, { dataset: { testid: 'record-consent' } })) : null,
    alert, body));

    let timer = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(load, 150); };
    const offs = [
        // A chat linked through the bot, a consent recorded on another tablet, a merge.
        on('event:client', (event) => { if (!event || !event.id || event.id === clientID) later(); }),
        on('event:message', later),
    ];
    load();
    return { element, stop: () => { alive = false; clearTimeout(timer); offs.forEach((off) => off()); } };
}
