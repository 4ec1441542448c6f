#!/usr/bin/env python3
"""Independent verifier for edgenode version-1 changesets, written from docs/sync-protocol.md.

  verify_changeset.py CHANGESET_FILE PUBLIC_KEY_HEX [--expect-site HEX] [--expect-business-owner OWNER_PUBLIC_KEY_HEX]
  verify_changeset.py --selftest          build the worked example, verify it, check that tampering is caught
  verify_changeset.py --example [FILE]    print the worked example as annotated hex (and write it to FILE)

Prints one JSON object; exits 0 when the changeset verifies, 1 otherwise.
Needs PyNaCl (libsodium): Ed25519 and BLAKE2b.

The decoder refuses exactly what SignedChangeset.decode (Sources/Replication/Encoding/Changeset.swift,
with ByteReader in Bytes.swift) refuses; in particular:
  - varints that are not canonical: a final 00 byte after one or more continuation bytes
    ("80 00" is refused, "00" alone is 0), or a 10th byte other than 01 (so at most 10 bytes, 64 bits);
  - a sequence number or a causal length of 0 or above 2^63-1;
  - table and column names that are empty, repeated, or not printable ASCII (bytes 0x20-0x7E);
    names are compared byte for byte, with no Unicode normalisation;
  - strings that are not valid UTF-8, lengths and counts beyond their limits or the bytes left,
    unknown value tags, row keys that are not text or blob of at most 256 bytes, an even causal
    length with cells, a column named twice in a row, a cell timestamp outside the clock range,
    an inverted clock range, and trailing bytes before the signature.
Value tag 5 carries a UUID as its 16 bytes and decodes to canonical lower-case 8-4-4-4-12 text.
"""
import argparse, json, math, re, struct, sys

import nacl.encoding, nacl.exceptions, nacl.hash, nacl.signing

MAGIC, VERSION, SIG_LEN = b"EDGC", 1, 64
MAX_BYTES, MAX_TABLES, MAX_COLUMNS, MAX_KEY_BYTES = 16 << 20, 1024, 2000, 256  # ChangesetLimits.standard
MAX_NAME, MAX_TEXT, MAX_BLOB = 256, 1 << 24, 1 << 26
MIN_LEN = 4 + 1 + 16 + 16 + 1 + 32 + 16 + 1 + SIG_LEN  # 151: the smallest possible changeset
MAX_INT64 = 2**63 - 1  # sequence numbers and causal lengths must fit in a signed 64-bit integer


class Invalid(Exception):
    """The changeset is refused; the message says why."""


def blake2b(data, size):
    return nacl.hash.blake2b(data, digest_size=size, encoder=nacl.encoding.RawEncoder)


def site_id(public_key):
    return blake2b(b"edgenode.site.v1" + public_key, 16)


def business_id(owner_key):
    return blake2b(b"edgenode.business.v1" + owner_key, 16)


# ---------------------------------------------------------------- decoding

