// The app's shared state and a tiny event bus: screens subscribe to what they show.

const listeners = new Map();

/** @param {string} name @param {(value: any) => void} listener @returns {() => void} unsubscribe */
export function on(name, listener) {
    if (!listeners.has(name)) listeners.set(name, new Set());
    listeners.get(name).add(listener);
    return () => listeners.get(name).delete(listener);
}

export function emit(name, value) {
    for (const listener of [...(listeners.get(name) || [])]) {
        try { listener(value); } catch (error) { console.error(error); }
    }
}

/** What the app knows of the box, the device and the person (filled at start). */
export const state = {
    me: null,          // GET /v1/me
    branch: null,      // the home branch (time zone, currency, locale)
    services: [],      // GET /v1/services
    staff: [],         // GET /v1/staff
    categories: [],    // GET /v1/categories
};

/** Whether the current role has a permission (docs/api.md, role matrix). */
export function can(permission) {
    return Boolean(state.me && state.me.permissions && state.me.permissions.includes(permission));
}

export function serviceById(id) { return state.services.find((s) => s.id === id); }
export function staffById(id) { return state.staff.find((s) => s.id === id); }
