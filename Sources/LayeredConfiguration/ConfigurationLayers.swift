import Foundation

/// A value as it arrives: typed from the TOML file, a raw string from the environment or a flag.
public enum ConfigurationInput: Sendable {
    case toml(TOMLValue)
    case raw(String)
}

/// A configuration problem: which key (when known), where it came from, and what is wrong.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Hashable {
    /// The dotted key concerned; nil when the problem is not about one known key (an unknown key,
    /// a TOML syntax error, a missing file).
    public let key: String?
    /// Where the bad input came from: "/etc/edgenode/edgenode.toml line 7",
    /// "environment EDGENODE_HTTP_PORT", "flag --port", "file /etc/…", "flag --config".
    public let source: String
    public let message: String

    public init(key: String?, source: String, message: String) {
        self.key = key
        self.source = source
        self.message = message
    }

    /// `http.port (environment EDGENODE_HTTP_PORT): "80x" is not an integer`, or without a key
    /// `/etc/edgenode/edgenode.toml line 7: unknown key "http.prot"; did you mean "http.port"?`
    public var description: String {
        if let key { "\(key) (\(source)): \(message)" } else { "\(source): \(message)" }
    }
}

/// One documented setting of a daemon: its key, the environment variable and the flag that set
/// it, and how a value is checked and stored (`apply` throws the daemon's own error, with the
/// daemon's own message, for a value it refuses).
public struct ConfigurationKey<Configuration, Failure: Error>: Sendable {
    /// The key as the file and the flags dictionary name it: "http.port", "tls_key".
    public let key: String
    /// "EDGENODE_HTTP_PORT", "EDGENODE_RELAY_TLS_KEY".
    public let environmentVariable: String
    /// The command-line flag without "--" ("port"), if there is one.
    public let flag: String?
    /// Checks `input` and stores it; `source` says where it came from ("environment EDGENODE_HTTP_PORT").
    public let apply: @Sendable (_ input: ConfigurationInput, _ configuration: inout Configuration, _ source: String) throws(Failure) -> Void

    public init(key: String, environmentVariable: String, flag: String?,
                apply: @escaping @Sendable (_ input: ConfigurationInput, _ configuration: inout Configuration, _ source: String) throws(Failure) -> Void) {
        self.key = key
        self.environmentVariable = environmentVariable
        self.flag = flag
        self.apply = apply
    }
}

/// The one configuration mechanism of the box (`edgenode`) and the relay (`edgenode-relay`): a
/// daemon's settings come from, in increasing precedence, their defaults, an optional TOML file,
/// the environment and the command line, read against one table of documented keys
/// (`ConfigurationKey`). Each daemon keeps its own keys, messages and error type; this is what
/// they share: the layering, which source set each key, the file's reading (TOML, with line
/// numbers), and refusing unknown keys with a suggestion of the closest known one.
public struct ConfigurationLayers<Configuration, Failure: Error>: Sendable {
    public var keys: [ConfigurationKey<Configuration, Failure>]
    /// Variables that start with it are the daemon's ("EDGENODE_", "EDGENODE_RELAY_").
    public var environmentPrefix: String
    /// The variable that names the file ("EDGENODE_CONFIG"), if the daemon reads one.
    public var fileVariable: String?
    /// Variables of other programs under `environmentPrefix` that are ignored rather than refused;
    /// a variable that is one of `keys` is still the daemon's.
    public var otherProgramsPrefixes: [String] = []
    /// Whether a variable under `environmentPrefix` that names no key is an error (the box) or ignored.
    public var refusesUnknownVariables = true
    /// With `refusesUnknownVariables`: refuse only an unknown variable that looks like one of the
    /// keys (`looksLikeKey`) and ignore the others (`ignoredVariables` lists them, for a warning),
    /// so that `EDGENODE_BIN` set by someone's script stops nothing while `EDGENODE_HTTP_PROT` does.
    public var refusesOnlyKeyLikeVariables = false
    /// Whether an empty variable counts as unset (the relay) or as an empty value (the box).
    public var ignoresEmptyVariables = false
    /// Whether every value is checked as its layer is read, so that a bad value fails even when a
    /// later layer replaces it (the box), or only the value that wins, once every layer is read,
    /// in the order of `keys` (the relay).
    public var checksReplacedValues = true
    /// Where "see …" points for the known keys.
    public var documentation: String
    /// The daemon's error for a problem that is not a refused value: an unknown key, variable or
    /// table, a file that is missing or not TOML.
    public var failure: @Sendable (_ key: String?, _ source: String, _ message: String) -> Failure

