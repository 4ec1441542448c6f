// Adapters of Domain's `MessageTransport` port, one per provider (docs/messaging.md).
import Domain
