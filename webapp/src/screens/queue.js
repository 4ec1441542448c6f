// PLACEHOLDER (replaced by the day-calendar work).
import { h, mount } from '../dom.js';
export function renderQueue(container) { mount(container, h('h1', null, 'queue')); }
