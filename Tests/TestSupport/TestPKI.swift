import Foundation

/// A throw-away certificate authority and a server certificate for 127.0.0.1 and localhost, made
/// with the openssl command line (P-256 keys, valid two days).
public struct TestPKI: Sendable {
    public let caFile: String
    public let certificateFile: String
    public let keyFile: String

    /// - Parameter names: the server certificate's subjectAltName.
    public init(directory: String, name: String = "pki-" + UUID().uuidString, names: String = "IP:127.0.0.1,DNS:localhost") throws {
        let folder = directory + "/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        caFile = folder + "/ca.pem"
        certificateFile = folder + "/server.pem"
        keyFile = folder + "/server.key"
        try Data("subjectAltName=\(names)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n".utf8)
            .write(to: URL(fileURLWithPath: folder + "/server.ext"))
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req", "-x509"] + curve + ["-keyout", folder + "/ca.key", "-out", caFile, "-days", "2", "-subj", "/CN=edgenode test CA"])
        try Self.openssl(["req"] + curve + ["-keyout", keyFile, "-out", folder + "/server.csr", "-subj", "/CN=localhost"])
        try Self.openssl(["x509", "-req", "-in", folder + "/server.csr", "-CA", caFile, "-CAkey", folder + "/ca.key", "-CAcreateserial",
                          "-out", certificateFile, "-days", "2", "-extfile", folder + "/server.ext"])
    }

    public static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OpenSSLFailure(description: "openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}

public struct OpenSSLFailure: Error, CustomStringConvertible {
    public let description: String
}
