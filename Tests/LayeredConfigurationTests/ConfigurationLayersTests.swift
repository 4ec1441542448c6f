import Foundation
import LayeredConfiguration
import Testing

/// A daemon's configuration for the tests: two keys, one with a flag.
private struct Sample: Sendable, Equatable {
    var port = 1
    var name = "default"
}

private struct SampleError: Error, Equatable, CustomStringConvertible {
    let description: String
}

private let keys: [ConfigurationKey<Sample, SampleError>] = [
    ConfigurationKey(key: "server.port", environmentVariable: "SAMPLE_SERVER_PORT", flag: "port") { input, sample, source throws(SampleError) in
        let text: String
        switch input {
        case .raw(let raw): text = raw
        case .toml(.integer(let value)): text = String(value)
        case .toml(let other): throw SampleError(description: "server.port (\(source)): expected an integer, found \(other.kindDescription)")
        }
        guard let port = Int(text), (0...65535).contains(port) else { throw SampleError(description: "server.port (\(source)): \(text) is not a port") }
        sample.port = port
    },
    ConfigurationKey(key: "name", environmentVariable: "SAMPLE_NAME", flag: nil) { input, sample, _ throws(SampleError) in
        switch input {
        case .raw(let raw), .toml(.string(let raw)): sample.name = raw
        case .toml(let value): sample.name = value.description
        }
    },
]

private func layers(checksReplacedValues: Bool = true) -> ConfigurationLayers<Sample, SampleError> {
    var layers = ConfigurationLayers<Sample, SampleError>(keys: keys, environmentPrefix: "SAMPLE_", fileVariable: "SAMPLE_CONFIG", documentation: "see the docs",
                                                          failure: { key, source, message in SampleError(description: "\(key ?? "-") \(source): \(message)") })
    layers.otherProgramsPrefixes = ["SAMPLE_OTHER_"]
    layers.checksReplacedValues = checksReplacedValues
    return layers
}

@Suite("The configuration mechanism both daemons share")
struct ConfigurationLayersTests {
    static func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "layers-" + UUID().uuidString + ".toml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("defaults < file < environment < flags, and which source set each key")
    func precedence() throws {
        let path = try Self.file("name = \"from file\"\n[server]\nport = 10\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let layers = layers()
        let none = try layers.load(over: Sample(), environment: [:], flags: [:])
        #expect(none.configuration == Sample() && none.sources == ["server.port": "default", "name": "default"])
        let file = try layers.load(over: Sample(), file: path, environment: [:], flags: [:])
        #expect(file.configuration == Sample(port: 10, name: "from file") && file.sources["server.port"] == "file \(path)")
        let environment = try layers.load(over: Sample(), file: path, environment: ["SAMPLE_SERVER_PORT": "20"], flags: [:])
        #expect(environment.configuration == Sample(port: 20, name: "from file") && environment.sources["server.port"] == "environment SAMPLE_SERVER_PORT")
        let flags = try layers.load(over: Sample(), file: path, environment: ["SAMPLE_SERVER_PORT": "20"], flags: ["server.port": "30", "name": "flag"])
        #expect(flags.configuration == Sample(port: 30, name: "flag"))
        #expect(flags.sources == ["server.port": "flag --port", "name": "flag name"])
        // The file named by the variable, or else the default file if it exists.
        #expect(try layers.load(over: Sample(), environment: ["SAMPLE_CONFIG": path], flags: [:]).configuration.port == 10)
        #expect(try layers.load(over: Sample(), defaultFile: path, environment: [:], flags: [:]).configuration.port == 10)
        #expect(try layers.load(over: Sample(), defaultFile: path + ".missing", environment: [:], flags: [:]).configuration.port == 1)
    }

    @Test("the box checks every layer's value; the relay only the value that wins")
    func replacedValues() throws {
        let environment = ["SAMPLE_SERVER_PORT": "eighty"]
        #expect(throws: SampleError(description: "server.port (environment SAMPLE_SERVER_PORT): eighty is not a port")) {
            try layers().load(over: Sample(), environment: environment, flags: ["server.port": "80"])
        }
        #expect(try layers(checksReplacedValues: false).load(over: Sample(), environment: environment, flags: ["server.port": "80"]).configuration.port == 80)
        #expect(throws: SampleError(description: "server.port (environment SAMPLE_SERVER_PORT): eighty is not a port")) {
            try layers(checksReplacedValues: false).load(over: Sample(), environment: environment, flags: [:])
        }
    }

    @Test("unknown keys, variables and tables are refused with the closest known name; other programs' variables are ignored")
    func unknownNames() throws {
        let layers = layers()
        #expect(throws: SampleError(description: "- environment SAMPLE_SERVER_PROT: unknown variable; did you mean SAMPLE_SERVER_PORT?")) {
            try layers.load(over: Sample(), environment: ["SAMPLE_SERVER_PROT": "1"], flags: [:])
        }
        #expect(throws: SampleError(description: "- flag server.prot: unknown key \"server.prot\"; did you mean \"server.port\"?")) {
            try layers.load(over: Sample(), environment: [:], flags: ["server.prot": "1"])
        }
        #expect(try layers.load(over: Sample(), environment: ["SAMPLE_OTHER_THING": "x", "ELSEWHERE": "y"], flags: [:]).configuration == Sample())
        let path = try Self.file("[servr]\nport = 1\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SampleError(description: "- \(path) line 1: unknown table [servr]; did you mean [server]?")) {
            try layers.load(over: Sample(), file: path, environment: [:], flags: [:])
        }
        var lenient = layers
        lenient.refusesUnknownVariables = false
        lenient.ignoresEmptyVariables = true
        #expect(try lenient.load(over: Sample(), environment: ["SAMPLE_SERVER_PROT": "1", "SAMPLE_SERVER_PORT": ""], flags: [:]).configuration == Sample())
    }
}
