#!/usr/bin/env python3
"""Independent implementation of the relay's wire formats, written from docs/relay-protocol.md
(§2 envelopes, §3 sealed data keys, §4 signed requests) with PyNaCl (libsodium).

  verify_relay.py open-envelope FILE AUTHOR_PUBLIC_KEY_HEX DATA_KEY_HEX
      decode, check the signature and the site id, decrypt; prints the fields and the payload (hex)
  verify_relay.py seal-envelope AUTHOR_SEED_HEX BUSINESS_HEX SEQUENCE PREVIOUS_HASH_HEX KEY_ID DATA_KEY_HEX SEALED_AT PAYLOAD_FILE OUT_FILE
      write an envelope
  verify_relay.py open-sealed-key FILE RECIPIENT_SEED_HEX
      check the sealer's signature and open the key with the recipient's key; prints it (hex)
  verify_relay.py sign-request SEED_HEX BUSINESS_HEX METHOD TARGET BODY_FILE TIMESTAMP NONCE_HEX
      print the Authorization header value for this request

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


def main(argv):
    commands = {"open-envelope": (open_envelope, 3), "seal-envelope": (seal_envelope, 9),
                "open-sealed-key": (open_sealed_key, 2), "sign-request": (sign_request, 7)}
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
