// The app's only way to the box: the documented JSON API (docs/api.md) on the same origin.
// The device and the signed-in person are HttpOnly cookies the box set (docs/webapp-security.md);
// every unsafe request carries `Edgenode-CSRF: 1`, and every write an `Idempotency-Key`, so a
// retry after a dropped connection cannot book twice (not the two that set cookies).
import { emit } from './store.js';

export class ApiError extends Error {
    /** @param {number} status @param {string} kind @param {string} detail @param {any[]} [errors] */
    constructor(status, kind, detail, errors = [], retryAfter = null) {
        super(detail);
        this.status = status;
        this.kind = kind;
        this.detail = detail;
        this.errors = errors || [];
        this.retryAfter = retryAfter;
    }
    /** The field errors by field name (`services[0].staff` → message). */
    fieldErrors() {
        const map = {};
        for (const error of this.errors) map[error.field] = error.message;
        return map;
    }
}

/** Whether the box answered the last request (false: the tablet cannot reach it). */
export const reach = { boxReachable: true, since: new Date() };

function setReachable(value) {
    if (reach.boxReachable === value) return;
    reach.boxReachable = value;
    reach.since = new Date();
    emit('reach', reach);
}

function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Builds `path?name=value…`, skipping empty values. */
export function withQuery(path, query) {
    const parts = [];
    for (const [name, value] of Object.entries(query || {})) {
        if (value === undefined || value === null || value === '') continue;
        parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    }
    return parts.length ? `${path}?${parts.join('&')}` : path;
}

/**
 * One request. Resolves with the parsed JSON (or null for 204); rejects with ApiError —
 * kind `offline` when the box cannot be reached (nothing was changed that the app knows of).
 * @param {string} method @param {string} path @param {any} [body] @param {{key?: string, query?: object}} [options]
 */
export async function request(method, path, body, options = {}) {
    const headers = { Accept: 'application/json' };
    const unsafe = method !== 'GET' && method !== 'HEAD';
    if (unsafe) {
        headers['Edgenode-CSRF'] = '1';
        // Not for requests that set a cookie (a replay would return the body without it): the
        // pairing claim and the PIN sign-in are safe to repeat anyway.
        if (options.idempotent !== false) headers['Idempotency-Key'] = options.key || randomKey();
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
        response = await fetch(withQuery(path, options.query), {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            credentials: 'same-origin',
            cache: 'no-store',
        });
    } catch (error) {
        setReachable(false);
        throw new ApiError(0, 'offline', String(error && error.message || error));
    }
    setReachable(true);
    if (response.status === 204) return null;
    const text = await response.text();
    let document = null;
    try { document = text ? JSON.parse(text) : null; } catch { document = null; }
    if (!response.ok) {
        const type = (document && document.type) || '';
        const kind = type.startsWith('urn:edgenode:problem:') ? type.slice('urn:edgenode:problem:'.length) : `http_${response.status}`;
        const error = new ApiError(response.status, kind, (document && document.detail) || response.statusText,
            document && document.errors, document && document.retry_after);
        // The whole problem document (a `held_elsewhere` names the boxes that hold the rest).
        error.body = document;
        // A 401 means the tablet or the person's session is no longer accepted — except for a
        // PIN sign-in (`pinAttempt`), where it means a wrong person or PIN.
        if (response.status === 401 && !options.pinAttempt) emit('unauthenticated', error);
        throw error;
    }
    return document;
}

export const api = {
    get: (path, query) => request('GET', path, undefined, { query }),
    post: (path, body, options) => request('POST', path, body === undefined ? {} : body, options),
    put: (path, body, options) => request('PUT', path, body, options),
    patch: (path, body, options) => request('PATCH', path, body, options),
    delete: (path, options) => request('DELETE', path, undefined, options),
    /** Every item of a paged list (`items`, `next_cursor`). */
    async all(path, query = {}) {
        const items = [];
        let cursor = null;
        for (let page = 0; page < 50; page += 1) {
            const result = await request('GET', path, undefined, { query: { ...query, cursor } });
            items.push(...(result.items || []));
            cursor = result.next_cursor;
            if (!cursor) break;
        }
        return items;
    },
};
