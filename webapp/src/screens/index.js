// The routes of the signed-in app: [hash path pattern, render(container, params, query), nav key].
import { renderDay } from './day.js';
import { renderQueue } from './queue.js';
import { renderClients, renderClient } from './clients.js';
import { renderManage } from './manage.js';
import { renderDevices } from './devices.js';
import { renderSync } from './sync.js';
import { renderCheckout } from './checkout.js';
import { renderSale } from './sale.js';
import { renderReceipt } from './receipt.js';
import { renderMessages } from './messages.js';
import { renderProducts } from './products.js';
import { renderStock } from './stock.js';
import { renderDashboard, renderReport } from './reports.js';
import { renderDrawer, renderZReports, renderZReport, renderUnverified, renderAnomalies } from './till.js';

export const routes = [
    ['/day', renderDay, 'day'],
    ['/day/:date', renderDay, 'day'],
    ['/my', (container, params, query) => renderDay(container, params, { ...query, mine: '1' }), 'my'],
    ['/queue', renderQueue, 'queue'],
    ['/clients', renderClients, 'clients'],
    ['/clients/:id', renderClient, 'clients'],
    ['/manage/:section', renderManage, 'manage'],
    ['/devices', renderDevices, 'devices'],
    ['/sync', renderSync, 'sync'],
    ['/checkout', renderCheckout, 'till'],
    ['/sales/:id', renderSale, 'till'],
    ['/sales/:id/receipt', renderReceipt, 'till'],
    ['/drawer', renderDrawer, 'till'],
    ['/z-reports', renderZReports, 'till'],
    ['/z-reports/:id', renderZReport, 'till'],
    ['/money/unverified', renderUnverified, 'till'],
    ['/money/anomalies', renderAnomalies, 'till'],
    ['/messages', renderMessages, 'messages'],
    ['/products', renderProducts, 'products'],
    ['/stock', renderStock, 'stock'],
    ['/stock/:section', renderStock, 'stock'],
    ['/dashboard', renderDashboard, 'reports'],
    ['/reports/:kind', renderReport, 'reports'],
];
