// Stock (#/stock/:section?branch=<id>, retail.read; writes: stock.manage): per branch, the levels
// with low ones marked and what is in transit each way; the movements; receiving goods from a
// supplier; adjustments (with a reason); transfers to another branch and booking in the ones sent
// here; a stocktake (scan or pick products, type what was counted, see the differences before
// saving); and the levels below zero (flags).
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime } from '../i18n.js';
import { can, on, state } from '../store.js';
import { go } from '../router.js';
import { button, field, alertBox, showProblem, emptyState, problemText, notify } from '../ui.js';
import { readAmount, keyedWrites, withApproval, writeOptions, money } from '../money.js';
import { section, table } from './manage-common.js';
import { productName, productOf, productOptions, loadProducts, levelMark, branches, branchName, scannerCapture } from './retail-common.js';

const SECTIONS = ['levels', 'movements', 'receive', 'adjust', 'transfers', 'stocktake', 'flags'];
const WRITES = ['receive', 'adjust', 'stocktake'];
export const ADJUST_REASONS = ['damaged', 'expired', 'used_in_service', 'other'];

export function renderStock(container, params, query) {
    const sections = SECTIONS.filter((s) => !WRITES.includes(s) || can('stock.manage'));
    const current = sections.includes(params.section) ? params.section : 'levels';
    const branchID = query.branch || (state.branch && state.branch.id);
    const body = h('div', { class: 'tab-body' });
    const branchPicker = field({ label: t('retail.stock.branch'), name: 'branch', value: branchID, options: branches().map((b) => [b.id, b.name]),
        onchange: () => go(`/stock/${current}`, { branch: branchPicker.control.value }) });
    branchPicker.control.dataset.testid = 'stock-branch';
    mount(container,
        h('div', { class: 'screen-head' }, h('h1', null, t('retail.stock.title')), branches().length > 1 ? branchPicker : null),
        h('nav', { class: 'tabs', 'aria-label': t('retail.stock.tabs') }, sections.map((key) => h('a', {
            href: `#/stock/${key}${query.branch ? `?branch=${encodeURIComponent(query.branch)}` : ''}`, class: ['tab', key === current && 'active'],
            'aria-current': key === current ? 'page' : null, dataset: { testid: `tab-${key}` },
        }, t(`retail.stock.tab.${key}`)))),
        body);
    const context = { branch: branchID, products: [], byId: new Map() };
    let alive = true;
    let cleanup = null;
    mount(body, h('p', { class: 'muted' }, t('loading')));
    loadProducts({ include_inactive: 'true', branch: branchID }).then((products) => {
        if (!alive) return;
        context.products = products;
        context.byId = new Map(products.map((p) => [p.id, p]));
        const render = { levels, movements, receive, adjust, transfers, stocktake, flags }[current];
        cleanup = render(body, context);
    }).catch((error) => { if (alive) mount(body, h('p', { class: 'alert', role: 'alert' }, problemText(error))); });
    return () => { alive = false; if (cleanup) cleanup(); };
}

function nameOf(context, id) { return productName(context.byId.get(id)) || id; }

/** A screen part that reloads itself on the stock events. */
function live(load) {
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(load, 200); };
    const offs = [on('event:stock', soon), on('event:stock_low', soon), on('event:stock_movement', soon), on('event:stock_transfer', soon)];
    load();
    return () => { clearTimeout(timer); offs.forEach((off) => off()); };
}

// --- levels ---------------------------------------------------------------------------------

