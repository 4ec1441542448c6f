// The routes of the signed-in app: [hash path pattern, render(container, params, query), nav key].
import { renderDay } from './day.js';
import { renderQueue } from './queue.js';
import { renderClients, renderClient } from './clients.js';
import { renderManage } from './manage.js';
import { renderDevices } from './devices.js';
import { renderSync } from './sync.js';

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
];
