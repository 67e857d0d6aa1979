"""deploy/validate/checks.py — the parts of scripts/validate-deploy that need a program.

Usage (with the Python of .tools/deploy-venv, which has PyYAML):
  checks.py split RENDERED.yaml K8S.yaml ISTIO.json
      Splits kustomize's output: Kubernetes kinds to K8S.yaml (for kubernetes-validate),
      every object to ISTIO.json (istio.mjs picks the Istio ones and needs the rest for
      references). Fails on an empty document list.
  checks.py dashboard DASHBOARD.json RULES.yaml
      Checks panel ids are unique (rows' nested panels included) and every panel has a
      target with an expression; writes every expression, Grafana's variables replaced,
      as a recording rule into RULES.yaml for `promtool check rules` to parse.
  checks.py metrics ROOT FILE...
      Every chorus_* metric named in FILEs (dashboards, rule files) must be one the Rust
      sources under ROOT register: the bridge's under chorus_bridge_, the workers' (the
      kit's and each worker's own, through with_registry) under chorus_worker_.
"""

import json
import re
import sys
from pathlib import Path

import yaml

ISTIO_GROUP = re.compile(r"\.istio\.io/")


def load_all(path):
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    if not docs:
        sys.exit(f"{path}: no objects")
    return docs


def split(rendered, k8s_out, all_out):
    docs = load_all(rendered)
    k8s = [d for d in docs if not ISTIO_GROUP.search(d.get("apiVersion", ""))]
    Path(k8s_out).write_text(yaml.safe_dump_all(k8s, sort_keys=False))
    Path(all_out).write_text(json.dumps(docs))
    print(f"{rendered}: {len(k8s)} Kubernetes and {len(docs) - len(k8s)} Istio objects")


# Grafana's variables, replaced by values that keep the PromQL well-formed.
GRAFANA_VARS = [
    (re.compile(r"\$__rate_interval|\$\{__rate_interval\}"), "5m"),
    (re.compile(r"\$__interval|\$\{__interval\}"), "1m"),
    (re.compile(r"\$__range|\$\{__range\}"), "1h"),
    (re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?"), ".*"),
]


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def dashboard(path, rules_out):
    try:
        dash = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        sys.exit(f"{path}: not JSON: {e}")
    problems, rules, seen = [], [], {}
    for p in all_panels(dash.get("panels", [])):
        pid, title = p.get("id"), p.get("title", "?")
        if not isinstance(pid, int):
            problems.append(f"panel {title!r}: no integer id")
        elif pid in seen:
            problems.append(f"panel {title!r}: id {pid} is also panel {seen[pid]!r}")
        else:
            seen[pid] = title
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"panel {pid} {title!r}: no targets")
        for t in targets:
            expr = t.get("expr", "")
            if not expr.strip():
                problems.append(f"panel {pid} {title!r} target {t.get('refId')}: no expr")
                continue
            for pattern, value in GRAFANA_VARS:
                expr = pattern.sub(value, expr)
            rules.append({"record": f"dashboard:panel_{pid}_{t.get('refId', 'X')}", "expr": expr})
    if problems:
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
        sys.exit(1)
    Path(rules_out).write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sort_keys=False))
    print(f"{path}: {len(seen)} panels with unique ids, {len(rules)} expressions")


REGISTER = re.compile(r'\bregister\(\s*"([a-z0-9_]+)"')
METRIC = re.compile(r"\bchorus_[a-z0-9_]+")
SUFFIXES = ("", "_total", "_bucket", "_sum", "_count", "_created")


def exported(root):
    root = Path(root)
    names = set()
    for src in (root / "ws-bridge" / "src").rglob("*.rs"):
        names |= {"chorus_bridge_" + n for n in REGISTER.findall(src.read_text())}
    for src in (root / "workers").rglob("*.rs"):
        names |= {"chorus_worker_" + n for n in REGISTER.findall(src.read_text())}
    return {n + s for n in names for s in SUFFIXES}


def metrics(root, files):
    known = exported(root)
    bad = []
    for f in files:
        for name in sorted(set(METRIC.findall(Path(f).read_text()))):
            if not name.endswith("_") and name not in known:  # `chorus_bridge_*` is a prefix
                bad.append(f"{f}: {name} is exported by no Chorus binary")
    if bad:
        for b in bad:
            print(b, file=sys.stderr)
        sys.exit(1)
    print(f"metric names: all known ({len(known) // len(SUFFIXES)} registered in the sources)")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "split":
        split(*args)
    elif cmd == "dashboard":
        dashboard(*args)
    elif cmd == "metrics":
        metrics(args[0], args[1:])
    else:
        sys.exit(f"unknown command {cmd}")
