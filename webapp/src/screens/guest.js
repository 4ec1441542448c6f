// PLACEHOLDER (replaced by the kiosk work).
import { h, mount } from '../dom.js';
export function renderGuest(container) { mount(container, h('h1', null, 'guest')); }
