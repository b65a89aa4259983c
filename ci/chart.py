#!/usr/bin/env python3
"""Chart gate: `helm lint --strict` and `helm template` of charts/tessera with the default values,
with every optional part on and with each values file of charts/tessera/examples, then policy checks on the rendered manifests:

- every pod runs as non-root with a read-only root filesystem, no privilege escalation, all
  capabilities dropped, and a memory limit;
- the server Deployment has liveness (/healthz) and readiness (/readyz) probes and never
  receives the migrator's credentials; the migration Job is a pre-install/pre-upgrade hook;
- no secret value is inlined: credentials come from mounted Secrets only.
- an Ingress cannot be rendered without a `/metrics` token (it routes every path).

`--self-check` feeds the checks a manifest with each violation and fails unless all are caught.
Usage: chart.py <helm binary> [--self-check]
"""

import copy
import subprocess
import sys
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "tessera"
ALL_ON = ["--set", "ingress.enabled=true", "--set", "serviceMonitor.enabled=true",
          "--set", "secrets.s3=tessera-s3", "--set", "secrets.redis=tessera-redis",
          "--set", "secrets.metricsToken=tessera-metrics", "--set", "backup.enabled=true",
          "--set", "pgbouncer.enabled=true", "--set", "secrets.databaseListen=tessera-database-listen"]
SERVER = "tessera"  # the release name the checks render with, so the server's name
SECRETISH = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN|DATABASE_URL)$")


def pods(doc):
    kind = doc.get("kind")
    if kind == "Deployment" or kind == "Job":
        return [doc["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def pod_labels(doc):
    kind = doc.get("kind")
    if kind in ("Deployment", "Job"):
        return doc["spec"]["template"]["metadata"].get("labels", {})
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return None


def problems(docs):
    found = []
    kinds = {d["kind"] for d in docs}
    server = next((d for d in docs if d["kind"] == "Deployment"
                   and d["metadata"]["name"] == SERVER), None)
    service = next((d for d in docs if d["kind"] == "Service"
                    and d["metadata"]["name"] == SERVER), None)
    for d in docs:
        name = f'{d["kind"]}/{d["metadata"]["name"]}'
        labels = pod_labels(d)
        # Only the server's pods may match the server's Service (and its budget and policy):
        # a job or PgBouncer pod matched there would be sent requests.
        if service and labels is not None and d is not server \
                and service["spec"]["selector"].items() <= labels.items():
            found.append(f"{name}: its pods match the server Service's selector")
        for pod in pods(d):
            if not pod.get("securityContext", {}).get("runAsNonRoot"):
                found.append(f"{name}: pod may run as root")
            if pod.get("automountServiceAccountToken") is not False:
                found.append(f"{name}: mounts a service account token")
            for c in pod["containers"]:
                sc = c.get("securityContext", {})
                if sc.get("readOnlyRootFilesystem") is not True:
                    found.append(f"{name}/{c['name']}: writable root filesystem")
                if sc.get("allowPrivilegeEscalation") is not False:
                    found.append(f"{name}/{c['name']}: privilege escalation allowed")
                if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                    found.append(f"{name}/{c['name']}: capabilities not dropped")
                if not c.get("resources", {}).get("limits", {}).get("memory"):
                    found.append(f"{name}/{c['name']}: no memory limit")
                for e in c.get("env", []):
                    if "value" in e and SECRETISH.search(e["name"]):
                        found.append(f"{name}/{c['name']}: {e['name']} is inlined, not from a Secret")
                    if "value" in e and re.search(r"://[^/\s]*:[^/\s]*@", str(e["value"])):
                        found.append(f"{name}/{c['name']}: {e['name']} holds a credential")
                if d is server:
                    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
                        found.append(f"{name}/{c['name']}: no liveness probe on /healthz")
                    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                        found.append(f"{name}/{c['name']}: no readiness probe on /readyz")
                    if any("MIGRATOR" in e["name"] for e in c.get("env", [])):
                        found.append(f"{name}/{c['name']}: the server receives the migrator role")
            if d is server:
                secrets = [v.get("secret", {}).get("secretName") for v in pod.get("volumes", [])]
                if any(s and "migrator" in s for s in secrets):
                    found.append(f"{name}: mounts the migrator's Secret")
        if d["kind"] == "Job":
            hooks = d["metadata"].get("annotations", {}).get("helm.sh/hook", "")
            if "pre-install" not in hooks or "pre-upgrade" not in hooks:
                found.append(f"{name}: migrations are not a pre-install/pre-upgrade hook")
    for k in ["Deployment", "Service", "Job", "CronJob", "HorizontalPodAutoscaler",
              "PodDisruptionBudget", "NetworkPolicy"]:
        if k not in kinds:
            found.append(f"no {k} rendered")
    return found


def render(helm, extra):
    out = subprocess.run([helm, "template", "tessera", str(CHART), *extra],
                         capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def main():
    helm = sys.argv[1]
    base = render(helm, [])
    if "--self-check" in sys.argv:
        bad = copy.deepcopy(base)
        dep = next(d for d in bad if d["kind"] == "Deployment")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        c["securityContext"]["readOnlyRootFilesystem"] = False
        c["env"].append({"name": "TESSERA_MASTER_KEY", "value": "inlined"})
        c["env"].append({"name": "TESSERA_MIGRATOR_DATABASE_URL_FILE", "value": "/x"})
        del c["readinessProbe"]
        job = next(d for d in bad if d["kind"] == "CronJob")
        job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"] = \
            dict(dep["spec"]["template"]["metadata"]["labels"])
        caught = problems(bad)
        expected = ["writable root filesystem", "inlined", "migrator role", "readiness",
                    "match the server Service"]
        missed = [e for e in expected if not any(e in p for p in caught)]
        if missed:
            print(f"self-check FAILED: the chart checks missed {missed}", file=sys.stderr)
            return 1
        print(f"self-check: {len(caught)} seeded chart problems are caught")
        return 0
    examples = [["-f", str(p)] for p in sorted((CHART / "examples").glob("*.yaml"))]
    for extra in ([], ALL_ON, *examples):
        subprocess.run([helm, "lint", "--strict", str(CHART), *extra], check=True,
                       stdout=subprocess.DEVNULL)
    full = render(helm, ALL_ON)
    found = problems(base) + problems(full)
    for extra in examples:
        found += [f"{extra[1]}: {p}" for p in problems(render(helm, extra))]
    for k in ["Ingress", "ServiceMonitor"]:
        if k not in {d["kind"] for d in full}:
            found.append(f"no {k} rendered with it enabled")
    # The Ingress routes every path: without a metrics token it would publish /metrics.
    open_metrics = subprocess.run([helm, "template", "t", str(CHART), "--set", "ingress.enabled=true"],
                                  capture_output=True, text=True)
    if open_metrics.returncode == 0 or "metricsToken" not in open_metrics.stderr:
        found.append("an Ingress without secrets.metricsToken rendered (it would expose /metrics)")
    for p in sorted(set(found)):
        print(p, file=sys.stderr)
    if found:
        return 1
    print(f"chart: lint clean; {len(base)} manifests by default, {len(full)} with every option; policy checks pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
