// PLACEHOLDER (replaced by the management work).
import { h, mount } from '../dom.js';
export function renderManage(container) { mount(container, h('h1', null, 'manage')); }
