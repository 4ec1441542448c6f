import EdgeNodeApp
import Replication

extension NodeConfiguration {
    /// A box on 127.0.0.1, any free port, that never announces itself over mDNS on this machine's
    /// network; LAN sync off unless asked for (static peers only, then).
    static func loopback(_ directory: ReplicaDirectory, lanSync: Bool = false) -> NodeConfiguration {
        var configuration = NodeConfiguration()
        configuration.dataDirectory = directory.path
        configuration.http.bind = "127.0.0.1"
        configuration.http.port = 0
        configuration.discovery.enabled = false
        configuration.sync.lan = lanSync
        return configuration
    }
}