    public init(keys: [ConfigurationKey<Configuration, Failure>], environmentPrefix: String, fileVariable: String? = nil, documentation: String,
                failure: @escaping @Sendable (_ key: String?, _ source: String, _ message: String) -> Failure) {
        self.keys = keys
        self.environmentPrefix = environmentPrefix
        self.fileVariable = fileVariable
        self.documentation = documentation
        self.failure = failure
    }

    /// Reads the layers over `defaults`.
    ///
    /// - file: an explicit path (`--config`); it must exist. When nil, `fileVariable` from
    ///   `environment` names the file, and it must exist; when that is unset too, `defaultFile` is
    ///   read if it exists, and otherwise there is no file.
    /// - environment: the process environment; only variables under `environmentPrefix` are read.
    /// - flags: key → the raw string from the command line.
    /// - Returns: the configuration, and which source set each key: "default", "file /etc/…",
    ///   "environment EDGENODE_HTTP_PORT", "flag --port" (or "flag http.port" for a key without a flag).
    public func load(over defaults: Configuration, file: String? = nil, defaultFile: String? = nil, environment: [String: String],
                     flags: [String: String]) throws(Failure) -> (configuration: Configuration, sources: [String: String]) {
        var configuration = defaults
        var sources: [String: String] = [:]
        for setting in keys { sources[setting.key] = "default" }
        // The values that win, when only those are checked.
        var winners: [String: (input: ConfigurationInput, source: String)] = [:]
        func take(_ setting: ConfigurationKey<Configuration, Failure>, _ input: ConfigurationInput, source: String, sourceName: String) throws(Failure) {
            if checksReplacedValues {
                try setting.apply(input, &configuration, source)
            } else {
                winners[setting.key] = (input, source)
            }
            sources[setting.key] = sourceName
        }

        // The file.
        var path: String?
        if let file {
            try checkExplicitFile(file, source: "flag --config")
            path = file
        } else if let fileVariable, let named = environment[fileVariable] {
            try checkExplicitFile(named, source: "environment \(fileVariable)")
            path = named
        } else if let defaultFile, Self.isExistingFile(defaultFile) {
            path = defaultFile
        }
        if let path {
            let document = try readFile(path)
            let knownTables = Set(keys.compactMap { $0.key.contains(".") ? String($0.key.split(separator: ".")[0]) : nil })
            for (table, line) in document.tables.sorted(by: { $0.value < $1.value }) where !knownTables.contains(table) {
                let hint = Self.suggestion(for: table, among: knownTables.sorted()).map { "; did you mean [\($0)]?" } ?? " (\(documentation))"
                throw failure(nil, "\(path) line \(line)", "unknown table [\(table)]\(hint)")
            }
            for (key, line) in document.lines.sorted(by: { ($0.value, $0.key) < ($1.value, $1.key) }) {
                guard let setting = keys.first(where: { $0.key == key }) else {
                    let hint = Self.suggestion(for: key, among: keys.map(\.key)).map { "; did you mean \"\($0)\"?" } ?? " (\(documentation))"
                    throw failure(nil, "\(path) line \(line)", "unknown key \"\(key)\"\(hint)")
                }
                try take(setting, .toml(document.values[key]!), source: "\(path) line \(line)", sourceName: "file \(path)")
            }
        }

        // The environment. A daemon's own key wins over another program's prefix (EDGENODE_RELAY_URL
        // is the box's `relay.url`).
        for name in environment.keys.sorted() where name.hasPrefix(environmentPrefix) && name != fileVariable {
            let setting = keys.first(where: { $0.environmentVariable == name })
            guard setting != nil || !otherProgramsPrefixes.contains(where: { name.hasPrefix($0) }) else { continue }
            let value = environment[name]!
            if ignoresEmptyVariables && value.isEmpty { continue }
            let source = "environment \(name)"
            guard let setting else {
                guard refusesUnknownVariables, !refusesOnlyKeyLikeVariables || looksLikeKey(name) else { continue }
                let candidates = keys.map(\.environmentVariable) + (fileVariable.map { [$0] } ?? [])
                let hint = Self.suggestion(for: name, among: candidates, prefix: environmentPrefix).map { "; did you mean \($0)?" } ?? " (\(documentation))"
                throw failure(nil, source, "unknown variable\(hint)")
            }
            try take(setting, .raw(value), source: source, sourceName: source)
        }

        // The command line.
        for key in flags.keys.sorted() {
            guard let setting = keys.first(where: { $0.key == key }) else {
                let hint = Self.suggestion(for: key, among: keys.map(\.key)).map { "; did you mean \"\($0)\"?" } ?? " (\(documentation))"
                throw failure(nil, "flag \(key)", "unknown key \"\(key)\"\(hint)")
            }
            let source = setting.flag.map { "flag --\($0)" } ?? "flag \(key)"
            try take(setting, .raw(flags[key]!), source: source, sourceName: source)
        }

        for setting in keys where !checksReplacedValues {
            guard let winner = winners[setting.key] else { continue }
            try setting.apply(winner.input, &configuration, winner.source)
        }
        return (configuration, sources)
    }

