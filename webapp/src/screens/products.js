// Products (#/products, retail.read; editing: products.manage): the catalogue with search (name,
// SKU, barcode — a scanner typing into the search field finds the product by its barcode) and a
// category filter; creating and editing a product (names ru/kk/en, SKU, barcode with its check
// digit checked on the field, category, price, tax rate, cost, low-stock threshold, active) and
// its price and threshold per branch.
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { can, on, state } from '../store.js';
import { button, field, alertBox, showProblem, openDialog, emptyState, problemText } from '../ui.js';
import { money, readAmount, amountText } from '../money.js';
import { checkboxField, intValue, section } from './manage-common.js';
import { productName, barcodeProblem, looksLikeBarcode, stockOf, branches } from './retail-common.js';

export function renderProducts(container, params, query) {
    let alive = true;
    let items = [];
    let categories = [];
    const alert = alertBox();
    const search = field({ label: t('retail.products.search'), name: 'q', value: query.q || '', placeholder: t('retail.products.search_hint') });
    search.control.dataset.testid = 'product-search';
    search.control.type = 'search';
    const category = field({ label: t('retail.products.category'), name: 'category', options: [['', t('retail.products.all_categories')]], onchange: load });
    category.control.dataset.testid = 'category-filter';
    const inactive = checkboxField(t('retail.products.include_inactive'), false, 'include_inactive');
    inactive.control.addEventListener('change', load);
    const list = h('div', { dataset: { testid: 'products' } });
    let timer = null;
    search.control.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(load, 250); });
    search.control.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') { event.preventDefault(); clearTimeout(timer); load(); }
    });

    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('retail.products.title')),
            can('products.manage') ? button(t('retail.products.add'), () => openProduct(null, load), { kind: 'primary', dataset: { testid: 'add-product' } }) : null),
        alert,
        h('div', { class: 'form-row filters' }, search, category, can('products.manage') ? inactive : null),
        list);

    async function load() {
        const q = search.control.value.trim();
        const filter = { branch: state.branch && state.branch.id, category: category.control.value, include_inactive: inactive.control.checked ? 'true' : '' };
        try {
            if (looksLikeBarcode(q)) {
                // What a scanner typed: the exact barcode (its check digit validated by the box).
                try {
                    const found = await api.get('/v1/products', { ...filter, barcode: q });
                    items = (found && found.items) || [];
                } catch (error) {
                    if (error.kind !== 'not_found' && error.kind !== 'invalid_argument' && error.kind !== 'validation_failed') throw error;
                    items = [];
                }
            } else {
                items = ((await api.get('/v1/products', { ...filter, q })).items) || [];
            }
            showProblem(alert, null);
        } catch (error) {
            if (alive) showProblem(alert, error);
            return;
        }
        if (!alive) return;
        for (const p of items) if (p.category && !categories.includes(p.category)) categories.push(p.category);
        categories.sort();
        const chosen = category.control.value;
        mount(category.control, h('option', { value: '' }, t('retail.products.all_categories')),
            ...categories.map((c) => h('option', { value: c, selected: c === chosen }, c)));
        draw();
    }

    function draw() {
        if (!items.length) { mount(list, emptyState(t('retail.products.none'))); return; }
        mount(list, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('retail.products.title') }, h('table', { class: 'data' },
            h('caption', { class: 'visually-hidden' }, t('retail.products.title')),
            h('thead', null, h('tr', null, ...['name', 'sku', 'barcode', 'category', 'price', 'stock', 'state', 'actions'].map((k) => h('th', { scope: 'col', class: ['price', 'stock'].includes(k) ? 'num' : null }, t(`retail.products.col.${k}`))))),
            h('tbody', null, items.map((p) => h('tr', { class: p.active ? null : 'revoked', dataset: { testid: 'product', id: p.id, sku: p.sku } },
                h('th', { scope: 'row' }, productName(p)),
                h('td', null, p.sku || '—'),
                h('td', null, p.barcode || '—'),
                h('td', null, p.category || '—'),
                h('td', { class: 'num' }, money(p.price_minor)),
                h('td', { class: 'num', dataset: { testid: 'product-stock' } }, stockOf(p) === null ? '—' : String(stockOf(p))),
                h('td', null, p.active ? t('manage.active') : t('manage.inactive')),
                h('td', null, can('products.manage') ? button(t('manage.edit'), () => openProduct(p, load), { ariaLabel: t('manage.edit_named', { name: productName(p) }), dataset: { testid: 'edit-product' } }) : null)))))));
    }

    load();
    const off = on('event:product', () => { clearTimeout(timer); timer = setTimeout(load, 250); });
    return () => { alive = false; clearTimeout(timer); off(); };
}

