#!/usr/bin/env python3
"""Re-verify a Tessera audit export (JSON Lines) without Tessera.

Usage: python3 verify_audit_export.py EXPORT.jsonl [--receipts DIR]

Recomputes every entry's hash from its fields and sealed payload, and checks that
consecutive entries link (prev_hash = hash of the previous entry), that the chained
checkpoints count without gaps and link, and that every receipt in DIR (the
`audit.checkpoint` webhook bodies) belongs to the workspace and matches the export.
Standard library only; Ed25519 signatures are checked when `cryptography` is installed.
Exit status 0 when everything checks, 1 on the first broken entry (which it names).
The encoding is documented in docs/audit.md.
"""
import base64
import hashlib
import json
import os
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


def main(path: str, receipts_dir: str | None = None) -> int:
    with open(path, encoding="utf-8") as f:
        header = json.loads(f.readline())
        if header.get("format") != "tessera-audit-export-v1":
            print("not a tessera audit export")
            return 1
        tenant = uuid.UUID(header["tenant_id"])
        keys = header.get("checkpoint_keys", {})
        prev_seq, prev_hash, n = None, None, 0
        hashes, checkpoints = {}, []
        for line in f:
            e = json.loads(line)
            if "checkpoint" in e:
                checkpoints.append(e["checkpoint"])
                continue
            digest = hashlib.sha256(bytes.fromhex(e["prev_hash"]) + canonical(tenant, e)).hexdigest()
            if digest != e["hash"]:
                print(f"BROKEN at seq {e['seq']}: hash does not match the entry")
                return 1
            if prev_seq is not None and e["seq"] == prev_seq + 1 and e["prev_hash"] != prev_hash:
                print(f"BROKEN at seq {e['seq']}: does not link to seq {prev_seq}")
                return 1
            prev_seq, prev_hash, n = e["seq"], e["hash"], n + 1
            hashes[e["seq"]] = e["hash"]
    signed = 0
    check_links(tenant, checkpoints)
    gone = lost(checkpoints)
    if receipts_dir:
        signed += check_receipts(tenant, receipts_dir, checkpoints, hashes, keys, gone)
    for c in checkpoints:
        if c.get("counter") not in gone and c["seq"] in hashes and hashes[c["seq"]] != c["hash"]:
            print(f"BROKEN at seq {c['seq']}: differs from the signed checkpoint")
            return 1
        signed += check_signature(tenant, c, keys)
    print(f"ok: {n} entries verified; {len(checkpoints)} checkpoints match, {signed} signatures checked")
    return 0


def checkpoint_message(tenant: uuid.UUID, c: dict) -> bytes:
    """What a checkpoint's signature covers: chained checkpoints (with a counter) also sign
    the counter and the previous checkpoint's digest."""
    if c.get("counter") is None:
        return (b"tessera-checkpoint-v1\0" + tenant.bytes + struct.pack(">q", c["seq"])
                + bytes.fromhex(c["hash"]))
    prefix = b"tessera-restore-v2\0" if c.get("restored") else b"tessera-checkpoint-v2\0"
    return (prefix + tenant.bytes + struct.pack(">q", c["counter"])
            + struct.pack(">q", c["seq"]) + bytes.fromhex(c["hash"])
            + bytes.fromhex(c["prev_checkpoint"]))


def check_links(tenant: uuid.UUID, checkpoints: list) -> None:
    """Chained checkpoints count 1, 2, ... and each names the SHA-256 of the previous one's
    signed message: a checkpoint removed or reordered is a break. Exits on one."""
    chained = sorted((c for c in checkpoints if c.get("counter") is not None), key=lambda c: c["counter"])
    prev = bytes(32)
    for expected, c in enumerate(chained, start=1):
        if c["counter"] != expected:
            print(f"BROKEN at seq {c['seq']}: checkpoint {expected} is missing")
            sys.exit(1)
        if bytes.fromhex(c["prev_checkpoint"]) != prev:
            print(f"BROKEN at seq {c['seq']}: checkpoint {expected} does not link to the one before")
            sys.exit(1)
        prev = hashlib.sha256(checkpoint_message(tenant, c)).digest()


def check_signature(tenant: uuid.UUID, c: dict, keys: dict) -> int:
    """1 when the checkpoint signature verifies; 0 when it cannot be checked here.
    Exits on a bad signature. Needs the `cryptography` package for Ed25519."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return 0
    key = keys.get(str(c["key_id"]))
    if not key:
        return 0
    message = checkpoint_message(tenant, c)
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key)).verify(
            base64.b64decode(c["signature"]), message)
    except Exception:
        print(f"BROKEN at seq {c['seq']}: checkpoint signature does not verify")
        sys.exit(1)
    return 1


def lost(checkpoints: list) -> set:
    """Counters of checkpoints whose entries a recorded restore lost: a restore checkpoint
    later in counter order signs an earlier position."""
    out, restored_to = set(), None
    chained = sorted((c for c in checkpoints if c.get("counter") is not None), key=lambda c: -c["counter"])
    for c in chained:
        if restored_to is not None and c["seq"] > restored_to:
            out.add(c["counter"])
        if c.get("restored"):
            restored_to = c["seq"] if restored_to is None else min(restored_to, c["seq"])
    return out


def check_receipts(tenant: uuid.UUID, folder: str, checkpoints: list, hashes: dict, keys: dict, gone: set) -> int:
    """Each receipt (a bare receipt or the `audit.checkpoint` webhook body, one .json file
    each) must be this workspace's, signed, and matched by the export: an export behind a
    receipt, or differing from one, is a break. Exits on one; answers signatures checked."""
    by_counter = {c["counter"]: c for c in checkpoints if c.get("counter") is not None}
    newest = max(by_counter, default=0)
    signed = 0
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            r = json.load(f)
        r = r.get("data", {}).get("receipt", r)
        if uuid.UUID(r["tenant_id"]) != tenant:
            print(f"BROKEN: receipt {name} belongs to another workspace")
            sys.exit(1)
        if r["counter"] > newest:
            print(f"BROKEN at seq {r['seq']}: the export is behind receipt {r['counter']} (its checkpoints end at {newest})")
            sys.exit(1)
        c = by_counter[r["counter"]]
        if any(c[k] != r[k] for k in ("seq", "hash", "prev_checkpoint")):
            print(f"BROKEN at seq {r['seq']}: checkpoint {r['counter']} differs from the receipt")
            sys.exit(1)
        if r["counter"] not in gone and r["seq"] in hashes and hashes[r["seq"]] != r["hash"]:
            print(f"BROKEN at seq {r['seq']}: entry differs from receipt {r['counter']}")
            sys.exit(1)
        signed += check_signature(tenant, r, keys)
    return signed


if __name__ == "__main__":
    args = sys.argv[1:]
    receipts = None
    if "--receipts" in args:
        i = args.index("--receipts")
        receipts = args[i + 1]
        del args[i:i + 2]
    sys.exit(main(args[0], receipts))