class Reader:
    def __init__(self, data, end):
        self.data, self.pos, self.end = data, 0, end

    def remaining(self):
        return self.end - self.pos

    def fail(self, message, at=None):
        raise Invalid(f"{message} (at byte {self.pos if at is None else at})")

    def byte(self):
        if self.pos >= self.end:
            self.fail("truncated: unexpected end of data")
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n):
        if n > self.remaining():
            self.fail(f"truncated: {n} bytes declared, {self.remaining()} left")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def varint(self):  # LEB128, canonical (shortest form), at most 10 bytes, must fit in 64 bits
        start, result, shift = self.pos, 0, 0
        while True:
            b = self.byte()
            if shift == 63 and b > 1:
                self.fail("varint overflows 64 bits", start)
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                if b == 0 and shift > 0:
                    self.fail("non-canonical (overlong) varint", start)
                return result
            shift += 7

    def count(self, limit, what):
        start, value = self.pos, self.varint()
        if value > limit:
            self.fail(f"{what} {value} exceeds the limit of {limit}", start)
        return value

    def u64(self):
        if self.remaining() < 8:
            self.fail("truncated: unexpected end of data in a 64-bit integer")
        return int.from_bytes(self.take(8), "big")

    def string(self, limit):
        raw = self.take(self.count(min(limit, self.remaining()), "string length"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("string is not valid UTF-8", self.pos - len(raw))

    def value(self):  # tagged SQLite value
        start, tag = self.pos, self.byte()
        if tag == 0:
            return None
        if tag == 1:
            raw = self.varint()
            return (raw >> 1) ^ -(raw & 1)  # zig-zag
        if tag == 2:
            return struct.unpack(">d", self.u64().to_bytes(8, "big"))[0]  # IEEE 754 binary64
        if tag == 3:
            return self.string(MAX_TEXT)
        if tag == 4:
            return bytes(self.take(self.count(min(MAX_BLOB, self.remaining()), "blob length")))
        if tag == 5:  # a UUID in canonical lower-case text form, sent as its 16 bytes
            h = bytes(self.take(16)).hex()
            return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
        self.fail(f"unknown value tag {tag}", start)


def is_plain_name(name):
    # Names on the wire are printable ASCII (isPlainName), so they compare byte for byte.
    return all(0x20 <= b < 0x7F for b in name.encode("utf-8"))


def decode(data):
    """Decodes the structure (not the signature) exactly as SignedChangeset.decode does."""
    if len(data) > MAX_BYTES:
        raise Invalid(f"too large: changeset is {len(data)} bytes; the limit is {MAX_BYTES}")
    if len(data) < MIN_LEN:
        raise Invalid(f"truncated: changeset is {len(data)} bytes, shorter than the smallest possible ({MIN_LEN})")
    r = Reader(data, len(data) - SIG_LEN)
    if r.take(4) != MAGIC:
        raise Invalid("not a changeset (bad magic)")
    version = r.byte()
    if version != VERSION:
        raise Invalid(f"unsupported changeset format version {version}")
    cs = {"business": bytes(r.take(16)), "author": bytes(r.take(16))}
    at = r.pos
    cs["sequence"] = r.varint()
    if not 1 <= cs["sequence"] <= MAX_INT64:
        r.fail("sequence numbers start at 1" if cs["sequence"] == 0 else f"sequence number {cs['sequence']} exceeds 2^63-1", at)
    cs["previous_hash"] = bytes(r.take(32))
    cs["clock_min"], cs["clock_max"] = r.u64(), r.u64()
    if cs["clock_min"] > cs["clock_max"]:
        r.fail("clock range is inverted", r.pos - 16)
    rows, tables = [], []
    for _ in range(r.count(MAX_TABLES, "table count")):
        at = r.pos
        table = r.string(MAX_NAME)
        if not is_plain_name(table):
            r.fail("table name must be printable ASCII", at)
        if not table or table in tables:
            r.fail("empty table name" if not table else f"table {table!r} appears twice", at)
        tables.append(table)
        columns = []
        for _ in range(r.count(min(MAX_COLUMNS, r.remaining()), "column count")):
            at = r.pos
            column = r.string(MAX_NAME)
            if not is_plain_name(column):
                r.fail("column name must be printable ASCII", at)
            if not column or column in columns:
                r.fail("empty column name" if not column else f"column {column!r} appears twice", at)
            columns.append(column)
        for _ in range(r.count(r.remaining() // 3, "row count")):
            at = r.pos
            key = r.value()
            if not (isinstance(key, str) and len(key.encode()) <= MAX_KEY_BYTES
                    or isinstance(key, bytes) and len(key) <= MAX_KEY_BYTES):
                r.fail(f"row key must be text or blob of at most {MAX_KEY_BYTES} bytes", at)
            at = r.pos
            causal_length = r.varint()
            if not 1 <= causal_length <= MAX_INT64:
                r.fail("causal length must be between 1 and 2^63-1", at)
            cell_count = r.count(min(len(columns), r.remaining()), "cell count")
            if causal_length % 2 == 0 and cell_count > 0:
                r.fail("a delete (even causal length) carries no cells", at)
            cells, used = [], set()
            for _ in range(cell_count):
                at = r.pos
                index = r.count(len(columns) - 1, "column index")
                if index in used:
                    r.fail(f"a row names column {columns[index]!r} twice", at)
                used.add(index)
                timestamp = cs["clock_min"] + r.varint()
                if timestamp > cs["clock_max"]:  # also covers 64-bit overflow, since clock_max < 2**64
                    r.fail("cell timestamp lies outside the changeset's clock range", at)
                cells.append({"column": columns[index], "value": r.value(), "timestamp": timestamp})
            rows.append({"table": table, "key": key, "causal_length": causal_length, "cells": cells})
    if r.remaining():
        r.fail(f"{r.remaining()} unexpected bytes before the signature (trailing bytes)")
    cs["rows"] = rows
    return cs


def verify(data, public_key, expect_site=None, expect_owner=None):
    """Returns the JSON-ready result for a changeset that verifies; raises Invalid otherwise."""
    cs = decode(data)
    if site_id(public_key) != cs["author"]:
        raise Invalid(f"site/key mismatch: author site {cs['author'].hex()} is not the site "
                      f"{site_id(public_key).hex()} of public key {public_key.hex()}")
    try:
        nacl.signing.VerifyKey(public_key).verify(data[:-SIG_LEN], data[-SIG_LEN:])
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
        raise Invalid("bad signature: the Ed25519 signature does not verify against the public key")
    if expect_site is not None and expect_site != cs["author"]:
        raise Invalid(f"unexpected author: site {cs['author'].hex()}, expected {expect_site.hex()}")
    if expect_owner is not None and business_id(expect_owner) != cs["business"]:
        raise Invalid(f"wrong business: {cs['business'].hex()}, the owner key's business is {business_id(expect_owner).hex()}")
    return {"ok": True, "author": cs["author"].hex(), "business": cs["business"].hex(), "sequence": cs["sequence"],
            "previous_hash": cs["previous_hash"].hex(), "hash": blake2b(data, 32).hex(),
            "clock_min": cs["clock_min"], "clock_max": cs["clock_max"],
            "rows": [dict(row, key=json_value(row["key"]), cells=[dict(c, value=json_value(c["value"])) for c in row["cells"]])
                     for row in cs["rows"]]}


def json_value(v):
    if isinstance(v, bytes):
        return {"blob": v.hex()}
    if isinstance(v, float) and not math.isfinite(v):
        return {"real": repr(v)}  # JSON has no NaN/Infinity
    return v


# ---------------------------------------------------------------- encoding (the worked example)

def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def tagged(v):
    if v is None:
        return b"\x00"
    if isinstance(v, int):
        return b"\x01" + varint(((v << 1) ^ (v >> 63)) & (2**64 - 1))
    if isinstance(v, float):
        return b"\x02" + struct.pack(">d", v)
    if isinstance(v, str) and UUID_TEXT.fullmatch(v):
        return b"\x05" + bytes.fromhex(v.replace("-", ""))
    raw = v.encode() if isinstance(v, str) else v
    return (b"\x03" if isinstance(v, str) else b"\x04") + varint(len(raw)) + raw


SITE_SEED, OWNER_SEED = bytes([1]) * 32, bytes([2]) * 32
CLOCK = 1_700_000_000_000 << 16  # HLC: 2023-11-14T22:13:20Z, counter 0


def example():
    """The worked example as (bytes, annotation) parts: one table, one row, two cells."""
    key = nacl.signing.SigningKey(SITE_SEED)
    author, business = site_id(bytes(key.verify_key)), business_id(bytes(nacl.signing.SigningKey(OWNER_SEED).verify_key))
    parts = [(MAGIC, 'magic "EDGC"'), (bytes([VERSION]), "format version 1"),
             (business, "business id (owner seed 02*32)"), (author, "author site id (seed 01*32)"),
             (varint(1), "sequence 1 (varint)"), (bytes(32), "previous hash: zeros for sequence 1"),
             (CLOCK.to_bytes(8, "big"), "clock min: ms 1700000000000, counter 0"),
             ((CLOCK + 1).to_bytes(8, "big"), "clock max: ms 1700000000000, counter 1"),
             (varint(1), "table count 1"), (varint(5) + b"items", 'table name "items"'),
             (varint(2), "column count 2"), (varint(4) + b"name", 'column 0 "name"'),
             (varint(5) + b"price", 'column 1 "price"'), (varint(1), "row count 1"),
             (tagged("018bcfe5-6800-7000-8000-000000000001"), "key: tag 5 UUID text as 16 bytes (018bcfe5-6800-7000-8000-000000000001)"),
             (varint(1), "causal length 1 (row exists)"), (varint(2), "cell count 2"),
             (varint(0), "cell: column index 0 (name)"), (varint(0), "      timestamp delta 0"),
             (tagged("tea"), '      value: tag 3 text "tea"'),
             (varint(1), "cell: column index 1 (price)"), (varint(1), "      timestamp delta 1"),
             (tagged(350), "      value: tag 1 integer 350 (zig-zag 700)")]
    unsigned = b"".join(p for p, _ in parts)
    parts.append((key.sign(unsigned).signature, "Ed25519 signature over all preceding bytes"))
    return parts, bytes(key.verify_key)


def annotated(parts):
    lines, offset = [], 0
    for chunk, label in parts:
        for i in range(0, len(chunk), 16):
            piece = chunk[i:i + 16]
            lines.append(f"{offset + i:04x}  {' '.join(f'{b:02x}' for b in piece):<47}  {label if i == 0 else ''}".rstrip())
        offset += len(chunk)
    return "\n".join(lines)


def selftest():
    parts, public_key = example()
    data = b"".join(p for p, _ in parts)
    checks = []

    def check(name, condition):
        checks.append(condition)
        print(f"{'ok  ' if condition else 'FAIL'} {name}")

    def outcome(blob, key=public_key, **kw):
        try:
            return verify(blob, key, **kw)
        except Invalid as error:
            return {"ok": False, "error": str(error)}

    good = outcome(data, expect_site=site_id(public_key), expect_owner=bytes(nacl.signing.SigningKey(OWNER_SEED).verify_key))
    check(f"example ({len(data)} bytes) verifies, hash {good.get('hash', '?')[:16]}…", good["ok"])
    check("decoded fields match", good.get("sequence") == 1 and good.get("clock_max") == CLOCK + 1 and good.get("rows") == [
        {"table": "items", "key": "018bcfe5-6800-7000-8000-000000000001", "causal_length": 1,
         "cells": [{"column": "name", "value": "tea", "timestamp": CLOCK}, {"column": "price", "value": 350, "timestamp": CLOCK + 1}]}])
    flipped = bytearray(data)
    flipped[data.index(b"tea")] ^= 0x01  # "tea" -> "uea": still well-formed
    result = outcome(bytes(flipped))
    check(f"one flipped payload byte is refused: {result.get('error')}", not result["ok"] and "bad signature" in result["error"])
    for name, blob, expected in [("truncated", data[:-1], "truncated"), ("trailing byte", data + b"\0", "trailing"),
                                 ("bad magic", b"EDGX" + data[4:], "bad magic"), ("empty file", b"", "truncated")]:
        result = outcome(blob)
        check(f"{name} is refused: {result.get('error')}", not result["ok"] and expected in result["error"])
    result = outcome(data, key=bytes(nacl.signing.SigningKey(OWNER_SEED).verify_key))
    check(f"another key is refused: {result.get('error', '')[:40]}…", not result["ok"] and "site/key mismatch" in result["error"])

    def resigned(label, replacement):
        """The example with the part whose annotation starts with `label` replaced, signed again,
        so that only the decoder can refuse it."""
        unsigned = b"".join(replacement if lbl.startswith(label) else chunk for chunk, lbl in parts[:-1])
        assert any(lbl.startswith(label) for _, lbl in parts[:-1]), label
        return unsigned + nacl.signing.SigningKey(SITE_SEED).sign(unsigned).signature

    for name, blob, expected in [
            ("overlong varint (sequence 1 as 81 00)", resigned("sequence", b"\x81\x00"), "non-canonical (overlong) varint"),
            ("overlong varint (row count 1 as 81 80 00)", resigned("row count", b"\x81\x80\x00"), "non-canonical (overlong) varint"),
            ("sequence 2^63", resigned("sequence", varint(2**63)), "exceeds 2^63-1"),
            ("causal length 2^63+1", resigned("causal length", varint(2**63 + 1)), "between 1 and 2^63-1"),
            ("non-ASCII table name 'itéms'", resigned("table name", varint(6) + "itéms".encode()), "table name must be printable ASCII"),
            ("column name with byte 0x7f", resigned("column 0", varint(4) + b"nam\x7f"), "column name must be printable ASCII")]:
        result = outcome(blob)
        check(f"{name} is refused: {result.get('error')}", not result["ok"] and expected in result["error"])
    result = outcome(resigned("sequence", varint(2**63 - 1)))
    check("sequence 2^63-1 (the largest allowed) verifies", result["ok"] and result["sequence"] == 2**63 - 1)
    refused = [not outcome(data[:i] + bytes([data[i] ^ m]) + data[i + 1:])["ok"] for i in range(len(data)) for m in (0x01, 0x80, 0xFF)]
    refused += [not outcome(data[:n])["ok"] for n in range(len(data))]
    check(f"all {len(refused)} single-byte mutations and truncations are refused without an exception", all(refused))
    print("selftest passed" if all(checks) else "selftest FAILED")
    return 0 if all(checks) else 1


# ---------------------------------------------------------------- command line

def hex_bytes(text, size, what):
    try:
        assert len(text) == size * 2
        return bytes.fromhex(text)
    except (AssertionError, ValueError):
        raise Invalid(f"{what} must be {size * 2} hex digits") from None


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Invalid(f"usage: {message}")


def main(argv):
    if argv[:1] == ["--selftest"]:
        return selftest()
    if argv[:1] == ["--example"]:
        parts, _ = example()
        print(annotated(parts))
        if len(argv) > 1:
            with open(argv[1], "wb") as f:
                f.write(b"".join(p for p, _ in parts))
        return 0
    parser = Parser(prog="verify_changeset.py")
    parser.add_argument("changeset_file")
    parser.add_argument("public_key_hex")
    parser.add_argument("--expect-site")
    parser.add_argument("--expect-business-owner")
    args = parser.parse_args(argv)
    public_key = hex_bytes(args.public_key_hex, 32, "PUBLIC_KEY_HEX")
    site = hex_bytes(args.expect_site, 16, "--expect-site") if args.expect_site else None
    owner = hex_bytes(args.expect_business_owner, 32, "--expect-business-owner") if args.expect_business_owner else None
    try:
        with open(args.changeset_file, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as error:
        raise Invalid(f"cannot read {args.changeset_file}: {error.strerror or error}")
    print(json.dumps(verify(data, public_key, site, owner)))
    return 0


if __name__ == "__main__":
    try:
        try:
            sys.exit(main(sys.argv[1:]))
        except Invalid as error:
            print(json.dumps({"ok": False, "error": str(error)}))
        except Exception as error:  # never an uncaught exception, whatever the input
            print(json.dumps({"ok": False, "error": f"internal error: {type(error).__name__}: {error}"}))
    except OSError:  # stdout itself is gone (a closed pipe): nothing left to report to
        pass
    sys.exit(1)
