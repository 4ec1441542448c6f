// Running the package's real executables (and other programs) from tests: to completion with
// `run`, or in the background as a `ChildProcess` whose output the test reads as it comes.
import Foundation
import Synchronization

/// The package's built executables.
public enum Binaries {
    /// The folder holding `edgenode`, `edgenode-relay` and `replication-torture`:
    /// $EDGENODE_BIN_DIR, or the folder of the running test bundle.
    public static let directory: String = {
        if let override = ProcessInfo.processInfo.environment["EDGENODE_BIN_DIR"] { return override }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }()

    public static var edgenode: String { directory + "/edgenode" }
    public static var relay: String { directory + "/edgenode-relay" }
    public static var torture: String { directory + "/replication-torture" }

    /// The package's root folder (for scripts and docs the tests read).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// How a program run to completion ended.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let output: String
    public let error: String
}

/// A program that failed where the test needed it to succeed.
public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String
}

/// Runs a program to completion and returns its status and output; one still running after
/// `timeout` is killed, and that is a `TimeoutError`.
/// - Parameters:
///   - input: written to its standard input, which is then closed.
///   - environment: its environment (default: the test's, less `EDGENODE_*` and `NOTIFY_SOCKET`,
///     so that nothing of the test's environment configures a box).
///   - check: throw `ProcessFailure` unless it exits with status 0.
@discardableResult
public func run(_ program: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil,
                timeout: Duration = .seconds(600), check: Bool = true) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.environment = environment ?? ChildProcess.cleanEnvironment
    let out = Pipe(), err = Pipe(), stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin
    try process.run()
    let killed = KilledFlag()
    let timer = DispatchWorkItem {
        if process.isRunning {
            killed.value.store(true, ordering: .releasing)
            kill(process.processIdentifier, SIGKILL)
        }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.components.seconds * 1000)), execute: timer)
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    // Both pipes are drained at once so that a chatty stderr cannot block the program.
    let errors = LockedData()
    let drained = DispatchSemaphore(value: 0)
    Thread {
        errors.set(err.fileHandleForReading.readDataToEndOfFile())
        drained.signal()
    }.start()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    timer.cancel()
    drained.wait()
    if killed.value.load(ordering: .acquiring) {
        throw TimeoutError(what: "\(program) \(arguments.joined(separator: " ")) did not finish within \(timeout) and was killed")
    }
    let result = ProcessResult(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                               error: String(decoding: errors.value, as: UTF8.self))
    if check && result.status != 0 {
        throw ProcessFailure(description: "\(program) \(arguments.joined(separator: " ")) exited with \(result.status): \(result.error)\(result.output)")
    }
    return result
}

/// Set when `run`'s timer killed the program.
private final class KilledFlag: Sendable {
    let value = Atomic<Bool>(false)
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var value: Data { lock.withLock { data ?? Data() } }
}

/// A program a test started in the background (a box, the relay, a writer that a test kills),
/// with everything it writes to standard output and standard error collected in `log`.
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    public let process = Process()
    private let condition = NSCondition()
    private var output = Data()
    private var ended = false
    private var lineCursor = 0

    /// The test's environment less `EDGENODE_*` and `NOTIFY_SOCKET`: nothing of it configures the child.
    public static var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EDGENODE_") && $0.key != "NOTIFY_SOCKET" }
    }

    /// - Parameter keepErrors: collect standard error in `log` too (else it is discarded, for a
    ///   program whose standard output the test parses line by line).
    public init(name: String, program: String, arguments: [String], environment: [String: String]? = nil, keepErrors: Bool = true) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment ?? Self.cleanEnvironment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = keepErrors ? pipe : FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = pipe.fileHandleForReading
        Thread { [self] in
            while true {
                let chunk = reader.availableData
                condition.lock()
                if chunk.isEmpty { ended = true } else { output.append(chunk) }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { break }
            }
        }.start()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Everything it wrote so far.
    public var log: String { condition.withLock { String(decoding: output, as: UTF8.self) } }

    /// The last lines of the log, for failure messages.
    public var tail: String { log.split(separator: "\n").suffix(40).joined(separator: "\n") }

    /// Waits until the log matches `pattern` and returns the first capture group (or the whole
    /// match); nil if the process ended its output first.
    /// - Throws: `TimeoutError` with the log's tail after `timeout`.
    public func waitForLog(_ pattern: String, timeout: Duration = .seconds(120)) async throws -> String? {
        try await offPool { try self.waitForLogBlocking(pattern, timeout: timeout) }
    }

    /// `waitForLog` for a caller on a thread of its own: blocks until the log matches (woken by
    /// each chunk of output, not by polling).
    public func waitForLogBlocking(_ pattern: String, timeout: Duration = .seconds(120)) throws -> String? {
        let expression = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        condition.lock()
        defer { condition.unlock() }
        while true {
            let text = String(decoding: output, as: UTF8.self)
            if let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
               let range = Range(match.range(at: match.numberOfRanges > 1 ? 1 : 0), in: text) {
                return String(text[range])
            }
            if ended { return nil }
            guard condition.wait(until: deadline) || Date() < deadline else {
                let tail = text.split(separator: "\n").suffix(40).joined(separator: "\n")
                throw TimeoutError(what: "\(name) did not log /\(pattern)/ within \(timeout):\n\(tail)")
            }
        }
    }

    /// The next line of its output, blocking until one is complete; nil once the output ended
    /// (it exited, or closed its output) without another line.
    public func nextLine() -> String? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let newline = output[lineCursor...].firstIndex(of: 0x0A) {
                let line = String(decoding: output[lineCursor..<newline], as: UTF8.self)
                lineCursor = newline + 1
                return line
            }
            if ended { return nil }
            condition.wait()
        }
    }

    /// Sends `signal` (SIGTERM by default) and returns the exit status once it exited; SIGKILL
    /// after `timeout` (then -1).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(30)) -> Int32 {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
        guard holdsWithin(timeout, every: .milliseconds(20), { !process.isRunning }) else {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return -1
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL, and waits until it is gone (a crash, for crash-safety tests).
    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Every process a test started; `stopAll()` (in a `defer`) leaves none behind.
public final class ChildProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var started: [ChildProcess] = []

    public init() {}

    public func start(_ name: String, _ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> ChildProcess {
        let child = try ChildProcess(name: name, program: program, arguments: arguments, environment: environment)
        lock.withLock { started.append(child) }
        return child
    }

    public func stopAll() {
        let running = lock.withLock { started.filter { $0.process.isRunning } }
        for child in running { child.process.terminate() }
        for child in running { child.stop(timeout: .seconds(15)) }
    }
}
