// The systemd notifier moved to its own target so that the relay shares it; the node's
// callers keep seeing it through EdgeNodeApp.
@_exported import SystemdNotify
// The configuration mechanism (and its TOML reader) moved to a target the relay shares; the
// node's callers keep seeing `ConfigurationError`, `TOMLDocument` and the rest through EdgeNodeApp.
@_exported import LayeredConfiguration

// LAN sync and the relay uplink are their own targets; the node wires them and its callers
// (the command line, tests, benchmarks) keep seeing their public types through EdgeNodeApp.
@_exported import LANSync
@_exported import RelayUplink
