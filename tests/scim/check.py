"""Runs the scim2-tester compliance checks against a Tessera workspace.

Usage: check.py <scim base URL> <SCIM token>

Prints one line per check (status, title, reason) and exits 1 if any check failed; used
by tests/api/scim.rs, which starts the server and mints the token.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    failed = 0
    for r in results:
        where = f"[{r.resource_type}] " if getattr(r, "resource_type", None) else ""
        print(f"{r.status.name:8} {where}{r.title}: {r.reason}")
        if r.status == Status.ERROR or r.status == Status.CRITICAL:
            failed += 1
    succeeded = sum(1 for r in results if r.status == Status.SUCCESS)
    print(f"scim2-tester: {len(results)} checks, {succeeded} succeeded, {failed} failed")
    return 1 if failed or not succeeded else 0


if __name__ == "__main__":
    sys.exit(main())
