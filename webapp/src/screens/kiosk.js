// PLACEHOLDER (replaced by the kiosk work).
import { h, mount } from '../dom.js';
export function renderKiosk(container) { mount(container, h('h1', null, 'kiosk')); }