function levels(container, context) {
    const list = h('div');
    mount(container, section(t('retail.stock.tab.levels'), null, list));
    return live(async () => {
        let items;
        try { items = (await api.get('/v1/stock', { branch: context.branch })).items || []; } catch (error) { mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error))); return; }
        items.sort((a, b) => nameOf(context, productOf(a)).localeCompare(nameOf(context, productOf(b))));
        mount(list, items.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('retail.stock.tab.levels') }, table(t('retail.stock.tab.levels'),
            ['product', 'level', 'threshold', 'in_transit_in', 'in_transit_out', 'state'].map((k) => t(`retail.stock.col.${k}`)),
            items.map((level) => h('tr', { class: level.low || level.quantity < 0 ? 'warn' : null, dataset: { testid: 'level', product: productOf(level), low: String(Boolean(level.low)) } },
                h('th', { scope: 'row' }, nameOf(context, productOf(level))),
                h('td', { class: 'num', dataset: { testid: 'level-quantity' } }, String(level.quantity)),
                h('td', { class: 'num' }, level.threshold === null || level.threshold === undefined ? '—' : String(level.threshold)),
                h('td', { class: 'num' }, String(level.in_transit_in || 0)),
                h('td', { class: 'num' }, String(level.in_transit_out || 0)),
                h('td', null, levelMark(level)))), { hideCaption: true })) : emptyState(t('retail.stock.no_levels')));
    });
}

// --- movements ------------------------------------------------------------------------------

function movements(container, context) {
    const list = h('div');
    const product = field({ label: t('retail.stock.product'), name: 'product', options: [['', t('retail.stock.all_products')], ...productOptions(context.products, false)] });
    mount(container, section(t('retail.stock.tab.movements'), null, h('div', { class: 'form-row' }, product), list));
    const stop = live(load);
    product.control.addEventListener('change', load);
    async function load() {
        let items;
        try { items = (await api.get('/v1/stock/movements', { branch: context.branch, product: product.control.value, limit: 200 })).items || []; } catch (error) { mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error))); return; }
        mount(list, items.length ? h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': t('retail.stock.tab.movements') }, table(t('retail.stock.tab.movements'),
            ['when', 'product', 'kind', 'quantity', 'detail'].map((k) => t(`retail.stock.col.${k}`)),
            items.map((m) => h('tr', { dataset: { testid: 'movement', kind: m.kind } },
                h('td', null, formatDateTime(m.at)),
                h('th', { scope: 'row' }, nameOf(context, productOf(m))),
                h('td', null, t(`retail.kind.${m.kind}`), m.reason ? ` · ${t(`retail.reason.${m.reason}`)}` : '', m.override ? h('span', { class: 'badge status-requested' }, ` ${t('retail.stock.override_mark')}`) : null),
                h('td', { class: 'num' }, m.quantity > 0 ? `+${m.quantity}` : String(m.quantity)),
                h('td', null, [m.supplier, m.unit_cost_minor !== null && m.unit_cost_minor !== undefined ? money(m.unit_cost_minor) : '', m.note].filter(Boolean).join(' · ') || '—'))), { hideCaption: true })) : emptyState(t('retail.stock.no_movements')));
    }
    return stop;
}

// --- receive goods --------------------------------------------------------------------------

/** Lines of products with quantities (and optionally unit costs), added by picking or scanning. */
function lineEditor(context, options = {}) {
    const lines = [];
    const area = h('div', { dataset: { testid: 'lines' } });
    const picker = field({ label: t('retail.stock.add_product'), name: 'product', options: productOptions(context.products) });
    picker.control.dataset.testid = 'line-product';
    picker.control.addEventListener('change', () => { if (picker.control.value) { add(picker.control.value); picker.control.value = ''; } });
    /** Adds one of a product: a scan counts one more and leaves the focus where it was (the next scan). */
    function add(id, scanned = false) {
        const existing = lines.find((l) => l.product === id);
        if (existing) { existing.quantity.control.value = String(Number(existing.quantity.control.value || 0) + 1); if (options.onchange) options.onchange(); return; }
        const p = context.byId.get(id);
        const quantity = field({ label: t('retail.stock.quantity_of', { name: productName(p) }), name: 'quantity', type: 'number', min: 1, value: '1', inputmode: 'numeric', oninput: () => options.onchange && options.onchange() });
        quantity.control.dataset.testid = 'line-quantity';
        const cost = options.cost ? field({ label: t('retail.stock.unit_cost_of', { name: productName(p) }), name: 'unit_cost_minor', inputmode: 'decimal', value: p && p.cost_minor ? String(p.cost_minor / 100) : '' }) : null;
        if (cost) cost.control.dataset.testid = 'line-cost';
        lines.push({ product: id, quantity, cost });
        draw();
        if (!scanned) { quantity.control.focus(); quantity.control.select(); }
    }
    function draw() {
        mount(area, lines.length ? lines.map((line, index) => h('div', { class: 'form-row line', dataset: { testid: 'line', product: line.product } },
            h('strong', null, productName(context.byId.get(line.product))), line.quantity, line.cost,
            button(t('money.checkout.remove'), () => { lines.splice(index, 1); draw(); if (options.onchange) options.onchange(); }, { kind: 'ghost', ariaLabel: t('money.checkout.remove_named', { name: productName(context.byId.get(line.product)) }) })))
            : emptyState(t('retail.stock.no_lines')));
        if (options.onchange) options.onchange();
    }
    /** [{product, quantity, unit_cost_minor?}] or null after marking what is wrong. */
    function read() {
        let ok = true;
        const result = lines.map((line) => {
            const quantity = Number(line.quantity.control.value);
            if (!Number.isInteger(quantity) || quantity < 1) { line.quantity.setError(t('retail.stock.quantity_positive')); ok = false; } else line.quantity.setError('');
            const row = { product: line.product, quantity };
            if (line.cost) {
                const cost = readAmount(line.cost, { positive: false, required: false });
                if (cost === null) ok = false; else if (line.cost.control.value.trim()) row.unit_cost_minor = cost;
            }
            return row;
        });
        return ok ? result : null;
    }
    function clear() { lines.splice(0); draw(); }
    draw();
    return { element: h('div', null, area, picker), add, read, clear, lines };
}

