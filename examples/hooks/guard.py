#!/usr/bin/env python3
"""A command hook guard in Python (see docs/user-guide/command-hooks.md).

Refuses process_executor calls of `rm`, and rewrites `echo` calls to add a
prefix (a `modified` result); lets everything else through.
"""
import json
import sys

ctx = json.load(sys.stdin)
data = ctx["data"]
params = data.get("parameters") or {}
program = params.get("program", "")
if program == "rm":
    print("rm is not allowed from scripts", file=sys.stderr)
    sys.exit(2)
if program == "echo":
    params["args"] = ["[guarded]"] + list(params.get("args", []))
    data["parameters"] = params
    print(json.dumps({"type": "modified", "data": data}))
sys.exit(0)
