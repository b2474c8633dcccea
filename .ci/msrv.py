#!/usr/bin/env python3
"""Checks that no dependency of the library needs a newer Rust than our declared rust-version.

Only the installed stable toolchain exists on these machines, so the MSRV cannot be compiled
against directly; this is the check that can run here: every crate in the library's normal
dependency graph (all features) must declare a rust-version no newer than ours.
"""
import json
import subprocess
import sys

meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"]))
packages = {p["id"]: p for p in meta["packages"]}
root = next(p for p in meta["packages"] if p["name"] == "tower-okta")
ours = tuple(int(x) for x in root["rust_version"].split("."))
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

# Walk normal (non-dev, non-build) dependencies from the root.
seen, stack = set(), [root["id"]]
while stack:
    pid = stack.pop()
    if pid in seen:
        continue
    seen.add(pid)
    for dep in nodes[pid]["deps"]:
        if any(k["kind"] in (None, "normal") for k in dep["dep_kinds"]):
            stack.append(dep["pkg"])

too_new = []
for pid in seen:
    p = packages[pid]
    rv = p.get("rust_version")
    if rv and tuple(int(x) for x in rv.split(".")[:3]) > ours + (0,) * (3 - len(ours)):
        too_new.append(f"{p['name']} {p['version']} needs {rv}")
if too_new:
    print(f"rust-version {root['rust_version']} is too old for:", *too_new, sep="\n  ")
    sys.exit(1)
print(f"MSRV {root['rust_version']}: all {len(seen) - 1} library dependencies declare it or older")
