import Foundation
import Testing
@testable import Relay
import TestSupport

/// The relay reads its settings through the mechanism the box uses (`ConfigurationLayers`),
/// keeping its own rules: no file, an empty variable is unset, the box's `EDGENODE_RELAY_*`
/// settings are not the relay's, and only the value that wins is checked.
@Suite("The relay's configuration through the shared mechanism")
struct RelayConfigurationLayersTests {
    @Test("defaults < environment < flags, key by key, with the documented names")
    func precedence() throws {
        let environment = ["EDGENODE_RELAY_PORT": "9000", "EDGENODE_RELAY_BIND": "127.0.0.1", "EDGENODE_RELAY_LOG_LEVEL": "debug"]
        let configuration = try RelayConfiguration.load(environment: environment, flags: ["port": "9100", "idle_timeout_seconds": "20"])
        #expect(configuration.port == 9100 && configuration.bind == "127.0.0.1" && configuration.logLevel == .debug)
        #expect(configuration.edge.idleTimeout == .seconds(20) && configuration.edge.headerTimeout == .seconds(10))
        let (_, sources) = try RelayConfiguration.layers.load(over: RelayConfiguration.Loading(), environment: environment, flags: ["port": "9100"])
        #expect(sources["port"] == "flag --port" && sources["bind"] == "environment EDGENODE_RELAY_BIND" && sources["storage"] == "default")
        #expect(RelayConfiguration.keys == ["data_dir", "bind", "port", "log_level", "metrics", "header_timeout_seconds", "idle_timeout_seconds",
                                            "max_connections_per_address", "storage", "tls_certificate", "tls_key", "kaspi_key_file", "kaspi_ca_file",
                                            "kaspi_timeout_seconds"])
        #expect(RelayConfiguration.settings.map(\.flag) == RelayConfiguration.keys.map { $0.replacingOccurrences(of: "_", with: "-") })
    }

    @Test("an empty variable is unset, the box's relay.* variables are ignored, a replaced bad value is not checked, messages as before")
    func relayRules() throws {
        #expect(try RelayConfiguration.load(environment: ["EDGENODE_RELAY_PORT": ""]).port == 8480)
        #expect(try RelayConfiguration.load(environment: ["EDGENODE_RELAY_URL": "https://relay.example", "EDGENODE_RELAY_CA_FILE": "/x.pem"]).port == 8480)
        #expect(try RelayConfiguration.load(environment: ["EDGENODE_RELAY_PORT": "eighty"], flags: ["port": "80"]).port == 80)
        func error(_ environment: [String: String], _ flags: [String: String] = [:]) -> String {
            do { _ = try RelayConfiguration.load(environment: environment, flags: flags); return "no error" } catch { return "\(error)" }
        }
        #expect(error(["EDGENODE_RELAY_PORT": "70000"]) == "port must be 0…65535, got 70000")
        #expect(error([:], ["log_level": "loud"]) == "log_level must be trace, debug, info, notice, warning, error or critical, got loud")
        #expect(error(["EDGENODE_RELAY_METRICS": "yes"]) == "metrics must be true or false, got yes")
        #expect(error([:], ["header_timeout_seconds": "0"]) == "header_timeout_seconds must be 1…300, got 0")
        #expect(error([:], ["storage": "ftp://x"]).hasPrefix("storage: "))
        #expect(error([:], ["prot": "1"]) == "flag prot: unknown key \"prot\"; did you mean \"port\"?")
    }

    @Test("the Kaspi gateway's keys: the key file is read and checked at load, the timeout has a range")
    func kaspi() throws {
        let directory = temporaryDirectory("relay-kaspi-config")
        let keyFile = directory + "/kaspi.key"
        try KaspiSealingKey.generateFileContents().write(toFile: keyFile, atomically: true, encoding: .utf8)
        let configuration = try RelayConfiguration.load(environment: ["EDGENODE_RELAY_KASPI_KEY_FILE": keyFile], flags: ["kaspi_timeout_seconds": "7"])
        #expect(configuration.kaspiKeyFile == keyFile && configuration.kaspiTimeoutSeconds == 7)
        #expect(try configuration.kaspiSettings().sealingKey != nil && configuration.kaspiSettings().timeout == .seconds(7))
        #expect(try RelayConfiguration.load(environment: [:]).kaspiSettings().sealingKey == nil)
        func error(_ flags: [String: String]) -> String {
            do { _ = try RelayConfiguration.load(environment: [:], flags: flags); return "no error" } catch { return "\(error)" }
        }
        try "not a key\n".write(toFile: directory + "/bad.key", atomically: true, encoding: .utf8)
        #expect(error(["kaspi_key_file": directory + "/bad.key"]).hasPrefix("kaspi_key_file: \(directory)/bad.key must hold 64 hex digits"))
        #expect(error(["kaspi_key_file": directory + "/missing.key"]) == "kaspi_key_file: cannot read \(directory)/missing.key")
        #expect(error(["kaspi_ca_file": directory + "/missing.pem"]).hasPrefix("kaspi_ca_file: "))
        #expect(error(["kaspi_timeout_seconds": "0"]) == "kaspi_timeout_seconds must be 1…120, got 0")
    }
}
