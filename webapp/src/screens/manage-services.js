// Services tab: the branch's services by category (inactive ones too), create and edit — names
// and descriptions in ru/kk/en, category, duration, buffers, price in the branch's currency,
// capacity, slot step, active. PUT replaces every field, so the form sends what it does not show
// (resources, display order) as they are.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, has, localName, formatMoney, currentCurrency, LANGUAGES } from '../i18n.js';
import { on } from '../store.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText } from '../ui.js';
import { checkboxField, intValue, majorText, parseMajor, section, focusFirstError } from './manage-common.js';
import { refreshCatalogue } from './manage.js';

export function renderServices(container) {
    let alive = true;
    let services = [];
    const list = h('div');

    async function load() {
        try {
            services = (await api.get('/v1/services', { include_inactive: 'true' })).items || [];
        } catch (error) {
            if (alive) mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        const groups = new Map();
        for (const service of services) {
            if (!groups.has(service.category)) groups.set(service.category, []);
            groups.get(service.category).push(service);
        }
        const names = [...groups.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
        mount(list, services.length ? names.map((category) => h('div', { class: 'category' },
            h('h3', null, category ? (has(`kiosk.category.${category}`) ? t(`kiosk.category.${category}`) : category) : t('manage.services.no_category')),
            h('ul', { class: 'list' }, groups.get(category).map((service) => h('li', { class: ['service-row', !service.active && 'inactive'], dataset: { testid: 'service', id: service.id } },
                h('div', { class: 'service-info' },
                    h('strong', null, localName(service.names)),
                    h('span', { class: 'muted small' }, [
                        t('manage.services.minutes', { count: service.duration_minutes }),
                        formatMoney(service.price),
                        service.capacity > 1 ? t('manage.services.seats', { count: service.capacity }) : null,
                        service.active ? null : t('manage.inactive'),
                    ].filter(Boolean).join(' · '))),
                button(t('manage.edit'), () => openService(service, services, load), { ariaLabel: t('manage.edit_named', { name: localName(service.names) }) }))))))
            : emptyState(t('manage.services.none')));
    }

    mount(container, section(t('manage.services.title'),
        button(t('manage.services.add'), () => openService(null, services, load), { kind: 'primary', dataset: { testid: 'add-service' } }), list));
    load();
    const off = on('event:service', load);
    return () => { alive = false; off(); };
}

function openService(service, services, onSaved) {
    const currency = service ? service.price.currency : currentCurrency();
    openDialog(service ? t('manage.services.edit_title', { name: localName(service.names) }) : t('manage.services.add'), (handle) => {
        const alert = alertBox();
        const categories = [...new Set(services.map((s) => s.category).filter(Boolean))];
        const listID = `categories-${Date.now()}`;
        const nameFields = {};
        const descriptionFields = {};
        for (const language of LANGUAGES) {
            nameFields[language.code] = field({ label: t('manage.services.name_in', { language: language.name }), name: `name-${language.code}`,
                value: service ? service.names[language.code] || '' : '', maxlength: 200 });
            nameFields[language.code].control.setAttribute('lang', language.code);
            nameFields[language.code].control.dataset.testid = `service-name-${language.code}`;
            descriptionFields[language.code] = field({ label: t('manage.services.description_in', { language: language.name }), name: `description-${language.code}`,
                type: 'textarea', rows: 2, value: service ? (service.descriptions || {})[language.code] || '' : '', maxlength: 2000 });
            descriptionFields[language.code].control.setAttribute('lang', language.code);
        }
        const number = (label, name, value, min, max, hint) => field({ label, name, type: 'number', value, min, max, inputmode: 'numeric', hint });
        const fields = {
            category: field({ label: t('manage.services.category'), name: 'category', value: service ? service.category : '', maxlength: 100, hint: t('manage.services.category_hint') }),
            duration_minutes: number(t('manage.services.duration'), 'duration_minutes', service ? service.duration_minutes : 60, 1, 1440),
            price: field({ label: t('manage.services.price', { currency }), name: 'price', value: service ? majorText(service.price.amount_minor, currency) : '', inputmode: 'decimal' }),
            buffer_before_minutes: number(t('manage.services.buffer_before'), 'buffer_before_minutes', service ? service.buffer_before_minutes : 0, 0, 240),
            buffer_after_minutes: number(t('manage.services.buffer_after'), 'buffer_after_minutes', service ? service.buffer_after_minutes : 0, 0, 240),
            capacity: number(t('manage.services.capacity'), 'capacity', service ? service.capacity : 1, 1, 1000, t('manage.services.capacity_hint')),
            slot_step_minutes: number(t('manage.services.slot_step'), 'slot_step_minutes', service ? service.slot_step_minutes : 15, 1, 240, t('manage.services.slot_step_hint')),
            active: checkboxField(t('manage.active_label'), service ? service.active : true, 'active'),
        };
        fields.price.control.dataset.testid = 'service-price';
        fields.category.control.setAttribute('list', listID);
        const namesGroup = h('fieldset', { class: 'plain-fieldset' }, h('legend', null, t('manage.services.names')), Object.values(nameFields));
        namesGroup.setError = (message) => nameFields[LANGUAGES[0].code].setError(message);
        const descriptionsGroup = h('details', { class: 'descriptions' }, h('summary', null, t('manage.services.descriptions')), Object.values(descriptionFields));
        descriptionsGroup.setError = (message) => { descriptionsGroup.open = true; descriptionFields[LANGUAGES[0].code].setError(message); };

        const save = async (event) => {
            event.preventDefault();
            for (const wrapper of [...Object.values(fields), ...Object.values(nameFields)]) wrapper.setError('');
            const names = {};
            const descriptions = {};
            for (const language of LANGUAGES) {
                const name = nameFields[language.code].control.value.trim();
                if (name) names[language.code] = name;
                const description = descriptionFields[language.code].control.value.trim();
                if (description) descriptions[language.code] = description;
            }
            let bad = false;
            if (!Object.keys(names).length) { nameFields[LANGUAGES[0].code].setError(t('manage.services.name_required')); bad = true; }
            const amount = parseMajor(fields.price.control.value, currency);
            if (amount === null) { fields.price.setError(t('manage.services.price_format')); bad = true; }
            const ints = {};
            for (const key of ['duration_minutes', 'buffer_before_minutes', 'buffer_after_minutes', 'capacity', 'slot_step_minutes']) {
                ints[key] = intValue(fields[key]);
                if (Number.isNaN(ints[key]) || (key === 'duration_minutes' && ints[key] === null)) { fields[key].setError(t('manage.whole_number')); bad = true; }
            }
            if (bad) { focusFirstError(event.target); return; }
            const body = {
                category: fields.category.control.value.trim(),
                names, descriptions,
                duration_minutes: ints.duration_minutes,
                price: { amount_minor: amount, currency },
                buffer_before_minutes: ints.buffer_before_minutes,
                buffer_after_minutes: ints.buffer_after_minutes,
                capacity: ints.capacity,
                slot_step_minutes: ints.slot_step_minutes,
                active: fields.active.control.checked,
            };
            if (service) {
                body.branch = service.branch;
                body.resources = (service.resources || []).map((r) => ({ resource: r.resource, quantity: r.quantity }));
                body.display_order = service.display_order;
            }
            try {
                if (service) await api.put(`/v1/services/${service.id}`, body);
                else await api.post('/v1/services', body);
                handle.close();
                await refreshCatalogue();
                onSaved();
            } catch (error) {
                showProblem(alert, error, { ...fields, names: namesGroup, descriptions: descriptionsGroup });
                focusFirstError(event.target);
            }
        };
        return h('form', { novalidate: true, onsubmit: save, class: 'grid-form', dataset: { testid: 'service-form' } },
            namesGroup, descriptionsGroup,
            h('datalist', { id: listID }, categories.map((c) => h('option', { value: c }))),
            h('div', { class: 'form-grid' }, Object.values(fields)),
            alert,
            h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit' })));
    }, { wide: true });
}
