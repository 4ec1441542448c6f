// The lock screen of a shared tablet: pick yourself, type your PIN (POST /v1/sessions with the
// session as an HttpOnly cookie). Locking ends the person's session on the box.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { button, alertBox, showProblem } from '../ui.js';
import { languagePicker } from '../shell.js';

export async function renderLock(container, onUnlocked, options = {}) {
    let people = [];
    try {
        const result = await api.get('/v1/sessions/people');
        people = result.items || [];
    } catch (error) {
        people = [];
    }
    let chosen = people.length === 1 ? people[0] : null;
    const alert = alertBox();
    const pin = h('input', {
        id: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: 8, pattern: '[0-9]*',
        'aria-label': t('lock.pin'), class: 'pin-input',
    });

    async function signIn(event) {
        if (event) event.preventDefault();
        if (!chosen) { showProblem(alert, { kind: 'choose_person', detail: t('lock.choose_first') }); return; }
        if (!/^\d{4,8}$/.test(pin.value)) { showProblem(alert, { kind: 'pin_format', detail: t('lock.pin_format') }); return; }
        try {
            await api.post('/v1/sessions', { person: chosen.id, pin: pin.value, credential: 'cookie' }, { idempotent: false, pinAttempt: true });
            pin.value = '';
            onUnlocked();
        } catch (error) {
            pin.value = '';
            showProblem(alert, error.kind === 'unauthenticated' ? { ...error, kind: 'wrong_pin' } : error);
            pin.focus();
        }
    }

    const keypad = h('div', { class: 'keypad', role: 'group', 'aria-label': t('lock.keypad') },
        ...['1', '2', '3', '4', '5', '6', '7', '8', '9', '⌫', '0', '✓'].map((key) => button(key, () => {
            if (key === '⌫') pin.value = pin.value.slice(0, -1);
            else if (key === '✓') return signIn();
            else if (pin.value.length < 8) pin.value += key;
            pin.focus();
        }, { kind: key === '✓' ? 'primary' : 'secondary', ariaLabel: key === '⌫' ? t('lock.erase') : key === '✓' ? t('lock.sign_in') : key })));

    function draw() {
        mount(container, h('main', { class: 'center-screen', id: 'main' },
            h('section', { class: 'card lock' },
                h('h1', null, t('lock.title')),
                options.reason ? h('p', { class: 'muted' }, options.reason) : null,
                languagePicker(() => renderLock(container, onUnlocked, options)),
                people.length === 0 ? h('p', null, t('lock.no_people')) : h('div', { class: 'people', role: 'radiogroup', 'aria-label': t('lock.who') },
                    ...people.map((person) => h('button', {
                        type: 'button', role: 'radio', class: ['person', chosen && chosen.id === person.id && 'chosen'],
                        'aria-checked': String(Boolean(chosen && chosen.id === person.id)),
                        onclick: () => { chosen = person; draw(); pin.focus(); },
                    }, h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(person.name)), h('span', null, person.name)))),
                h('form', { onsubmit: signIn, class: 'pin-form' }, pin, alert, keypad),
                options.canContinue ? button(t('lock.continue_as_device'), () => onUnlocked(), { kind: 'ghost' }) : null)));
        if (chosen) pin.focus();
    }
    draw();
}

function initials(name) {
    return name.split(/\s+/).filter(Boolean).slice(0, 2).map((part) => part[0].toUpperCase()).join('');
}