/** The create / edit dialog of a product; `onSaved()` after the box accepted it. */
export function openProduct(product, onSaved) {
    openDialog(product ? t('retail.products.edit_title', { name: productName(product) }) : t('retail.products.add'), (handle) => {
        const alert = alertBox();
        const names = product ? product.names || {} : {};
        const f = {
            name_ru: field({ label: t('retail.products.name_ru'), name: 'name_ru', value: names.ru || '', maxlength: 200 }),
            name_kk: field({ label: t('retail.products.name_kk'), name: 'name_kk', value: names.kk || '', maxlength: 200 }),
            name_en: field({ label: t('retail.products.name_en'), name: 'name_en', value: names.en || '', maxlength: 200 }),
            sku: field({ label: t('retail.products.sku'), name: 'sku', value: product ? product.sku : '', maxlength: 64 }),
            barcode: field({ label: t('retail.products.barcode'), name: 'barcode', value: product ? product.barcode : '', inputmode: 'numeric', maxlength: 14, hint: t('retail.products.barcode_hint') }),
            category: field({ label: t('retail.products.category'), name: 'category', value: product ? product.category : '', maxlength: 100 }),
            price: field({ label: t('retail.products.price'), name: 'price_minor', value: product ? amountText(product.business_price_minor ?? product.price_minor) : '', inputmode: 'decimal' }),
            tax_rate: field({ label: t('retail.products.tax_rate'), name: 'tax_rate', options: [['', t('retail.products.tax_default')], ['none', t('retail.products.tax_none')]] }),
            cost: field({ label: t('retail.products.cost'), name: 'cost_minor', value: product && product.cost_minor !== null && product.cost_minor !== undefined ? amountText(product.cost_minor) : '', inputmode: 'decimal' }),
            threshold: field({ label: t('retail.products.threshold'), name: 'low_stock_threshold', type: 'number', min: 0, value: product && product.low_stock_threshold !== null && product.low_stock_threshold !== undefined ? product.low_stock_threshold : '', inputmode: 'numeric' }),
            active: checkboxField(t('manage.active_label'), product ? product.active : true, 'active'),
        };
        for (const [key, wrapper] of Object.entries(f)) wrapper.control.dataset.testid = `product-${key.replace('_', '-')}`;
        // Checked as it is typed (or scanned): once it has its digits, a wrong check digit shows at once.
        f.barcode.control.addEventListener('input', () => {
            const value = f.barcode.control.value.trim();
            const problem = value.length >= 12 || /\D/.test(value) ? barcodeProblem(value) : '';
            f.barcode.setError(problem ? t(problem) : '');
        });
        api.get('/v1/money/settings').then((settings) => {
            const rates = (settings && settings.tax_rates) || [];
            const current = product ? product.tax_rate : '';
            mount(f.tax_rate.control, h('option', { value: '', selected: current === '' }, t('retail.products.tax_default')),
                h('option', { value: 'none', selected: current === 'none' }, t('retail.products.tax_none')),
                ...rates.map((r) => h('option', { value: r.id, selected: current === r.id }, `${r.name} (${r.rate_bp / 100} %)`)));
        }).catch(() => {});
        const branchArea = product ? branchSettings(product) : null;

        async function save(event) {
            event.preventDefault();
            let ok = true;
            const namesBody = {};
            for (const language of ['ru', 'kk', 'en']) {
                const value = f[`name_${language}`].control.value.trim();
                f[`name_${language}`].setError('');
                if (value) namesBody[language] = value;
            }
            if (!Object.keys(namesBody).length) { f.name_ru.setError(t('retail.products.name_required')); ok = false; }
            const barcode = f.barcode.control.value.trim();
            const problem = barcodeProblem(barcode);
            f.barcode.setError(problem ? t(problem) : '');
            if (problem) ok = false;
            const price = readAmount(f.price, { positive: false });
            if (price === null) ok = false;
            const cost = readAmount(f.cost, { positive: false, required: false });
            if (cost === null) ok = false;
            const threshold = intValue(f.threshold);
            if (Number.isNaN(threshold) || (threshold !== null && threshold < 0)) { f.threshold.setError(t('manage.whole_number')); ok = false; } else f.threshold.setError('');
            if (!ok) { const first = handle.dialog.querySelector('[aria-invalid="true"]'); if (first) first.focus(); return; }
            const body = {
                names: namesBody, sku: f.sku.control.value.trim(), barcode, category: f.category.control.value.trim(), price_minor: price,
                tax_rate: f.tax_rate.control.value, cost_minor: f.cost.control.value.trim() ? cost : null, low_stock_threshold: threshold, active: f.active.control.checked,
            };
            try {
                if (product) await api.patch(`/v1/products/${product.id}`, body);
                else await api.post('/v1/products', body);
                handle.close();
                onSaved();
            } catch (error) {
                showProblem(alert, error, { names: f.name_ru, 'names.ru': f.name_ru, 'names.kk': f.name_kk, 'names.en': f.name_en, sku: f.sku, barcode: f.barcode,
                    category: f.category, price_minor: f.price, tax_rate: f.tax_rate, cost_minor: f.cost, low_stock_threshold: f.threshold });
                if (error.kind === 'invalid_argument' && /barcode|check digit/i.test(error.detail || '')) f.barcode.setError(t('retail.barcode.check_digit'));
            }
        }
        return h('div', null,
            h('form', { novalidate: true, onsubmit: save, dataset: { testid: 'product-form' } },
                h('fieldset', null, h('legend', null, t('retail.products.names')), h('div', { class: 'form-row' }, f.name_ru, f.name_kk, f.name_en)),
                h('div', { class: 'form-row' }, f.sku, f.barcode, f.category),
                h('div', { class: 'form-row' }, f.price, f.tax_rate, f.cost, f.threshold),
                f.active, alert,
                h('div', { class: 'actions' }, button(t('cancel'), () => handle.close()), button(t('save'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-product' } }))),
            branchArea);
    }, { wide: true });
}

/** A product's price and low-stock threshold at each branch (empty: the product's own). */
function branchSettings(product) {
    const rows = branches().map((branch) => {
        // `branches`: [{branch, price_minor, low_stock_threshold}] (an object by branch id is read too).
        const list = product.branches || [];
        const own = (Array.isArray(list) ? list.find((b) => b.branch === branch.id) : list[branch.id]) || {};
        const alert = alertBox();
        const price = field({ label: t('retail.products.branch_price', { branch: branch.name }), name: 'price_minor', value: own.price_minor !== null && own.price_minor !== undefined ? amountText(own.price_minor) : '', inputmode: 'decimal', hint: t('retail.products.branch_hint') });
        const threshold = field({ label: t('retail.products.branch_threshold', { branch: branch.name }), name: 'low_stock_threshold', type: 'number', min: 0, value: own.low_stock_threshold ?? '', inputmode: 'numeric' });
        price.control.dataset.testid = 'branch-price';
        threshold.control.dataset.testid = 'branch-threshold';
        async function save(event) {
            event.preventDefault();
            const priceValue = readAmount(price, { positive: false, required: false });
            if (priceValue === null) return;
            const thresholdValue = intValue(threshold);
            if (Number.isNaN(thresholdValue) || (thresholdValue !== null && thresholdValue < 0)) { threshold.setError(t('manage.whole_number')); return; }
            threshold.setError('');
            try {
                await api.put(`/v1/products/${product.id}/branches/${branch.id}`, { price_minor: price.control.value.trim() ? priceValue : null, low_stock_threshold: thresholdValue });
                showProblem(alert, null);
                alert.hidden = false;
                alert.className = 'notice ok';
                alert.textContent = t('retail.saved');
            } catch (error) {
                alert.className = 'alert';
                showProblem(alert, error, { price_minor: price, low_stock_threshold: threshold });
            }
        }
        return h('form', { novalidate: true, onsubmit: save, class: 'sub-form', dataset: { testid: 'branch-settings', branch: branch.id } },
            h('div', { class: 'form-row' }, price, threshold), alert,
            button(t('retail.products.branch_save', { branch: branch.name }), null, { type: 'submit' }));
    });
    return section(t('retail.products.per_branch'), null, ...rows);
}
