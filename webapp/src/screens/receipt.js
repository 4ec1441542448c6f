// The receipt: in the app (#/sales/:id/receipt, GET /v1/sales/{id}/receipt) with Print, and the
// client's own page (/r/<token>, GET /v1/receipts/{token}, no device credential). Printable on an
// 80 mm thermal printer (app.css, @media print: 80 mm wide, monospaced, no app chrome). Shows the
// seller, the VAT fields when the seller is VAT-registered, the lines with their tax, the
// payments and change, and the register's check number and URL when fiscalised — else the words
// "not a fiscal receipt".
import { h, mount } from '../dom.js';
import { api } from '../api.js';
import { t, formatDateTime, setLanguage, storedLanguage, localName } from '../i18n.js';
import { button, problemText } from '../ui.js';
import { money, methodName } from '../money.js';
import { languagePicker } from '../shell.js';

/** The receipt's paper: one column of text, as the printer will print it. */
export function receiptView(receipt) {
    const sale = receipt.sale;
    const c = sale.currency;
    const fiscal = receipt.fiscal || sale.fiscal || {};
    const row = (left, right, testid) => h('div', { class: 'r-row', dataset: testid ? { testid } : undefined }, h('span', null, left), h('span', null, right));
    const counted = sale.payments.filter((p) => p.kind === 'payment' && ['settled', 'verified', 'unverified'].includes(p.status));
    const refunds = sale.payments.filter((p) => p.kind === 'refund');
    return h('article', { class: 'receipt', dataset: { testid: 'receipt' }, 'aria-label': t('money.receipt.title') },
        h('header', { class: 'r-center' },
            h('strong', { dataset: { testid: 'receipt-seller' } }, receipt.seller.name || receipt.branch_name),
            receipt.seller.address ? h('div', null, receipt.seller.address) : null,
            receipt.seller.phone ? h('div', null, receipt.seller.phone) : null,
            receipt.vat_registered ? h('div', { dataset: { testid: 'receipt-vat-number' } }, t('money.receipt.vat_number', { number: receipt.seller.vat_number })) : null),
        h('div', { class: 'r-rule' }),
        row(t('money.receipt.number'), sale.number, 'receipt-number'),
        row(t('money.receipt.date'), formatDateTime(sale.created_at)),
        receipt.box ? row(t('money.receipt.box'), receipt.box) : null,
        h('div', { class: 'r-rule' }),
        ...sale.lines.map((line) => h('div', { class: 'r-line', dataset: { testid: 'receipt-line' } },
            h('div', null, localName(line.names, line.name)),
            row(`${line.quantity} × ${money(line.unit_price_minor, c)}`, money(line.total_minor, c)),
            line.discount_minor ? row(t('money.total.discount'), `−${money(line.discount_minor, c)}`) : null,
            line.tax_rate ? row(`${line.tax_rate.name} ${line.tax_rate.rate_bp / 100} %${line.tax_rate.included ? ` (${t('money.tax.included')})` : ''}`, money(line.tax_minor, c)) : null)),
        h('div', { class: 'r-rule' }),
        row(t('money.total.subtotal'), money(sale.subtotal_minor, c)),
        sale.discount_minor ? row(t('money.total.discount'), `−${money(sale.discount_minor, c)}`) : null,
        sale.tips_minor ? row(t('money.total.tips'), money(sale.tips_minor, c)) : null,
        receipt.vat_registered || sale.tax_minor ? row(receipt.vat_registered ? t('money.receipt.vat_total') : t('money.total.tax'), money(sale.tax_minor, c), 'receipt-tax') : null,
        h('div', { class: 'r-total' }, row(t('money.total.total'), money(sale.total_minor, c), 'receipt-total')),
        h('div', { class: 'r-rule' }),
        ...counted.map((p) => h('div', { dataset: { testid: 'receipt-payment' } }, row(methodName(p.method), money(p.amount_minor, c)),
            p.method === 'cash' && p.tendered_minor ? row(t('money.receipt.tendered'), money(p.tendered_minor, c)) : null,
            p.method === 'cash' && p.change_minor ? row(t('money.receipt.change'), money(p.change_minor, c), 'receipt-change') : null,
            p.card_last4 ? row(t('money.receipt.card'), `•••• ${p.card_last4}`) : null,
            p.status === 'unverified' ? h('div', { class: 'r-small' }, t('money.pstatus.unverified')) : null)),
        ...refunds.map((p) => row(t('money.refund.row', { method: methodName(p.method) }), `−${money(p.amount_minor, c)}`)),
        sale.voided ? h('div', { class: 'r-center r-strong' }, t('money.sale.voided', { reason: sale.voided.reason })) : null,
        h('div', { class: 'r-rule' }),
        fiscal.status === 'done' && !receipt.not_fiscal
            ? h('div', { class: 'r-center', dataset: { testid: 'receipt-fiscal' } },
                h('div', null, t('money.receipt.fiscal_check', { number: fiscal.check_number })),
                fiscal.url ? h('div', { class: 'r-small r-url' }, fiscal.url) : null)
            : h('div', { class: 'r-center r-strong', dataset: { testid: 'not-fiscal' } }, t('money.receipt.not_fiscal'),
                fiscal.status === 'pending' ? h('div', { class: 'r-small' }, t('money.receipt.fiscal_pending')) : null),
        h('footer', { class: 'r-center r-small' }, receipt.branch_name || ''));
}

export function renderReceipt(container, params) {
    let alive = true;
    const paper = h('div', { class: 'receipt-wrap' }, h('p', { class: 'muted' }, t('loading')));
    mount(container, h('div', { class: 'screen-head no-print' }, h('h1', null, t('money.receipt.title')),
        h('div', { class: 'actions' }, h('a', { class: 'btn secondary', href: `#/sales/${params.id}` }, t('money.receipt.back')),
            button(t('money.receipt.print'), () => window.print(), { kind: 'primary', dataset: { testid: 'print' } }))), paper);
    api.get(`/v1/sales/${params.id}/receipt`).then((receipt) => {
        if (alive) mount(paper, receiptView(receipt));
    }, (error) => { if (alive) mount(paper, h('p', { class: 'alert', role: 'alert' }, problemText(error))); });
    return () => { alive = false; };
}

/** The client's receipt page, /r/<token>: no app, no credential; the language buttons on top. */
export function renderPublicReceipt(root, token) {
    setLanguage(storedLanguage(null));
    let receipt = null;
    let error = null;
    function draw() {
        mount(root, h('div', { class: 'guest-page' },
            h('header', { class: 'guest-header no-print' }, h('strong', { class: 'guest-brand' }, receipt ? (receipt.seller.name || receipt.branch_name) : ''), languagePicker(draw)),
            h('main', { id: 'main', class: 'content receipt-page' },
                h('h1', { class: 'no-print' }, t('money.receipt.title')),
                receipt ? h('div', { class: 'receipt-wrap' }, receiptView(receipt)) : error ? h('p', { class: 'alert', role: 'alert' }, error.status === 404 ? t('money.receipt.not_found') : problemText(error))
                    : h('p', { class: 'muted' }, t('loading')),
                receipt ? h('div', { class: 'actions no-print' }, button(t('money.receipt.print'), () => window.print(), { kind: 'primary' })) : null)));
    }
    draw();
    api.get(`/v1/receipts/${encodeURIComponent(token)}`).then((r) => { receipt = r; draw(); }, (e) => { error = e; draw(); });
}
