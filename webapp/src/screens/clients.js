// PLACEHOLDER (replaced by the clients work).
import { h, mount } from '../dom.js';
export function renderClients(container) { mount(container, h('h1', null, 'clients')); }
export function renderClient(container) { mount(container, h('h1', null, 'client')); }
