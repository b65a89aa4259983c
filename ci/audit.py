#!/usr/bin/env python3
"""Dependency vulnerability scan: cargo audit over Cargo.lock against the RustSec advisory
database snapshot in ../shared/advisory-db (offline), with the justified ignores of
ci/advisories.toml.

Fails on any advisory not ignored — vulnerabilities and the "unsound" and "unmaintained"
warnings alike — on an ignore without a reason, and on an ignore that matches nothing any more.

`--self-check` scans a lock file seeded with a known-vulnerable crate and fails unless the scan
catches it.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DB = pathlib.Path(os.environ.get("TESSERA_ADVISORY_DB", ROOT.parent / "shared" / "advisory-db"))
IGNORES = tomllib.loads((ROOT / "ci" / "advisories.toml").read_text()).get("ignore", [])


def audit(lockfile: pathlib.Path, ignore: list[str]) -> tuple[int, dict]:
    cmd = ["cargo", "audit", "--db", str(DB), "--no-fetch", "--stale", "--json",
           "--file", str(lockfile), "--deny", "unsound", "--deny", "unmaintained"]
    for i in ignore:
        cmd += ["--ignore", i]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        sys.exit(f"cargo audit did not run:\n{out.stdout}\n{out.stderr}")
    return out.returncode, report


def found(report: dict) -> list[tuple[str, str, str]]:
    """(id, crate, version) of every advisory reported."""
    rows = [(v["advisory"]["id"], v["package"]["name"], v["package"]["version"])
            for v in report.get("vulnerabilities", {}).get("list", [])]
    for kind in report.get("warnings", {}).values():
        for w in kind:
            if w.get("advisory"):
                rows.append((w["advisory"]["id"], w["package"]["name"], w["package"]["version"]))
    return rows


def main() -> int:
    if not (DB / "crates").is_dir():
        sys.exit(f"advisory database not found at {DB} (set TESSERA_ADVISORY_DB)")
    for i in IGNORES:
        if not i.get("reason", "").strip():
            sys.exit(f"ci/advisories.toml: {i['id']} is ignored without a reason")

    if "--self-check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            lock = pathlib.Path(tmp) / "Cargo.lock"
            lock.write_text(
                "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\n"
                "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
            )
            code, report = audit(lock, [i["id"] for i in IGNORES])
        ids = [r[0] for r in found(report)]
        if code == 0 or "RUSTSEC-2021-0003" not in ids:
            print("self-check FAILED: a seeded vulnerable crate passed the scan", file=sys.stderr)
            return 1
        print(f"self-check: a seeded vulnerable crate is refused ({', '.join(ids)})")
        return 0

    # Every ignore must still match something, or it goes.
    _, unfiltered = audit(ROOT / "Cargo.lock", [])
    present = {r[0] for r in found(unfiltered)}
    stale = [i["id"] for i in IGNORES if i["id"] not in present]
    code, report = audit(ROOT / "Cargo.lock", [i["id"] for i in IGNORES])
    rows = found(report)
    for id_, crate, version in rows:
        print(f"{id_}: {crate} {version} (not ignored)", file=sys.stderr)
    for id_ in stale:
        print(f"ci/advisories.toml ignores {id_}, which no longer applies: remove it", file=sys.stderr)
    if code != 0 or rows or stale:
        return 1
    deps = report.get("lockfile", {}).get("dependency-count", "?")
    print(f"cargo audit: {deps} crates, no advisories beyond {len(IGNORES)} justified ignores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
