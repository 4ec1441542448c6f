// PLACEHOLDER (replaced by the day-calendar work).
import { h, mount } from '../dom.js';
export function renderDay(container) { mount(container, h('h1', null, 'day')); }
