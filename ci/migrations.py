#!/usr/bin/env python3
"""Migration safety lint: squawk over migrations/, with the exclusions of ci/migration-lint.toml.

Placeholders (`{{app}}`, ...) are filled with sample role names first, so squawk parses the SQL
the database will run. Fails on any finding that is not excluded, on an exclusion without a
reason, and on an accepted finding that no longer occurs (so the list cannot go stale).

`--self-check` lints a deliberately unsafe migration and fails unless the lint catches it.
"""

import os
import pathlib
import re
import subprocess
import sys
import tempfile
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "ci" / "migration-lint.toml").read_text())
ROLES = {"app": "tessera_app", "tenant_group": "tessera_tenant", "migrator": "tessera_migrator",
         "app_name": "'tessera_app'", "tenant_group_name": "'tessera_tenant'",
         "tenant_role_prefix": "'tessera_t_'"}
FINDING = re.compile(r"^(?P<path>[^:]+):\d+:\d+: (?:warning|error): (?P<rule>[a-z-]+) ")


def fill(sql: str) -> str:
    def role(m: re.Match) -> str:
        if m.group(1) not in ROLES:
            sys.exit(f"unknown migration placeholder {m.group(0)}")
        return ROLES[m.group(1)]

    return re.sub(r"\{\{([a-z_]+)\}\}", role, sql)


def lint(files: dict[str, str]) -> list[tuple[str, str, str]]:
    """Runs squawk over {relative name: sql}; returns (name, rule, line) findings."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, sql in files.items():
            p = pathlib.Path(tmp) / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(fill(sql))
            paths.append(str(p))
        excluded = ",".join(CONFIG["rules"])
        out = subprocess.run(
            ["squawk", "--assume-in-transaction", "--reporter", "gcc",
             f"--exclude={excluded}", *paths],
            capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
        )
        findings = []
        for line in out.stdout.splitlines() + out.stderr.splitlines():
            m = FINDING.match(line)
            if m:
                name = str(pathlib.Path(m["path"]).relative_to(tmp))
                findings.append((name, m["rule"], line.replace(tmp + "/", "")))
        if out.returncode not in (0, 1) or (out.returncode == 1 and not findings):
            sys.exit(f"squawk failed to run:\n{out.stdout}\n{out.stderr}")
        return findings


def migrations() -> dict[str, str]:
    return {
        f"{p.parent.name}/{p.name}": p.read_text()
        for p in sorted((ROOT / "migrations").glob("*/*.sql"))
    }


def main() -> int:
    for rule, reason in CONFIG["rules"].items():
        if not reason.strip():
            sys.exit(f"ci/migration-lint.toml: rule {rule} is excluded without a reason")
    accepted = set()
    for a in CONFIG.get("accept", []):
        if not a.get("reason", "").strip():
            sys.exit(f"ci/migration-lint.toml: {a['file']} {a['rule']} is accepted without a reason")
        accepted.add((a["file"], a["rule"]))

    if "--self-check" in sys.argv:
        unsafe = {
            "tenant/9999_unsafe.sql": (
                "ALTER TABLE records ALTER COLUMN title TYPE varchar(100);\n"
                "ALTER TABLE records ADD COLUMN owner uuid NOT NULL;\n"
            )
        }
        caught = lint(unsafe)
        if not caught:
            print("self-check FAILED: an unsafe migration passed the lint", file=sys.stderr)
            return 1
        print(f"self-check: an unsafe migration is refused ({', '.join(sorted({r for _, r, _ in caught}))})")
        return 0

    files = migrations()
    findings = lint(files)
    bad = [line for name, rule, line in findings if (name, rule) not in accepted]
    seen = {(name, rule) for name, rule, _ in findings}
    stale = sorted(accepted - seen)
    for line in bad:
        print(line, file=sys.stderr)
    for name, rule in stale:
        print(f"ci/migration-lint.toml accepts {rule} in {name}, which no longer occurs", file=sys.stderr)
    if bad or stale:
        return 1
    print(f"migration lint: {len(files)} files clean ({len(findings)} accepted findings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
