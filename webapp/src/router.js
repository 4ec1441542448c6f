// Hash routes (`#/day/2026-12-08?view=week`): the page never reloads, and no secret is ever in a
// URL (the guest's tracking token is in the path of its own page, /b/<token>, by design).

const routes = [];

/** Registers a screen: `pattern` like `/clients/:id`; `render(container, params, query)` may return a cleanup. */
export function route(pattern, render, options = {}) {
    const names = [];
    const regex = new RegExp(`^${pattern.replace(/:(\w+)/g, (match, name) => { names.push(name); return '([^/]+)'; })}$`);
    routes.push({ pattern, regex, names, render, options });
}

export function currentPath() {
    const hash = location.hash.replace(/^#/, '') || '/';
    const [path, search] = hash.split('?');
    return { path, query: Object.fromEntries(new URLSearchParams(search || '')) };
}

/** Navigates to a hash path with optional query. */
export function go(path, query) {
    const search = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
    const target = `#${path}${search ? `?${search}` : ''}`;
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
}

export function match(path) {
    for (const candidate of routes) {
        const found = candidate.regex.exec(path);
        if (found) {
            const params = {};
            candidate.names.forEach((name, index) => { params[name] = decodeURIComponent(found[index + 1]); });
            return { route: candidate, params };
        }
    }
    return null;
}
