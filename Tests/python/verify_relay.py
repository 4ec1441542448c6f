#!/usr/bin/env python3
"""Independent implementation of the relay's wire formats, written from docs/relay-protocol.md
(§2 envelopes, §3 sealed data keys, §4 signed requests, §12 invitations and join requests, §13 sealed
snapshots) with PyNaCl (libsodium).

  verify_relay.py open-envelope FILE AUTHOR_PUBLIC_KEY_HEX DATA_KEY_HEX
      decode, check the signature and the site id, decrypt; prints the fields and the payload (hex)
  verify_relay.py seal-envelope AUTHOR_SEED_HEX BUSINESS_HEX SEQUENCE PREVIOUS_HASH_HEX KEY_ID DATA_KEY_HEX SEALED_AT PAYLOAD_FILE OUT_FILE
      write an envelope
  verify_relay.py open-sealed-key FILE RECIPIENT_SEED_HEX
      check the sealer's signature and open the key with the recipient's key; prints it (hex)
  verify_relay.py sign-request SEED_HEX BUSINESS_HEX METHOD TARGET BODY_FILE TIMESTAMP NONCE_HEX
      print the Authorization header value for this request
  verify_relay.py verify-token TOKEN
      parse an invitation token (§12.1): check the owner's signature and that the seed is the invitation key's; prints the fields
  verify_relay.py make-token OWNER_SEED_HEX INVITATION_SEED_HEX ROLE BRANCH RELAY_URL ISSUED_AT NOT_AFTER
      print an invitation token
  verify_relay.py make-join-request TOKEN BOX_SEED_HEX REQUESTED_AT LABEL OUT_FILE
      write a join request (§12.2) for the box key under the token's invitation
  verify_relay.py open-snapshot FILE PRODUCER_PUBLIC_KEY_HEX DATA_KEY_HEX
      decode a sealed snapshot (§13.1), check the signature and the producer, decrypt; prints the fields and the snapshot (hex)

Prints one JSON object; exits 0 on success, 1 when the input is refused.
"""
import json, struct, sys

import nacl.bindings as b
import nacl.encoding, nacl.exceptions, nacl.hash, nacl.signing

HEADER, SIG, TAG = 117, 64, 16


class Invalid(Exception):
    pass


def blake2b(data, size):
    return nacl.hash.blake2b(data, digest_size=size, encoder=nacl.encoding.RawEncoder)


def site_id(public_key):
    return blake2b(b"edgenode.site.v1" + public_key, 16)


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string(s):
    data = s.encode("utf-8")
    return varint(len(data)) + data


def verify(public_key, signature, message):
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def open_envelope(path, author_key_hex, data_key_hex):
    data = open(path, "rb").read()
    if len(data) < HEADER + TAG + SIG:
        raise Invalid("too short")
    if data[0:4] != b"EDEV":
        raise Invalid("bad magic")
    if data[4] != 1:
        raise Invalid("unsupported version")
    business, author = data[5:21], data[21:37]
    sequence, sealed_at, key_id = struct.unpack(">QqI", data[37:57])
    previous, nonce = data[57:89], data[89:113]
    (length,) = struct.unpack(">I", data[113:117])
    if not 1 <= sequence <= 2**63 - 1 or key_id < 1:
        raise Invalid("bad sequence or key generation")
    if sequence == 1 and previous != bytes(32):
        raise Invalid("first envelope with a previous hash")
    if length < TAG or length != len(data) - HEADER - SIG:
        raise Invalid("ciphertext length disagrees with the size")
    author_key = bytes.fromhex(author_key_hex)
    if site_id(author_key) != author:
        raise Invalid("the key is not the author's")
    if not verify(author_key, data[-SIG:], data[:-SIG]):
        raise Invalid("bad signature")
    try:
        payload = b.crypto_aead_xchacha20poly1305_ietf_decrypt(data[HEADER:-SIG], data[:HEADER], nonce, bytes.fromhex(data_key_hex))
    except nacl.exceptions.CryptoError:
        raise Invalid("decryption failed")
    return {"ok": True, "business": business.hex(), "author": author.hex(), "sequence": sequence, "sealed_at": sealed_at,
            "key_id": key_id, "previous_hash": previous.hex(), "hash": blake2b(data, 32).hex(), "payload": payload.hex()}


