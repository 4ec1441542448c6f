// Pieces shared by the messaging screens (outbox, an appointment's messages, messaging settings,
// templates, a client's channels): the names of kinds, channels, states and reasons
// (docs/messaging.md), a message's badge and list item, and the channel-order editor.
import { h, mount, uid } from '../dom.js';
import { t, has, formatDateTime } from '../i18n.js';

export const KINDS = ['confirmation', 'change', 'cancellation', 'reminder', 'waitlist_offer', 'review_request', 'receipt'];
export const CHANNELS = ['telegram', 'whatsapp', 'sms', 'email'];
export const LANGUAGE_CODES = ['ru', 'kk', 'en'];
/** States that did not reach the client, with a reason. */
export const UNSENT = ['failed', 'skipped', 'expired'];

export function kindName(kind) { return has(`msg.kind.${kind}`) ? t(`msg.kind.${kind}`) : kind; }
export function channelName(channel) { return has(`msg.channel.${channel}`) ? t(`msg.channel.${channel}`) : channel; }
export function languageName(code) { return has(`msg.language.${code}`) ? t(`msg.language.${code}`) : code; }

/** A message's state as a coloured badge. */
export function messageBadge(state) {
    return h('span', { class: ['badge', `msg-${state}`], dataset: { testid: 'message-state' } }, has(`msg.state.${state}`) ? t(`msg.state.${state}`) : state);
}

/**
 * The reason of a failed, skipped or expired message in the person's language. Reasons that carry
 * the provider's words (`rejected: …`, `outcome_unknown: …`) keep them after the translated part.
 */
export function reasonText(reason) {
    if (!reason) return '';
    const at = reason.indexOf(':');
    const code = at < 0 ? reason : reason.slice(0, at);
    const detail = at < 0 ? '' : reason.slice(at + 1).trim();
    const text = has(`msg.reason.${code}`) ? t(`msg.reason.${code}`) : code;
    return detail ? `${text} (${detail})` : text;
}

/** When the message went (its first `sent`, `delivered` or `read` event), or null. */
export function sentAt(message) {
    // A provider that reports delivery at once records `delivered` without a `sent` before it.
    const sent = (message.events || []).find((event) => ['sent', 'delivered', 'read'].includes(event.state));
    return sent ? sent.at : null;
}

/** The text sent (or to be sent) and the message's history, folded. */
export function messageDetails(message) {
    const events = message.events || [];
    return h('details', { class: 'message-details' },
        h('summary', null, t('msg.details')),
        message.subject ? h('p', null, h('strong', null, message.subject)) : null,
        message.text ? h('p', { class: 'pre message-text', dataset: { testid: 'message-text' } }, message.text) : h('p', { class: 'muted' }, t('msg.no_text')),
        events.length ? h('ol', { class: 'history-list' }, events.map((event) => h('li', null,
            h('span', { class: 'muted' }, formatDateTime(event.at)), ' ', has(`msg.state.${event.state}`) ? t(`msg.state.${event.state}`) : event.state,
            event.reason ? ` — ${reasonText(event.reason)}` : '',
            event.box ? h('span', { class: 'muted' }, ` · ${t('msg.box', { box: event.box })}`) : null))) : null);
}

/**
 * One message as a list item: state, kind, channel, masked recipient, the reason when it was not
 * sent, when it is due or went, attempts, and its text and history folded. `extra`: more content
 * (a client link), `actions`: buttons at its right.
 */
export function messageItem(message, extra = null, actions = null) {
    const went = sentAt(message);
    const facts = [
        went ? t('msg.sent_at', { at: formatDateTime(went) }) : t('msg.due_at', { at: formatDateTime(message.due_at) }),
        message.attempts ? t('msg.attempts', { count: message.attempts }) : null,
        message.provider ? t('msg.via', { provider: message.provider }) : null,
    ].filter(Boolean);
    return h('li', { class: ['item', 'message-item', UNSENT.includes(message.state) && 'unsent'], dataset: { testid: 'message', id: message.id, state: message.state, kind: message.kind } },
        h('div', { class: 'item-main' },
            h('div', { class: 'message-line' }, messageBadge(message.state), ' ', h('strong', null, kindName(message.kind)),
                message.channel ? ` · ${channelName(message.channel)}` : null,
                message.recipient ? h('span', { class: 'muted' }, ` · ${message.recipient}`) : null),
            message.reason ? h('p', { class: 'message-reason', dataset: { testid: 'message-reason' } }, reasonText(message.reason)) : null,
            h('p', { class: 'hint' }, facts.join(' · '), extra),
            messageDetails(message)),
        actions ? h('div', { class: 'actions tight' }, actions) : null);
}

/** A rating as stars with its number for screen readers: ★★★★☆. */
export function ratingStars(rating) {
    const value = Math.max(0, Math.min(5, Number(rating) || 0));
    return h('span', { class: 'stars', role: 'img', 'aria-label': t('msg.rating', { rating: value }), dataset: { testid: 'review-rating' } },
        '★'.repeat(value) + '☆'.repeat(5 - value));
}

/**
 * An ordered list of the four channels: each used or not (a checkbox) and moved up or down
 * (buttons, keyboard-usable). `read()` gives the used channels in order.
 */
export function channelOrderEditor(legend, order, hint) {
    let items = [...(order || []).filter((c) => CHANNELS.includes(c)), ...CHANNELS.filter((c) => !(order || []).includes(c))]
        .map((channel) => ({ channel, used: (order || []).includes(channel) }));
    const list = h('ol', { class: 'channel-order' });
    const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
    const element = h('fieldset', { class: 'plain-fieldset channel-order-field', dataset: { testid: 'channel-order' } }, h('legend', null, legend),
        hint ? h('p', { class: 'hint' }, hint) : null, list, error);
    function move(index, by, focusClass) {
        const target = index + by;
        if (target < 0 || target >= items.length) return;
        [items[index], items[target]] = [items[target], items[index]];
        draw();
        const button = list.children[target] && list.children[target].querySelector(`.${focusClass}`);
        if (button && !button.disabled) button.focus();
        else if (list.children[target]) list.children[target].querySelector('input').focus();
    }
    function draw() {
        mount(list, items.map((item, index) => {
            const id = uid('channel');
            const box = h('input', { id, type: 'checkbox', checked: item.used, onchange: (event) => { item.used = event.target.checked; } });
            const name = channelName(item.channel);
            return h('li', { class: 'channel-order-item', dataset: { testid: 'channel-order-item', channel: item.channel } },
                h('label', { for: id, class: 'check-label' }, box, h('span', null, `${index + 1}. ${name}`)),
                h('span', { class: 'order-buttons' },
                    h('button', { type: 'button', class: 'btn ghost up', disabled: index === 0, 'aria-label': t('msg.move_up', { name }), onclick: () => move(index, -1, 'up') }, '↑'),
                    h('button', { type: 'button', class: 'btn ghost down', disabled: index === items.length - 1, 'aria-label': t('msg.move_down', { name }), onclick: () => move(index, 1, 'down') }, '↓')));
        }));
    }
    draw();
    element.read = () => items.filter((item) => item.used).map((item) => item.channel);
    element.setError = (message) => { error.textContent = message || ''; error.hidden = !message; };
    return element;
}
