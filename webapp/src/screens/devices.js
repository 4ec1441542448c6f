// PLACEHOLDER (replaced by the management work).
import { h, mount } from '../dom.js';
export function renderDevices(container) { mount(container, h('h1', null, 'devices')); }
