/// The methods each route path takes, to tell "no such path" (404) from "not with this method"
/// (405, with `Allow`) after a router found no route.
///
/// Paths are templates: a segment written `{name}`, `:name` or `*` matches any one segment.
public struct AllowedMethods: Sendable {
    let routes: [(method: String, segments: [Substring])]

    /// - Parameter routes: every route's method and path template, in the order `Allow` lists them.
    public init(_ routes: [(method: String, path: String)]) {
        self.routes = routes.map { ($0.method, $0.path.split(separator: "/")) }
    }

    /// The methods some route takes on `path` (each once, in the routes' order); empty when no route has the path.
    public func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        var methods: [String] = []
        for route in routes where route.segments.count == segments.count && !methods.contains(route.method) {
            let matches = zip(route.segments, segments).allSatisfy { template, segment in
                template == segment || template == "*" || template.first == ":" || template.first == "{"
            }
            if matches { methods.append(route.method) }
        }
        return methods
    }

    /// A `405` `method_not_allowed` problem when `path` exists with other methods than `method`; nil otherwise.
    /// - Parameter title: the document's title (the box's and the relay's wording differ).
    public func problem(method: String, path: String, title: String = "Method not allowed", instance: String? = nil) -> ProblemDocument? {
        let allowed = methods(for: path)
        guard !allowed.isEmpty, !allowed.contains(method) else { return nil }
        return ProblemDocument(status: 405, kind: "method_not_allowed", title: title,
                               detail: "\(method) is not allowed on \(path); use \(allowed.joined(separator: ", "))",
                               instance: instance, allow: allowed)
    }
}