/** Scanning a barcode on a stock form adds its product. Returns stop(). */
function scanInto(context, editor, alert) {
    return scannerCapture(async (code) => {
        const found = context.products.find((p) => p.barcode === code);
        if (found) { editor.add(found.id, true); return; }
        try {
            const result = (await api.get('/v1/products', { barcode: code })).items || [];
            if (result[0]) { context.byId.set(result[0].id, result[0]); context.products.push(result[0]); editor.add(result[0].id, true); return; }
        } catch { /* shown below */ }
        showProblem(alert, { kind: 'local', detail: t('retail.scan.unknown', { code }) });
    });
}

function receive(container, context) {
    const alert = alertBox();
    const supplier = field({ label: t('retail.stock.supplier'), name: 'supplier', maxlength: 200 });
    supplier.control.dataset.testid = 'supplier';
    const note = field({ label: t('retail.stock.note'), name: 'note', maxlength: 500 });
    const editor = lineEditor(context, { cost: true });
    const nextKey = keyedWrites();
    async function submit(event) {
        event.preventDefault();
        const lines = editor.read();
        if (lines === null) return;
        if (!lines.length) { showProblem(alert, { kind: 'local', detail: t('retail.stock.no_lines') }); return; }
        const body = { branch: context.branch, supplier: supplier.control.value.trim(), lines, note: note.control.value.trim() };
        try {
            await api.post('/v1/stock/receipts', body, { key: nextKey(body) });
            notify(t('retail.stock.received'));
            go('/stock/levels', { branch: context.branch === (state.branch && state.branch.id) ? undefined : context.branch });
        } catch (error) { showProblem(alert, error, { supplier, note }); }
    }
    mount(container, section(t('retail.stock.tab.receive'), null,
        h('p', { class: 'hint' }, t('retail.stock.scan_hint')),
        h('form', { novalidate: true, onsubmit: submit, dataset: { testid: 'receive-form' } }, h('div', { class: 'form-row' }, supplier, note), editor.element, alert,
            h('div', { class: 'actions' }, button(t('retail.stock.receive'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-receipt' } })))));
    return scanInto(context, editor, alert);
}

// --- adjust ---------------------------------------------------------------------------------

function adjust(container, context) {
    const alert = alertBox();
    const product = field({ label: t('retail.stock.product'), name: 'product', options: productOptions(context.products) });
    product.control.dataset.testid = 'adjust-product';
    const quantity = field({ label: t('retail.stock.adjust_quantity'), name: 'quantity', type: 'number', inputmode: 'numeric', hint: t('retail.stock.adjust_hint') });
    quantity.control.dataset.testid = 'adjust-quantity';
    const reason = field({ label: t('retail.stock.reason'), name: 'reason', options: ADJUST_REASONS.map((r) => [r, t(`retail.reason.${r}`)]) });
    reason.control.dataset.testid = 'adjust-reason';
    const note = field({ label: t('retail.stock.note'), name: 'note', maxlength: 500 });
    const nextKey = keyedWrites();
    async function submit(event) {
        event.preventDefault();
        let ok = true;
        if (!product.control.value) { product.setError(t('validation.required')); ok = false; } else product.setError('');
        const value = Number(quantity.control.value);
        if (!quantity.control.value.trim() || !Number.isInteger(value) || value === 0) { quantity.setError(t('retail.stock.quantity_nonzero')); ok = false; } else quantity.setError('');
        if (!ok) return;
        const body = { branch: context.branch, product: product.control.value, quantity: value, reason: reason.control.value, note: note.control.value.trim() };
        try {
            await api.post('/v1/stock/adjustments', body, { key: nextKey(body) });
            notify(t('retail.stock.adjusted'));
            quantity.control.value = ''; note.control.value = '';
            showProblem(alert, null);
        } catch (error) { showProblem(alert, error, { product, quantity, reason, note }); }
    }
    mount(container, section(t('retail.stock.tab.adjust'), null,
        h('form', { novalidate: true, onsubmit: submit, dataset: { testid: 'adjust-form' } }, h('div', { class: 'form-row' }, product, quantity, reason), note, alert,
            h('div', { class: 'actions' }, button(t('retail.stock.adjust'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'save-adjustment' } })))));
    return null;
}

// --- transfers ------------------------------------------------------------------------------

function transfers(container, context) {
    const list = h('div');
    const others = branches().filter((b) => b.id !== context.branch);
    let form = null;
    if (can('stock.manage')) {
        const alert = alertBox();
        const to = field({ label: t('retail.stock.to_branch'), name: 'to_branch', options: others.map((b) => [b.id, b.name]) });
        to.control.dataset.testid = 'transfer-to';
        const note = field({ label: t('retail.stock.note'), name: 'note', maxlength: 500 });
        const editor = lineEditor(context);
        const nextKey = keyedWrites();
        async function submit(event) {
            event.preventDefault();
            const lines = editor.read();
            if (lines === null) return;
            if (!lines.length) { showProblem(alert, { kind: 'local', detail: t('retail.stock.no_lines') }); return; }
            const body = { from_branch: context.branch, to_branch: to.control.value, lines, note: note.control.value.trim() };
            try {
                await send(body, nextKey(body));
            } catch (error) {
                if (error.kind !== 'insufficient_stock') { showProblem(alert, error, { to_branch: to, note }); return; }
                showProblem(alert, error);
                alert.append(' ', overrideButton(async () => { await sendOverride(body); }));
            }
        }
        async function send(body, key) {
            await api.post('/v1/stock/transfers', body, { key });
            notify(t('retail.stock.sent'));
            editor.clear();
            showProblem(alert, null);
            load();
        }
        async function sendOverride(body) {
            const sent = { ...body, stock_override: true };
            await withApproval((approval) => approval || can('stock.override')
                ? api.post('/v1/stock/transfers', approval ? { ...sent, approval } : sent, writeOptions(approval))
                : Promise.reject(Object.assign(new Error('approval'), { kind: 'approval_required' })), 'stock.override');
            notify(t('retail.stock.sent'));
            editor.clear();
            showProblem(alert, null);
            load();
        }
        form = others.length ? h('form', { novalidate: true, onsubmit: submit, class: 'sub-form', dataset: { testid: 'transfer-form' } },
            h('h3', null, t('retail.stock.send')), h('div', { class: 'form-row' }, to, note), editor.element, alert,
            h('div', { class: 'actions' }, button(t('retail.stock.send'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'send-transfer' } })))
            : h('p', { class: 'hint' }, t('retail.stock.no_other_branch'));
    }
    mount(container, section(t('retail.stock.in_transit'), null, list), form ? section(t('retail.stock.send'), null, form) : null);
    async function load() {
        let items;
        try { items = (await api.get('/v1/stock/transfers', { branch: context.branch })).items || []; } catch (error) { mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error))); return; }
        mount(list, items.length ? h('ul', { class: 'list transfers' }, items.map((tr) => {
            const incoming = tr.to_branch === context.branch;
            return h('li', { dataset: { testid: 'transfer', id: tr.id, state: tr.state, direction: incoming ? 'in' : 'out' } },
                h('strong', null, incoming ? t('retail.stock.transfer_from', { branch: branchName(tr.from_branch) }) : t('retail.stock.transfer_to', { branch: branchName(tr.to_branch) })),
                ' · ', formatDateTime(tr.created_at), ' · ',
                h('span', { class: ['badge', tr.state === 'in_transit' ? 'status-requested' : 'status-completed'], dataset: { testid: 'transfer-state' } }, t(`retail.transfer.${tr.state}`)),
                h('div', { class: 'muted' }, (tr.lines || []).map((l) => `${nameOf(context, productOf(l))} × ${l.quantity}`).join(', ')),
                tr.note ? h('div', { class: 'hint' }, tr.note) : null,
                incoming && tr.state === 'in_transit' && can('stock.manage') ? button(t('retail.stock.book_in'), async () => {
                    try {
                        await api.post(`/v1/stock/transfers/${tr.id}/receive`, {});
                        notify(t('retail.stock.booked_in'));
                        load();
                    } catch (error) { notify(problemText(error), 'error'); }
                }, { kind: 'primary', dataset: { testid: 'book-in' } }) : null);
        })) : emptyState(t('retail.stock.no_transfers')));
    }
    return live(load);
}

/** "Override (manager)": the write again with stock_override, by the person or with a manager's PIN. */
export function overrideButton(action) {
    return button(can('stock.override') ? t('retail.stock.override') : t('retail.stock.override_manager'), async () => {
        try { await action(); } catch (error) { if (error.kind !== 'approval_required') notify(problemText(error), 'error'); }
    }, { kind: 'danger', dataset: { testid: 'stock-override' } });
}

// --- stocktake ------------------------------------------------------------------------------

function stocktake(container, context) {
    const alert = alertBox();
    const counts = [];
    let levelsNow = new Map();
    const area = h('div', { dataset: { testid: 'counts' } });
    const differences = h('div', { dataset: { testid: 'differences' } });
    const note = field({ label: t('retail.stock.note'), name: 'note', maxlength: 500 });
    const picker = field({ label: t('retail.stock.add_product'), name: 'product', options: productOptions(context.products) });
    picker.control.dataset.testid = 'count-product';
    picker.control.addEventListener('change', () => { if (picker.control.value) { add(picker.control.value); picker.control.value = ''; } });
    const nextKey = keyedWrites();
    let reviewing = false;
    const saveButton = button(t('retail.stocktake.review'), null, { kind: 'primary', type: 'submit', dataset: { testid: 'review-stocktake' } });

    async function loadLevels() {
        try {
            const items = (await api.get('/v1/stock', { branch: context.branch })).items || [];
            levelsNow = new Map(items.map((l) => [productOf(l), l.quantity]));
        } catch { /* the differences say they are not known */ }
    }
    /** A product to count: picked (its count typed next) or scanned (each scan counts one more). */
    function add(id, scanned = false) {
        const existing = counts.find((c) => c.product === id);
        if (existing) { existing.counted.control.value = String(Number(existing.counted.control.value || 0) + 1); unreview(); return; }
        const counted = field({ label: t('retail.stocktake.counted_of', { name: nameOf(context, id) }), name: 'counted', type: 'number', min: 0, inputmode: 'numeric', value: scanned ? '1' : '', oninput: unreview });
        counted.control.dataset.testid = 'counted';
        counts.push({ product: id, counted });
        draw();
        if (!scanned) counted.control.focus();
    }
    function draw() {
        mount(area, counts.length ? counts.map((c, index) => h('div', { class: 'form-row line', dataset: { testid: 'count', product: c.product } },
            h('strong', null, nameOf(context, c.product)), c.counted,
            button(t('money.checkout.remove'), () => { counts.splice(index, 1); draw(); unreview(); }, { kind: 'ghost', ariaLabel: t('money.checkout.remove_named', { name: nameOf(context, c.product) }) })))
            : emptyState(t('retail.stocktake.none')));
        unreview();
    }
    function unreview() {
        reviewing = false;
        mount(differences);
        saveButton.textContent = t('retail.stocktake.review');
        saveButton.dataset.testid = 'review-stocktake';
    }
    function read() {
        let ok = true;
        const result = counts.map((c) => {
            const value = Number(c.counted.control.value);
            if (!c.counted.control.value.trim() || !Number.isInteger(value) || value < 0) { c.counted.setError(t('retail.stocktake.counted_invalid')); ok = false; } else c.counted.setError('');
            return { product: c.product, counted: value };
        });
        return ok ? result : null;
    }
    async function submit(event) {
        event.preventDefault();
        const body = read();
        if (body === null) return;
        if (!body.length) { showProblem(alert, { kind: 'local', detail: t('retail.stocktake.none') }); return; }
        if (!reviewing) {
            await loadLevels();
            const rows = body.map((c) => {
                const expected = levelsNow.get(c.product) ?? 0;
                const difference = c.counted - expected;
                return h('tr', { class: difference ? 'warn' : null, dataset: { testid: 'difference', product: c.product } },
                    h('th', { scope: 'row' }, nameOf(context, c.product)),
                    h('td', { class: 'num' }, String(expected)),
                    h('td', { class: 'num' }, String(c.counted)),
                    h('td', { class: 'num', dataset: { testid: 'difference-value' } }, difference > 0 ? `+${difference}` : String(difference)));
            });
            mount(differences, h('div', { class: 'table-wrap' }, table(t('retail.stocktake.differences'),
                ['product', 'expected', 'counted', 'difference'].map((k) => t(`retail.stocktake.col.${k}`)), rows)),
                h('p', { class: 'hint' }, t('retail.stocktake.review_hint')));
            reviewing = true;
            saveButton.textContent = t('retail.stocktake.save');
            saveButton.dataset.testid = 'save-stocktake';
            return;
        }
        const sent = { branch: context.branch, counts: body, note: note.control.value.trim() };
        try {
            const saved = await api.post('/v1/stocktakes', sent, { key: nextKey(sent) });
            const changed = ((saved && saved.counts) || []).filter((c) => c.counted !== c.expected).length;
            notify(t('retail.stocktake.saved', { count: changed }));
            go('/stock/levels', { branch: context.branch === (state.branch && state.branch.id) ? undefined : context.branch });
        } catch (error) { showProblem(alert, error, { note }); }
    }
    mount(container, section(t('retail.stock.tab.stocktake'), null,
        h('p', { class: 'hint' }, t('retail.stocktake.hint')),
        h('form', { novalidate: true, onsubmit: submit, dataset: { testid: 'stocktake-form' } }, area, picker, note, differences, alert,
            h('div', { class: 'actions' }, saveButton))));
    draw();
    return scannerCapture((code) => {
        const found = context.products.find((p) => p.barcode === code);
        if (found) add(found.id, true); else showProblem(alert, { kind: 'local', detail: t('retail.scan.unknown', { code }) });
    });
}

// --- flags ----------------------------------------------------------------------------------

function flags(container, context) {
    const list = h('div');
    mount(container, section(t('retail.stock.tab.flags'), null, h('p', { class: 'hint' }, t('retail.flags.hint')), list));
    return live(async () => {
        let items;
        try { items = (await api.get('/v1/stock/flags')).items || []; } catch (error) { mount(list, h('p', { class: 'alert', role: 'alert' }, problemText(error))); return; }
        mount(list, items.length ? h('ul', { class: 'list' }, items.map((flag) => h('li', { dataset: { testid: 'stock-flag', id: flag.id } },
            h('strong', null, nameOf(context, productOf(flag))), ' · ', branchName(flag.branch_id || flag.branch), ' · ',
            t('retail.flags.level', { quantity: flag.quantity }), ' · ',
            flag.from_merge ? t('retail.flags.from_merge') : t('retail.flags.overrides', { count: (flag.overrides || []).length }))))
            : emptyState(t('retail.flags.none')));
    });
}

