// Generated from docs/openapi.yaml by scripts/embed-openapi.py; do not edit by hand.
public enum OpenAPIDocument {
    public static let json: [UInt8] = Array(text.utf8)
    static let text = #"""
{"openapi": "3.1.0", "info": {"title": "edgenode local API", "version": "1"}, "paths": {}}
"""#
}