    // MARK: The file

    func checkExplicitFile(_ path: String, source: String) throws(Failure) {
        guard !path.isEmpty else { throw failure(nil, source, "the configuration file path is empty") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure(nil, source, "configuration file \(path) does not exist")
        }
        guard !isDirectory.boolValue else {
            throw failure(nil, source, "\(path) is a directory, not a configuration file")
        }
    }

    static func isExistingFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    func readFile(_ path: String) throws(Failure) -> TOMLDocument {
        let source = "file \(path)"
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).userInfo[NSUnderlyingErrorKey].map { "\($0)" } ?? error.localizedDescription
            throw failure(nil, source, "cannot read the file: \(reason)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw failure(nil, source, "the file is not valid UTF-8")
        }
        do {
            return try TOMLDocument.parse(text)
        } catch {
            throw failure(nil, "\(path) line \(error.line)", error.message)
        }
    }

    // MARK: Suggestions

    /// The known name closest to `name` (a typo, or the right key in the wrong table), if any is close.
    /// - Parameter prefix: the environment prefix, dropped when comparing last segments.
    /// Whether an unknown variable under `environmentPrefix` looks like a configuration key: it
    /// starts with a table of the keys (`EDGENODE_HTTP_…` for `http.*`), or `suggestion` finds a key
    /// it may mean (`EDGENODE_DATADIR`, `EDGENODE_PORT`). `EDGENODE_BIN` does not.
    public func looksLikeKey(_ name: String) -> Bool {
        let candidates = keys.map(\.environmentVariable) + (fileVariable.map { [$0] } ?? [])
        let tables = Set(keys.compactMap { key in key.key.firstIndex(of: ".").map { String(key.key[..<$0]) } })
        let rest = name.dropFirst(environmentPrefix.count).uppercased()
        if tables.contains(where: { rest.hasPrefix($0.uppercased() + "_") }) { return true }
        return Self.suggestion(for: name, among: candidates, prefix: environmentPrefix) != nil
    }

    /// The variables under `environmentPrefix` that `load` ignores although they belong to no other
    /// program: unknown, and not like a key (with `refusesOnlyKeyLikeVariables`). Sorted.
    public func ignoredVariables(in environment: [String: String]) -> [String] {
        guard refusesUnknownVariables, refusesOnlyKeyLikeVariables else { return [] }
        return environment.keys.sorted().filter { name in
            name.hasPrefix(environmentPrefix) && name != fileVariable && !keys.contains { $0.environmentVariable == name }
                && !otherProgramsPrefixes.contains { name.hasPrefix($0) } && !looksLikeKey(name)
        }
    }

    public static func suggestion(for name: String, among candidates: [String], prefix: String = "EDGENODE_") -> String? {
        let lowered = name.lowercased()
        let scored = candidates.map { ($0, editDistance(lowered, $0.lowercased())) }
        if let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, name.count / 4) {
            return best.0
        }
        // `port = 80` outside [http]: the same last segment under another table.
        var tail = lowered
        if let dot = tail.lastIndex(of: ".") {
            tail = String(tail[tail.index(after: dot)...])
        } else if tail.hasPrefix(prefix.lowercased()) {
            tail = String(tail.dropFirst(prefix.count))
        }
        let sameLast = candidates.filter { candidate in
            let c = candidate.lowercased()
            return c.hasSuffix("." + tail) || c.hasSuffix("_" + tail)
        }
        // Several tables have it (`http.port`, `messaging.email.port`): the shallowest one, if only one is.
        let depth = { (key: String) in key.filter { $0 == "." || $0 == "_" }.count }
        guard let shallowest = sameLast.map(depth).min() else { return nil }
        let candidatesAtDepth = sameLast.filter { depth($0) == shallowest }
        return candidatesAtDepth.count == 1 ? candidatesAtDepth[0] : nil
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
