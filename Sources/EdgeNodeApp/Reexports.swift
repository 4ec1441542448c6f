// The systemd notifier moved to its own target so that the relay shares it; the node's
// callers keep seeing it through EdgeNodeApp.
@_exported import SystemdNotify
