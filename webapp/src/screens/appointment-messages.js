// An appointment's messages, in its details (messages.read): what was sent to the client, when, by
// which channel, with its state and the reason when it did not go (GET
// /v1/appointments/{id}/messages), and the client's reviews of the visit with rating and comment
// (GET /v1/appointments/{id}/reviews). Re-read on `message` events and on a change of the
// appointment (which plans its messages again).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime } from '../i18n.js';
import { on } from '../store.js';
import { emptyState, problemText } from '../ui.js';
import { messageItem, ratingStars, channelName } from './messaging-common.js';

/** Returns {element, stop}: the section, and what ends its live updates (the dialog's close). */
export function appointmentMessages(id) {
    const element = h('section', { class: 'appointment-messages', 'aria-label': t('msg.appointment.title'), dataset: { testid: 'appointment-messages' } },
        h('h3', null, t('msg.appointment.title')), h('p', { class: 'muted' }, t('loading')));
    let alive = true;
    let sequence = 0;
    async function load() {
        const mine = ++sequence;
        let messages;
        let reviews;
        try {
            [messages, reviews] = await Promise.all([
                api.get(`/v1/appointments/${id}/messages`).then((r) => r.items || []),
                api.get(`/v1/appointments/${id}/reviews`).then((r) => r.items || [], () => []),
            ]);
        } catch (error) {
            if (alive && mine === sequence) mount(element, h('h3', null, t('msg.appointment.title')), h('p', { class: 'muted' }, problemText(error)));
            return;
        }
        if (!alive || mine !== sequence) return;
        // Oldest first: the story of the visit as the client got it.
        messages.sort((a, b) => String(a.due_at).localeCompare(String(b.due_at)));
        mount(element,
            h('h3', null, t('msg.appointment.title')),
            messages.length ? h('ul', { class: 'list message-list' }, messages.map((message) => messageItem(message))) : emptyState(t('msg.appointment.none')),
            reviews.length ? [h('h3', null, t('msg.reviews.title')), h('ul', { class: 'list' }, reviews.map((review) => h('li', { class: 'item review', dataset: { testid: 'review' } },
                h('div', { class: 'item-main' },
                    ratingStars(review.rating),
                    review.comment ? h('p', { class: 'pre', dataset: { testid: 'review-comment' } }, review.comment) : null,
                    h('p', { class: 'hint' }, `${formatDateTime(review.at)} · ${channelName(review.channel)}`)))))] : null);
    }
    let timer = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(load, 150); };
    const offs = [
        on('event:message', later),
        on('event:appointment', (event) => { if (event && event.appointment && event.appointment.id === id) later(); }),
    ];
    load();
    return { element, load, stop: () => { alive = false; clearTimeout(timer); offs.forEach((off) => off()); } };
}
