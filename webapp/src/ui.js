// Shared controls: buttons, labelled fields with their error, dialogs, notices, problem texts.
// Touch-first (targets ≥ 44 px in app.css), labelled for screen readers, usable by keyboard.
import { h, uid } from './dom.js';
import { t, has } from './i18n.js';

/** A button; `onclick` may return a promise, during which the button is busy and disabled. */
export function button(label, onclick, options = {}) {
    const element = h('button', {
        type: options.type || 'button',
        class: ['btn', options.kind || 'secondary', options.class],
        disabled: options.disabled,
        'aria-label': options.ariaLabel,
        title: options.title,
        dataset: options.dataset,
    }, label);
    if (onclick) {
        element.addEventListener('click', async (event) => {
            if (element.getAttribute('aria-busy') === 'true') return;
            element.setAttribute('aria-busy', 'true');
            try { await onclick(event); } finally { element.removeAttribute('aria-busy'); }
        });
    }
    return element;
}

/**
 * A labelled input (or select/textarea) with the place for its error message.
 * `options`: {label, name, type, value, required, placeholder, options: [[value, text]], rows, autocomplete, inputmode}
 */
export function field(options) {
    const id = uid(options.name || 'field');
    const errorID = `${id}-error`;
    let control;
    const common = { id, name: options.name, required: options.required, 'aria-describedby': errorID, autocomplete: options.autocomplete || 'off' };
    if (options.options) {
        control = h('select', common, options.options.map(([value, text]) => h('option', { value, selected: String(value) === String(options.value ?? '') }, text)));
    } else if (options.type === 'textarea') {
        control = h('textarea', { ...common, rows: options.rows || 3, placeholder: options.placeholder, maxlength: options.maxlength }, options.value ?? '');
    } else {
        control = h('input', {
            ...common, type: options.type || 'text', value: options.value ?? '', placeholder: options.placeholder,
            inputmode: options.inputmode, maxlength: options.maxlength, min: options.min, max: options.max, step: options.step, pattern: options.pattern,
        });
    }
    if (options.oninput) control.addEventListener('input', options.oninput);
    if (options.onchange) control.addEventListener('change', options.onchange);
    const error = h('p', { id: errorID, class: 'field-error', role: 'alert', hidden: true });
    const wrapper = h('div', { class: ['field', options.class] }, h('label', { for: id }, options.label), control, options.hint ? h('p', { class: 'hint' }, options.hint) : null, error);
    wrapper.control = control;
    wrapper.setError = (message) => {
        error.textContent = message || '';
        error.hidden = !message;
        if (message) control.setAttribute('aria-invalid', 'true'); else control.removeAttribute('aria-invalid');
    };
    return wrapper;
}

/** The person's-language text of an API problem (its kind), with the box's detail kept for staff. */
export function problemText(error) {
    if (!error) return '';
    const key = `problem.${error.kind}`;
    if (has(key)) return t(key, { seconds: error.retryAfter ?? '' });
    if (error.status >= 500) return t('problem.server', { detail: error.detail });
    return error.detail || t('problem.unknown');
}

/**
 * Shows an API error on a form: each field error next to its field (fields keyed by the API's
 * field name), the rest in the form's alert. Nothing the person typed is cleared.
 */
export function showProblem(alertElement, error, fields = {}) {
    for (const wrapper of Object.values(fields)) wrapper && wrapper.setError && wrapper.setError('');
    const unplaced = [];
    for (const fieldError of (error && error.errors) || []) {
        const wrapper = fields[fieldError.field] || fields[fieldError.field.split(/[.[]/)[0]];
        if (wrapper) wrapper.setError(t('problem.field', { message: fieldError.message }));
        else unplaced.push(`${fieldError.field}: ${fieldError.message}`);
    }
    if (!alertElement) return;
    if (!error) { alertElement.hidden = true; alertElement.textContent = ''; return; }
    alertElement.hidden = false;
    alertElement.textContent = [problemText(error), ...unplaced].join(' ');
    alertElement.dataset.kind = error.kind;
}

export function alertBox() {
    return h('div', { class: 'alert', role: 'alert', hidden: true });
}

/** A modal dialog (native <dialog>: focus trap, Escape closes). Returns {dialog, body, close}. */
export function openDialog(title, build, options = {}) {
    const titleID = uid('dialog-title');
    const body = h('div', { class: 'dialog-body' });
    const closeButton = h('button', { type: 'button', class: 'btn ghost close', 'aria-label': t('close') }, '×');
    const dialog = h('dialog', { class: ['dialog', options.wide && 'wide'], 'aria-labelledby': titleID },
        h('header', { class: 'dialog-header' }, h('h2', { id: titleID }, title), closeButton), body);
    const close = () => {
        if (dialog.open) dialog.close();
    };
    closeButton.addEventListener('click', close);
    dialog.addEventListener('close', () => {
        dialog.remove();
        if (options.onclose) options.onclose();
    });
    document.body.appendChild(dialog);
    const handle = { dialog, body, close };
    const content = build(handle);
    if (content) body.appendChild(content);
    dialog.showModal();
    return handle;
}

/** A short notice at the bottom of the screen (announced to screen readers). */
export function notify(text, kind = 'info') {
    let region = document.getElementById('notices');
    if (!region) {
        region = h('div', { id: 'notices', class: 'notices', role: 'status', 'aria-live': 'polite' });
        document.body.appendChild(region);
    }
    const notice = h('div', { class: ['notice', kind] }, text);
    region.appendChild(notice);
    setTimeout(() => notice.remove(), 5000);
}

/** A badge with a status's colour class (`status-confirmed`, …). */
export function statusBadge(status) {
    return h('span', { class: ['badge', `status-${status}`] }, t(`status.${status}`));
}

export function emptyState(text) {
    return h('p', { class: 'empty' }, text);
}
