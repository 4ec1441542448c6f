// The systemd notifier moved to its own target so that the relay shares it; the node's
// callers keep seeing it through EdgeNodeApp.
@_exported import SystemdNotify
// The configuration mechanism (and its TOML reader) moved to a target the relay shares; the
// node's callers keep seeing `ConfigurationError`, `TOMLDocument` and the rest through EdgeNodeApp.
@_exported import LayeredConfiguration
