// A new tablet asks to pair (POST /v1/pairing-requests), shows its six-digit code and waits while
// an owner or manager approves it (`edgenode pair <code>` on the box, or Devices in the app on
// their own device); the claim sets the device's HttpOnly cookie.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { button, field, alertBox, showProblem } from '../ui.js';
import { languagePicker } from '../shell.js';

export function renderPairing(container, onPaired) {
    let timer = null;
    const stop = () => clearTimeout(timer);
    const alert = alertBox();
    const name = field({ label: t('pairing.device_name'), name: 'device_name', value: t('pairing.default_name'), maxlength: 100, required: true });

    async function ask() {
        showProblem(alert, null, { device_name: name });
        const deviceName = name.control.value.trim();
        if (!deviceName) { name.setError(t('validation.required')); return; }
        try {
            const created = await api.post('/v1/pairing-requests', { device_name: deviceName });
            waiting(created);
        } catch (error) {
            showProblem(alert, error, { device_name: name });
        }
    }

    function waiting(created) {
        const codeAlert = alertBox();
        const status = h('p', { class: 'muted', role: 'status' }, t('pairing.waiting'));
        mount(container, h('main', { class: 'center-screen', id: 'main' },
            h('section', { class: 'card narrow pairing' },
                h('h1', null, t('pairing.title')),
                h('p', null, t('pairing.show_code')),
                h('p', { class: 'pairing-code', 'aria-label': t('pairing.code_label'), dataset: { testid: 'pairing-code' } }, created.code.replace(/(\d{3})(\d{3})/, '$1 $2')),
                h('p', { class: 'hint' }, t('pairing.how_to_approve', { code: created.code })),
                status, codeAlert,
                button(t('pairing.start_over'), () => { stop(); renderPairing(container, onPaired); }, { kind: 'ghost' }))));
        const poll = async () => {
            try {
                const claimed = await api.post('/v1/pairing-requests/claim', { secret: created.secret, credential: 'cookie' }, { idempotent: false });
                if (claimed && claimed.status === 'paired') { stop(); onPaired(); return; }
            } catch (error) {
                if (error.kind === 'expired' || error.status === 401 || error.status === 404) {
                    status.textContent = error.kind === 'expired' ? t('pairing.expired') : t('pairing.rejected');
                    return;
                }
                showProblem(codeAlert, error);
            }
            timer = setTimeout(poll, 1500);
        };
        timer = setTimeout(poll, 1000);
    }

    mount(container, h('main', { class: 'center-screen', id: 'main' },
        h('section', { class: 'card narrow' },
            h('h1', null, t('pairing.welcome')),
            h('p', null, t('pairing.intro')),
            languagePicker(() => renderPairing(container, onPaired)),
            h('form', { onsubmit: (event) => { event.preventDefault(); ask(); } },
                name, alert, button(t('pairing.ask'), null, { kind: 'primary', type: 'submit' })))));
    return stop;
}
