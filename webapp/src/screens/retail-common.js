// Pieces shared by the retail screens (issue 18, docs/retail.md): products' names in the person's
// language, the barcode check digit (GS1), the barcode scanner (a keyboard wedge types the digits
// fast, then Enter), the product catalogue as the screens load it, and the branches.
import { h } from '../dom.js';
import { api } from '../api.js';
import { t, localName } from '../i18n.js';
import { state } from '../store.js';

/** A product's name in the person's language (ru, then en, then any). */
export function productName(product) {
    if (!product) return '—';
    return localName(product.names, product.sku || product.id);
}

/** The id of the product a row names (`product_id` in the box's documents, `product` in requests). */
export function productOf(row) {
    return row.product_id || row.product || (row.product && row.product.id);
}

/**
 * Checks a barcode: '' when it is fine (EAN-13, UPC-A or empty), else the catalogue key of why not.
 * GS1: from the right, the digits in odd positions × 3, even × 1; the check digit brings the sum to a multiple of 10.
 */
export function barcodeProblem(text) {
    const code = String(text || '').trim();
    if (code === '') return '';
    if (!/^\d+$/.test(code)) return 'retail.barcode.digits';
    if (code.length !== 13 && code.length !== 12) return 'retail.barcode.length';
    return checkDigitOK(code) ? '' : 'retail.barcode.check_digit';
}

export function checkDigitOK(code) {
    const digits = code.split('').map(Number);
    const check = digits.pop();
    let sum = 0;
    digits.reverse().forEach((d, i) => { sum += i % 2 === 0 ? d * 3 : d; });
    return (10 - (sum % 10)) % 10 === check;
}

/** Whether a text looks like what a scanner types: 8 to 14 digits. */
export function looksLikeBarcode(text) {
    return /^\d{8,14}$/.test(String(text || '').trim());
}

/**
 * Listens for a barcode scanner on the whole screen: digits typed while no text field has the focus,
 * ended by Enter, go to `onScan(code)`. A person typing slowly on a keyboard is not a scanner: a gap
 * of more than `gapMs` between keys starts over. Returns stop().
 */
export function scannerCapture(onScan, gapMs = 150) {
    let buffer = '';
    let last = 0;
    function editable(target) {
        if (!target || !target.tagName) return false;
        const tag = target.tagName.toLowerCase();
        return tag === 'input' || tag === 'textarea' || tag === 'select' || target.isContentEditable;
    }
    function keydown(event) {
        if (editable(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
        if (document.querySelector('dialog[open]')) return;
        const now = event.timeStamp || performance.now();
        if (now - last > gapMs) buffer = '';
        last = now;
        if (/^\d$/.test(event.key)) { buffer += event.key; return; }
        if (event.key === 'Enter' && looksLikeBarcode(buffer)) {
            event.preventDefault();
            const code = buffer;
            buffer = '';
            onScan(code);
            return;
        }
        buffer = '';
    }
    document.addEventListener('keydown', keydown);
    return () => document.removeEventListener('keydown', keydown);
}

/** The branches this replica knows (the home branch first). */
export function branches() {
    const all = state.branches || (state.branch ? [state.branch] : []);
    const home = state.branch ? state.branch.id : null;
    return [...all].sort((a, b) => (a.id === home ? -1 : b.id === home ? 1 : a.name.localeCompare(b.name)));
}

export function branchName(id) {
    const branch = (state.branches || []).find((b) => b.id === id);
    return branch ? branch.name : (id || '—');
}

/** Every product (with `price_minor` and `stock` at `branch` when given), active ones unless told. */
export async function loadProducts(query = {}) {
    const result = await api.get('/v1/products', query);
    return (result && result.items) || [];
}

/** A product's level at a branch from a product document (`stock` a number or a level). */
export function stockOf(product) {
    if (!product || product.stock === undefined || product.stock === null) return null;
    return typeof product.stock === 'number' ? product.stock : product.stock.quantity;
}

/** A select of products (by name, with SKU) for forms; `value` preselected. */
export function productOptions(products, withEmpty = true) {
    const options = products.map((p) => [p.id, p.sku ? `${productName(p)} (${p.sku})` : productName(p)]);
    return withEmpty ? [['', t('retail.pick_product')], ...options] : options;
}

/** A small "low" / "below zero" mark for a level. */
export function levelMark(level) {
    if (level.quantity < 0) return h('span', { class: 'badge status-cancelled', dataset: { testid: 'below-zero' } }, t('retail.stock.below_zero'));
    if (level.low) return h('span', { class: 'badge status-requested', dataset: { testid: 'low' } }, t('retail.stock.low'));
    return null;
}

/** The boxes named by an escrow balance or a `held_elsewhere` problem: "Almaty branch's box" or the site id. */
export function boxLabel(holding) {
    if (!holding) return '—';
    const name = holding.box_name || holding.name || '';
    const branch = holding.branch_id || holding.branch;
    if (name) return branch ? `${name} (${branchName(branch)})` : name;
    if (branch) return t('retail.box_of_branch', { branch: branchName(branch) });
    return holding.site || holding.box || '—';
}
