// Every catalogue of the app; each module exports {en, ru, kk} with the same keys.
import core from './core.js';
import day from './day.js';
import clients from './clients.js';
import manage from './manage.js';
import kiosk from './kiosk.js';
import money from './money.js';
import messaging from './messaging.js';
import retail from './retail.js';
import reports from './reports.js';

export const catalogues = [core, day, clients, manage, kiosk, money, messaging, retail, reports];
