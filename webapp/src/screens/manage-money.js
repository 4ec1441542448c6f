// Money settings (#/manage/money, money.settings: the owner): tax rates (name, rate %, included in
// the price or added to it, the default), VAT registration and number, the seller's name and
// address for receipts, and the offline caps (per unverified payment, per box in total, the
// deadline in hours, 1–72). GET and PUT /v1/money/settings.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { button, field, alertBox, showProblem, problemText, notify } from '../ui.js';
import { checkboxField, section } from './manage-common.js';
import { money, readAmount, amountText, uuidv7 } from '../money.js';

export function renderMoneySettings(container) {
    let alive = true;
    let settings = null;
    let rates = [];
    const ratesArea = h('div');
    const alert = alertBox();
    mount(container, h('p', { class: 'muted' }, t('loading')));

    function rateRow(rate) {
        const name = field({ label: t('manage.money.rate_name'), name: 'rate-name', value: rate.name, maxlength: 100 });
        name.control.dataset.testid = 'rate-name';
        const percent = field({ label: t('manage.money.rate_percent'), name: 'rate-percent', value: rate.rate_bp === undefined ? '' : String(rate.rate_bp / 100), inputmode: 'decimal' });
        percent.control.dataset.testid = 'rate-percent';
        const included = field({ label: t('manage.money.rate_mode'), name: 'rate-mode', value: rate.included ? 'included' : 'added',
            options: [['included', t('manage.money.included')], ['added', t('manage.money.added')]] });
        const isDefault = checkboxField(t('manage.money.default_rate'), settings.default_tax_rate === rate.id, 'rate-default');
        isDefault.control.addEventListener('change', () => { if (isDefault.control.checked) for (const other of rates) if (other !== row) other.isDefault.control.checked = false; });
        const row = { rate, name, percent, included, isDefault };
        row.element = h('fieldset', { class: 'rate-row', dataset: { testid: 'tax-rate' } }, h('legend', null, rate.name || t('manage.money.new_rate')),
            h('div', { class: 'form-row' }, name, percent, included), isDefault,
            button(t('manage.money.remove_rate'), () => { rates = rates.filter((r) => r !== row); drawRates(); }, { kind: 'ghost' }));
        return row;
    }
    function drawRates() { mount(ratesArea, rates.length ? rates.map((r) => r.element) : h('p', { class: 'muted' }, t('manage.money.no_rates'))); }

    async function load() {
        try {
            settings = await api.get('/v1/money/settings');
        } catch (error) {
            if (alive) mount(container, h('p', { class: 'alert', role: 'alert' }, problemText(error)));
            return;
        }
        if (!alive) return;
        const c = settings.currency;
        rates = settings.tax_rates.map(rateRow);
        drawRates();
        const vat = checkboxField(t('manage.money.vat_registered'), settings.vat_registered, 'vat_registered');
        const vatNumber = field({ label: t('manage.money.vat_number'), name: 'vat_number', value: settings.vat_number || '', maxlength: 50 });
        const sellerName = field({ label: t('manage.money.seller_name'), name: 'seller_name', value: settings.seller_name || '', maxlength: 200 });
        const sellerAddress = field({ label: t('manage.money.seller_address'), name: 'seller_address', type: 'textarea', rows: 2, value: settings.seller_address || '', maxlength: 500 });
        const paymentCap = field({ label: t('manage.money.payment_cap', { currency: c }), name: 'unverified_payment_cap_minor', value: amountText(settings.unverified_payment_cap_minor, c), inputmode: 'decimal' });
        paymentCap.control.dataset.testid = 'payment-cap';
        const boxCap = field({ label: t('manage.money.box_cap', { currency: c }), name: 'unverified_box_cap_minor', value: amountText(settings.unverified_box_cap_minor, c), inputmode: 'decimal',
            hint: t('manage.money.outstanding', { amount: money(settings.unverified_outstanding_minor || 0, c) }) });
        const hours = field({ label: t('manage.money.deadline_hours'), name: 'unverified_deadline_hours', type: 'number', min: 1, max: 72, value: settings.unverified_deadline_hours, inputmode: 'numeric' });
        hours.control.dataset.testid = 'deadline-hours';
        const fields = { vat_number: vatNumber, seller_name: sellerName, seller_address: sellerAddress, unverified_payment_cap_minor: paymentCap, unverified_box_cap_minor: boxCap, unverified_deadline_hours: hours };
        async function save(event) {
            event.preventDefault();
            let ok = true;
            const taxRates = [];
            let defaultRate = null;
            for (const row of rates) {
                const name = row.name.control.value.trim();
                if (!name) { row.name.setError(t('validation.required')); ok = false; } else row.name.setError('');
                const text = row.percent.control.value.trim().replace(',', '.');
                const value = Number(text);
                if (!/^\d{1,3}(\.\d{1,2})?$/.test(text) || value > 100) { row.percent.setError(t('manage.money.rate_invalid')); ok = false; } else row.percent.setError('');
                const id = row.rate.id || uuidv7();
                row.rate.id = id;
                taxRates.push({ id, name, rate_bp: Math.round(value * 100), included: row.included.control.value === 'included' });
                if (row.isDefault.control.checked) defaultRate = id;
            }
            const cap = readAmount(paymentCap, { positive: false, currency: c });
            const total = readAmount(boxCap, { positive: false, currency: c });
            const h_ = Number(hours.control.value);
            if (!Number.isInteger(h_) || h_ < 1 || h_ > 72) { hours.setError(t('manage.money.hours_invalid')); ok = false; } else hours.setError('');
            if (vat.control.checked && !vatNumber.control.value.trim()) { vatNumber.setError(t('manage.money.vat_number_required')); ok = false; } else vatNumber.setError('');
            if (cap === null || total === null || !ok) return;
            const body = {
                tax_rates: taxRates, default_tax_rate: defaultRate, vat_registered: vat.control.checked, vat_number: vatNumber.control.value.trim(),
                seller_name: sellerName.control.value.trim(), seller_address: sellerAddress.control.value.trim(),
                unverified_payment_cap_minor: cap, unverified_box_cap_minor: total, unverified_deadline_hours: h_,
            };
            try {
                settings = await api.put('/v1/money/settings', body);
                showProblem(alert, null, fields);
                notify(t('manage.money.saved'));
                load();
            } catch (error) { showProblem(alert, error, fields); }
        }
        mount(container, h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'money-settings' } },
            section(t('manage.money.tax_rates'), button(t('manage.money.add_rate'), () => { rates.push(rateRow({ id: null, name: '', included: true })); drawRates(); }, { dataset: { testid: 'add-rate' } }), ratesArea),
            section(t('manage.money.seller'), null, sellerName, sellerAddress, vat, vatNumber),
            section(t('manage.money.caps'), null, h('p', { class: 'hint' }, t('manage.money.caps_hint')), h('div', { class: 'form-row' }, paymentCap, boxCap, hours)),
            alert,
            h('div', { class: 'actions' }, button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-money' } }))));
    }
    load();
    return () => { alive = false; };
}
