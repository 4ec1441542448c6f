// The Kaspi QR shown large (a dynamic QR through the relay, docs/kaspi.md): `qr.token` drawn as a
// QR code (Debian's node-qrcode-generator, as SVG built node by node: no markup strings), its
// live status (GET /v1/payments/{id} every `qr.poll_interval_seconds`, and at once on a `payment`
// live event), a countdown to `qr.expires_at`, cancel (POST /v1/payments/{id}/cancel), and what
// to do when it is paid, failed, expired, cancelled or when the gateway could not be reached (`qr`
// null, `qr_error`): the static QR or cash. Before the box has the QR (it asks the gateway outside
// the request) it says it is asking; it polls from the start, so it does not hang on a missed event.
import qrcode from 'qrcode-generator';
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { on } from '../store.js';
import { openDialog, button, alertBox, showProblem } from '../ui.js';
import { money, countdown, paymentBadge } from '../money.js';

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG of a QR code for `text` (error correction M, quiet zone of 4 modules). */
export function qrSvg(text, label) {
    const code = qrcode(0, 'M');
    code.addData(text);
    code.make();
    const count = code.getModuleCount();
    const size = count + 8;
    let path = '';
    for (let row = 0; row < count; row += 1) {
        for (let column = 0; column < count; column += 1) if (code.isDark(row, column)) path += `M${column + 4} ${row + 4}h1v1h-1z`;
    }
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    svg.setAttribute('class', 'qr');
    svg.setAttribute('shape-rendering', 'crispEdges');
    const background = document.createElementNS(SVG, 'rect');
    background.setAttribute('width', String(size)); background.setAttribute('height', String(size)); background.setAttribute('fill', '#fff');
    const modules = document.createElementNS(SVG, 'path');
    modules.setAttribute('d', path); modules.setAttribute('fill', '#000');
    svg.append(background, modules);
    svg.dataset.testid = 'kaspi-qr';
    svg.dataset.token = text;
    return svg;
}

/**
 * Opens the QR of a `kaspi_qr` payment. `options`: {onSettled(payment), onFallback(method)} —
 * the fallback offers `kaspi_static` or `cash` for the same amount.
 */
export function openKaspi(initial, options = {}) {
    let payment = initial;
    let pollTimer = null;
    let stopCountdown = null;
    let reachable = true;
    let finished = false;
    let cancelled = false;       // the desk gave up: the QR is no longer shown (Kaspi may still settle it)
    openDialog(t('money.kaspi.title'), (handle) => {
        const area = h('div', { class: 'kaspi', dataset: { testid: 'kaspi' } });
        const status = h('p', { class: 'kaspi-status', role: 'status', 'aria-live': 'polite', dataset: { testid: 'kaspi-status' } });
        const alert = alertBox();

        function expired() {
            return payment.qr && payment.status === 'pending' && new Date(payment.qr.expires_at).getTime() <= Date.now();
        }
        // Another method instead: a QR still pending (not made yet, or shown) is given up first, so
        // that it no longer holds back the amount.
        async function instead(method) {
            if (payment.status === 'pending' && !cancelled) {
                try {
                    payment = await api.post(`/v1/payments/${payment.id}/cancel`, {});
                    cancelled = true;
                } catch (error) {
                    if (error.kind !== 'illegal_transition') { showProblem(alert, error); return; }
                }
            }
            handle.close();
            if (options.onFallback) options.onFallback(method);
        }
        function fallback() {
            return h('div', { class: 'actions' },
                button(t('money.kaspi.use_static'), () => instead('kaspi_static'), { dataset: { testid: 'fallback-static' } }),
                button(t('money.kaspi.use_cash'), () => instead('cash'), { dataset: { testid: 'fallback-cash' } }));
        }
        function draw() {
            if (stopCountdown) { stopCountdown(); stopCountdown = null; }
            const amount = h('p', { class: 'kaspi-amount' }, money(payment.amount_minor, payment.currency));
            if (payment.status === 'pending' && !payment.qr && payment.qr_error) {
                status.textContent = t('money.kaspi.unreachable');
                mount(area, amount, h('p', { class: 'alert', role: 'alert', dataset: { testid: 'kaspi-unreachable' } }, t('money.kaspi.unreachable_hint')), fallback());
                return;
            }
            if (payment.status === 'pending' && !payment.qr && !cancelled) {
                // Just taken: the box asks the gateway for the QR outside the request.
                status.textContent = t('money.kaspi.making');
                mount(area, amount);
                return;
            }
            if (payment.status === 'settled') {
                status.textContent = t('money.kaspi.paid');
                mount(area, amount, paymentBadge('settled'), h('div', { class: 'actions' }, button(t('close'), () => handle.close(), { kind: 'primary' })));
                stop();
                if (!finished) { finished = true; if (options.onSettled) options.onSettled(payment); }
                return;
            }
            if (payment.status === 'failed' || payment.status === 'voided' || expired()) {
                status.textContent = expired() ? t('money.kaspi.expired') : t('money.kaspi.failed');
                mount(area, amount, paymentBadge(expired() ? 'failed' : payment.status), h('p', null, t('money.kaspi.try_other')), fallback());
                stop();
                return;
            }
            if (cancelled) {
                status.textContent = t('money.kaspi.cancelled');
                mount(area, amount, fallback());
                return;
            }
            status.textContent = reachable ? t('money.kaspi.waiting') : t('money.kaspi.box_unreachable');
            const left = h('p', { class: 'countdown', dataset: { testid: 'kaspi-countdown' } });
            stopCountdown = countdown(left, payment.qr.expires_at, { onExpire: () => draw() });
            mount(area, amount, qrSvg(payment.qr.token, t('money.kaspi.qr_label', { amount: money(payment.amount_minor, payment.currency) })), left,
                h('p', { class: 'hint' }, t('money.kaspi.scan')),
                h('div', { class: 'actions' }, button(t('money.kaspi.cancel'), cancel, { kind: 'danger', dataset: { testid: 'kaspi-cancel' } })));
        }
        async function refresh() {
            try {
                payment = await api.get(`/v1/payments/${payment.id}`);
                reachable = true;
            } catch (error) {
                reachable = error.kind !== 'offline' ? reachable : false;
                if (error.kind !== 'offline') showProblem(alert, error);
            }
            draw();
        }
        async function cancel() {
            try {
                payment = await api.post(`/v1/payments/${payment.id}/cancel`, {});
                cancelled = true;
                showProblem(alert, null);
                draw();
            } catch (error) {
                showProblem(alert, error);
                if (error.kind === 'illegal_transition') refresh();
            }
        }
        function stop() { clearTimeout(pollTimer); pollTimer = null; }
        // While pending (also before the QR is made, and after a cancel: the client may pay after
        // all) the status is asked again at Kaspi's interval (2 s until there is one).
        function schedule() {
            if (payment.status !== 'pending' || closed) return;
            pollTimer = setTimeout(async () => { await refresh(); schedule(); }, Math.max(1, Number(payment.qr && payment.qr.poll_interval_seconds) || 2) * 1000);
        }
        let closed = false;
        schedule();
        // The event names its row only (the payment, or one of its later states): any payment event refreshes.
        const off = on('event:payment', () => { if (payment.status === 'pending') refresh(); });
        handle.dialog.addEventListener('close', () => { closed = true; off(); stop(); if (stopCountdown) stopCountdown(); });
        draw();
        return h('div', null, status, area, alert);
    }, { wide: false });
}

