// A small DOM builder: h('button', {class: 'primary', onclick: fn}, label) makes real
// elements (no virtual DOM, no innerHTML: text is always set as text, so nothing a person or
// the box sends can become markup).

/** @param {string} tag @param {Record<string, any>|null} [attrs] @param {...any} children */
export function h(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (name.startsWith('on') && typeof value === 'function') {
            element.addEventListener(name.slice(2), value);
        } else if (name === 'class') {
            element.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
        } else if (name === 'style' && typeof value === 'object') {
            for (const [property, v] of Object.entries(value)) element.style.setProperty(property, v);
        } else if (name === 'dataset') {
            Object.assign(element.dataset, value);
        } else if (name === 'value' || name === 'checked' || name === 'selected' || name === 'disabled' || name === 'hidden') {
            element[name] = value;
        } else {
            element.setAttribute(name, value === true ? '' : String(value));
        }
    }
    append(element, children);
    return element;
}

function append(element, children) {
    for (const child of children) {
        if (child === null || child === undefined || child === false) continue;
        if (Array.isArray(child)) append(element, child);
        else if (child instanceof Node) element.appendChild(child);
        else element.appendChild(document.createTextNode(String(child)));
    }
}

/** Replaces the element's children. */
export function mount(element, ...children) {
    element.replaceChildren();
    append(element, children);
    return element;
}

/** A stable id for label/control pairs. */
let counter = 0;
export function uid(prefix = 'f') {
    counter += 1;
    return `${prefix}-${counter}`;
}
