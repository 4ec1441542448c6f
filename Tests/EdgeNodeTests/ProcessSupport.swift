import Foundation
import Testing

/// Runs the package's real executables.
enum Binaries {
    /// The folder holding `edgenode` and `replication-torture`: $EDGENODE_BIN_DIR, or next to this test bundle.
    static let directory: String = {
        if let override = ProcessInfo.processInfo.environment["EDGENODE_BIN_DIR"] { return override }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()

    static var edgenode: String { directory + "/edgenode" }
    static var torture: String { directory + "/replication-torture" }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

struct ProcessResult {
    let status: Int32
    let output: String
    let error: String
}

/// Runs a program to completion.
@discardableResult
func run(_ program: String, _ arguments: [String], input: String? = nil, expectSuccess: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let out = Pipe(), err = Pipe(), stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let result = ProcessResult(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self), error: String(decoding: errors, as: UTF8.self))
    if expectSuccess {
        #expect(result.status == 0, "\(program) \(arguments.joined(separator: " ")) failed: \(result.error)\(result.output)", sourceLocation: sourceLocation)
    }
    return result
}

/// Runs blocking work (a child process that takes seconds, a blocking read) on a thread of its
/// own. Swift's cooperative pool has one thread per core (two here): a test that blocked it
/// for long would stall every other test's async work — a full run saw PostgreSQL relay tests
/// time out that way.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "edgenode-e2e-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A running process whose standard output is read line by line.
final class LineReader {
    let process = Process()
    private let handle: FileHandle
    private var buffer = Data()

    init(_ program: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        handle = pipe.fileHandleForReading
        try process.run()
    }

    /// The next line, or nil at end of output.
    func nextLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    /// Lines already buffered or readable without waiting for the process (after it was killed).
    func remainingLines() -> [String] {
        var lines: [String] = []
        while let line = nextLine() { lines.append(line) }
        return lines
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
