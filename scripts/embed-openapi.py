#!/usr/bin/env python3
"""Embeds docs/openapi.yaml in Sources/LocalAPI/OpenAPIDocument.swift (served at GET /openapi.json).

    scripts/embed-openapi.py           regenerate the Swift file
    scripts/embed-openapi.py --check   exit 1 if the Swift file is out of date (changes nothing)

The document is written as compact JSON with sorted keys, so the output is deterministic.
Needs PyYAML (`python3 -m pip install pyyaml`).
"""
import argparse
import json
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    sys.exit("embed-openapi.py needs PyYAML: python3 -m pip install pyyaml")

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "docs" / "openapi.yaml"
TARGET = ROOT / "Sources" / "LocalAPI" / "OpenAPIDocument.swift"


class TextDatesLoader(yaml.SafeLoader):
    """YAML 1.1 would read an unquoted 2026-03-01 as a date; JSON has none, so keep such values as the text written."""


def _timestamp_as_text(loader, node):
    return loader.construct_scalar(node)


TextDatesLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def render(document_text: str) -> str:
    document = yaml.load(document_text, Loader=TextDatesLoader)
    if not isinstance(document, dict) or "openapi" not in document:
        raise ValueError(f"{SOURCE.relative_to(ROOT)} is not an OpenAPI document")
    compact = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # The raw string literal ends at `"""#` and interpolates at `\#(`; compact JSON contains neither, but be sure.
    if '"""#' in compact or "\\#" in compact:
        raise ValueError("the document contains a sequence that cannot go into a Swift raw string literal")
    return (
        "// Generated from docs/openapi.yaml by scripts/embed-openapi.py; do not edit by hand.\n"
        "public enum OpenAPIDocument {\n"
        "    public static let json: [UInt8] = Array(text.utf8)\n"
        '    static let text = #"""\n'
        f"{compact}\n"
        '"""#\n'
        "}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the Swift file is out of date; write nothing")
    arguments = parser.parse_args()
    try:
        expected = render(SOURCE.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, yaml.YAMLError) as error:
        print(f"embed-openapi: {error}", file=sys.stderr)
        return 2
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if arguments.check:
        if current != expected:
            print(f"{TARGET.relative_to(ROOT)} is out of date with {SOURCE.relative_to(ROOT)}; run scripts/embed-openapi.py", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        TARGET.write_text(expected, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
