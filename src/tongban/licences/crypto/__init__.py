"""Signature primitives for e-seals: SM2 with SM3 per GB/T 32918.2 (through the system
OpenSSL 3 libcrypto), Ed25519 (pyca/cryptography), and private-key wrapping at rest.

Nothing here knows about licences or the database; ``tongban.licences.seals`` builds on it.
Why OpenSSL through ctypes rather than a Python SM2 library: docs/adr/0003-licences-crypto.md.
"""
