#!/usr/bin/env python3
"""Re-verify a Tessera audit export (JSON Lines) without Tessera.

Usage: python3 verify_audit_export.py EXPORT.jsonl

Recomputes every entry's hash from its fields and sealed payload, and checks that
consecutive entries link (prev_hash = hash of the previous entry). Standard library only.
Exit status 0 when everything checks, 1 on the first broken entry (which it names).
The encoding is documented in docs/audit.md.
"""
import base64
import hashlib
import json
import struct
import sys
import uuid

TAG = b"tessera-audit-v1\0"


def lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def canonical(tenant: uuid.UUID, e: dict) -> bytes:
    sealed = base64.b64decode(e["sealed_payload"]) if e["sealed_payload"] else b""
    out = TAG + tenant.bytes + struct.pack(">q", e["seq"]) + struct.pack(">q", e["at_micros"])
    for field in ("actor_type", "actor_id", "actor_user", "action", "target_type",
                  "target_id", "request_id", "client_ip"):
        out += lp(e[field].encode())
    return out + lp(sealed)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline())
        if header.get("format") != "tessera-audit-export-v1":
            print("not a tessera audit export")
            return 1
        tenant = uuid.UUID(header["tenant_id"])
        prev_seq, prev_hash, n = None, None, 0
        for line in f:
            e = json.loads(line)
            digest = hashlib.sha256(bytes.fromhex(e["prev_hash"]) + canonical(tenant, e)).hexdigest()
            if digest != e["hash"]:
                print(f"BROKEN at seq {e['seq']}: hash does not match the entry")
                return 1
            if prev_seq is not None and e["seq"] == prev_seq + 1 and e["prev_hash"] != prev_hash:
                print(f"BROKEN at seq {e['seq']}: does not link to seq {prev_seq}")
                return 1
            prev_seq, prev_hash, n = e["seq"], e["hash"], n + 1
    print(f"ok: {n} entries verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
