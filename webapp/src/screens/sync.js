// PLACEHOLDER (replaced by the management work).
import { h, mount } from '../dom.js';
export function renderSync(container) { mount(container, h('h1', null, 'sync')); }