def seal_envelope(seed_hex, business_hex, sequence, previous_hex, key_id, data_key_hex, sealed_at, payload_path, out_path):
    key = nacl.signing.SigningKey(bytes.fromhex(seed_hex))
    payload = open(payload_path, "rb").read()
    nonce = b.randombytes(24)
    header = (b"EDEV" + bytes([1]) + bytes.fromhex(business_hex) + site_id(bytes(key.verify_key))
              + struct.pack(">QqI", int(sequence), int(sealed_at), int(key_id)) + bytes.fromhex(previous_hex) + nonce
              + struct.pack(">I", len(payload) + TAG))
    assert len(header) == HEADER
    ciphertext = b.crypto_aead_xchacha20poly1305_ietf_encrypt(payload, header, nonce, bytes.fromhex(data_key_hex))
    signed = header + ciphertext
    envelope = signed + key.sign(signed).signature
    open(out_path, "wb").write(envelope)
    return {"ok": True, "hash": blake2b(envelope, 32).hex(), "length": len(envelope)}


def open_sealed_key(path, recipient_seed_hex):
    data = open(path, "rb").read()
    if len(data) != 253 or data[0:4] != b"EDDK" or data[4] != 1:
        raise Invalid("not a version-1 sealed key of 253 bytes")
    business, (key_id,), recipient, sealer = data[5:21], struct.unpack(">I", data[21:25]), data[25:57], data[57:89]
    if not verify(sealer, data[189:], data[:189]):
        raise Invalid("bad signature")
    key = nacl.signing.SigningKey(bytes.fromhex(recipient_seed_hex))
    if bytes(key.verify_key) != recipient:
        raise Invalid("another recipient")
    secret = b.crypto_sign_ed25519_sk_to_curve25519(bytes(key._signing_key))
    public = b.crypto_sign_ed25519_pk_to_curve25519(recipient)
    try:
        plaintext = b.crypto_box_seal_open(data[89:189], public, secret)
    except nacl.exceptions.CryptoError:
        raise Invalid("does not open")
    if plaintext[0:16] != business or struct.unpack(">I", plaintext[16:20])[0] != key_id:
        raise Invalid("content does not match the header")
    return {"ok": True, "business": business.hex(), "key_id": key_id, "sealer": sealer.hex(), "key": plaintext[20:].hex()}


def sign_request(seed_hex, business_hex, method, target, body_path, timestamp, nonce_hex):
    key = nacl.signing.SigningKey(bytes.fromhex(seed_hex))
    site = site_id(bytes(key.verify_key))
    path, _, query = target.partition("?")
    body = open(body_path, "rb").read()
    message = (b"edgenode.relay.request.v1" + string(method) + string(path) + string(query) + blake2b(body, 32)
               + struct.pack(">q", int(timestamp)) + bytes.fromhex(business_hex) + site + bytes.fromhex(nonce_hex))
    signature = key.sign(message).signature
    header = (f"EdgenodeRelay-Ed25519 business={business_hex},site={site.hex()},timestamp={int(timestamp)},"
              f"nonce={nonce_hex},signature={signature.hex()}")
    return {"ok": True, "authorization": header}


class Reader:
    def __init__(self, data, offset=0):
        self.data, self.offset = data, offset

    def take(self, n):
        if n < 0 or self.offset + n > len(self.data):
            raise Invalid("truncated")
        out = self.data[self.offset:self.offset + n]
        self.offset += n
        return out

    def varint(self):
        result, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            result |= (byte & 0x7F) << shift
            if byte & 0x80 == 0:
                if byte == 0 and shift > 0:
                    raise Invalid("overlong varint")
                return result
            shift += 7
            if shift > 63:
                raise Invalid("varint too long")

    def string(self, limit):
        n = self.varint()
        if n > limit:
            raise Invalid("string too long")
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("string is not UTF-8")


TOKEN_PREFIX = "edgenode-invite-1:"
WEEK_MS = 7 * 86400000


def b64url_decode(text):
    import base64, re
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise Invalid("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise Invalid("non-canonical base64url")
    return data


def b64url_encode(data):
    import base64
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def read_invitation(reader):
    start = reader.offset
    if reader.take(4) != b"EDIV":
        raise Invalid("bad magic")
    if reader.take(1)[0] != 1:
        raise Invalid("unsupported version")
    owner, invitation_key = reader.take(32), reader.take(32)
    issued_at, not_after = struct.unpack(">qq", reader.take(16))
    role, branch, relay = reader.string(32), reader.string(128), reader.string(512)
    signed = reader.data[start:reader.offset]
    signature = reader.take(64)
    if not role or not all(c.isascii() and (c.isalpha() or c == "_") for c in role):
        raise Invalid("bad role")
    if not relay or issued_at > not_after or not_after - issued_at > WEEK_MS:
        raise Invalid("bad relay or validity")
    if not verify(owner, signature, signed):
        raise Invalid("bad signature")
    return {"owner_key": owner.hex(), "invitation_key": invitation_key.hex(), "issued_at": issued_at, "not_after": not_after,
            "role": role, "branch": branch, "relay_url": relay,
            "business": blake2b(b"edgenode.business.v1" + owner, 16).hex(), "invitation": site_id(invitation_key).hex(),
            "bytes": signed + signature}


def parse_token(token):
    if not token.startswith(TOKEN_PREFIX):
        raise Invalid("not a version-1 invitation token")
    data = b64url_decode(token[len(TOKEN_PREFIX):])
    reader = Reader(data)
    invitation = read_invitation(reader)
    seed = reader.take(32)
    if reader.offset != len(data):
        raise Invalid("trailing bytes")
    key = nacl.signing.SigningKey(seed)
    if bytes(key.verify_key).hex() != invitation["invitation_key"]:
        raise Invalid("the seed is not the invitation key's")
    return invitation, key


def verify_token(token):
    invitation, _ = parse_token(token)
    del invitation["bytes"]
    return dict(ok=True, **invitation)


def make_token(owner_seed_hex, invitation_seed_hex, role, branch, relay, issued_at, not_after):
    owner = nacl.signing.SigningKey(bytes.fromhex(owner_seed_hex))
    seed = bytes.fromhex(invitation_seed_hex)
    invitation_key = bytes(nacl.signing.SigningKey(seed).verify_key)
    body = (b"EDIV" + bytes([1]) + bytes(owner.verify_key) + invitation_key + struct.pack(">qq", int(issued_at), int(not_after))
            + string(role) + string(branch) + string(relay))
    record = body + owner.sign(body).signature
    return {"ok": True, "token": TOKEN_PREFIX + b64url_encode(record + seed)}


def make_join_request(token, box_seed_hex, requested_at, label, out_path):
    invitation, invitation_key = parse_token(token)
    box = nacl.signing.SigningKey(bytes.fromhex(box_seed_hex))
    body = (b"EDJR" + bytes([1]) + bytes.fromhex(invitation["business"]) + bytes(invitation_key.verify_key) + bytes(box.verify_key)
            + struct.pack(">q", int(requested_at)) + string(label))
    request = body + box.sign(body).signature + invitation_key.sign(body).signature
    open(out_path, "wb").write(request)
    return {"ok": True, "length": len(request), "box": site_id(bytes(box.verify_key)).hex()}


def open_snapshot(path, producer_key_hex, data_key_hex):
    data = open(path, "rb").read()
    reader = Reader(data)
    if reader.take(4) != b"EDSS":
        raise Invalid("bad magic")
    if reader.take(1)[0] != 1:
        raise Invalid("unsupported version")
    business, producer = reader.take(16), reader.take(16)
    created_at, key_id = struct.unpack(">qI", reader.take(12))
    nonce = reader.take(24)
    (vector_length,) = struct.unpack(">I", reader.take(4))
    vector = reader.take(vector_length)
    (length,) = struct.unpack(">Q", reader.take(8))
    header = data[:reader.offset]
    if key_id < 1 or vector_length > 65536 or length < TAG or length != len(data) - reader.offset - SIG:
        raise Invalid("bad header")
    producer_key = bytes.fromhex(producer_key_hex)
    if site_id(producer_key) != producer:
        raise Invalid("the key is not the producer's")
    if not verify(producer_key, data[-SIG:], data[:-SIG]):
        raise Invalid("bad signature")
    try:
        snapshot = b.crypto_aead_xchacha20poly1305_ietf_decrypt(data[reader.offset:-SIG], header, nonce, bytes.fromhex(data_key_hex))
    except nacl.exceptions.CryptoError:
        raise Invalid("decryption failed")
    if snapshot[0:4] != b"EDSN" or snapshot[5:21] != business or snapshot[21:37] != producer:
        raise Invalid("the snapshot inside does not match the header")
    vector_reader = Reader(vector)
    entries = {}
    for _ in range(vector_reader.varint()):
        site = vector_reader.take(16).hex()
        entries[site] = vector_reader.varint()
    return {"ok": True, "business": business.hex(), "producer": producer.hex(), "created_at": created_at, "key_id": key_id,
            "vector": entries, "snapshot": snapshot.hex()}


def main(argv):
    commands = {"open-envelope": (open_envelope, 3), "seal-envelope": (seal_envelope, 9),
                "open-sealed-key": (open_sealed_key, 2), "sign-request": (sign_request, 7),
                "verify-token": (verify_token, 1), "make-token": (make_token, 7),
                "make-join-request": (make_join_request, 5), "open-snapshot": (open_snapshot, 3)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    function, _ = commands[argv[1]]
    try:
        print(json.dumps(function(*argv[2:])))
        return 0
    except Invalid as error:
        print(json.dumps({"ok": False, "error": str(error)}))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
