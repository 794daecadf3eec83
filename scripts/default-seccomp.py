#!/usr/bin/env python3
"""Converts a Docker/moby-format seccomp profile (containers-common's
/usr/share/containers/seccomp.json, the one podman uses) into an OCI
`linux.seccomp` object for this host, and prints it as JSON.

The conversion is moby's and podman's (seccomp.setupSeccomp): the native
architecture and its sub-architectures from archMap; a rule is kept when its
includes/excludes match the architecture, the container's capabilities and
the running kernel. The default capabilities are those of root in runc's
default spec (`runc spec`): CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE.

    scripts/default-seccomp.py [--profile FILE] [--caps CAP,CAP...] [--config config.json]

With --config, the object replaces linux.seccomp of that config.json (in
place) instead of being printed.
"""
import argparse
import json
import os
import platform
import sys

RUNC_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
# uname -m -> (Go's GOARCH as the profile names it, libseccomp's name)
MACHINES = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "i686": ("386", "SCMP_ARCH_X86"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
    "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
}


def kernel_at_least(want):
    """minKernel: "4.8" against the running kernel's release."""
    def parts(v):
        out = []
        for p in v.split("-")[0].split(".")[:2]:
            digits = "".join(c for c in p if c.isdigit())
            out.append(int(digits or 0))
        return out + [0] * (2 - len(out))
    return parts(platform.release()) >= parts(want)


def convert(profile, caps):
    goarch, native = MACHINES[platform.machine()]
    out = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    arches = []
    for entry in profile.get("archMap") or []:
        if entry["architecture"] == native:
            arches = [native] + list(entry.get("subArchitectures") or [])
    if not arches and profile.get("architectures"):
        arches = list(profile["architectures"])
    if arches:
        out["architectures"] = arches
    for key in ("flags", "listenerPath", "listenerMetadata"):
        if profile.get(key):
            out[key] = profile[key]
    rules = []
    for call in profile.get("syscalls") or []:
        inc = call.get("includes") or {}
        exc = call.get("excludes") or {}
        if exc.get("arches") and goarch in exc["arches"]:
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        if inc.get("arches") and goarch not in inc["arches"]:
            continue
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if inc.get("minKernel") and not kernel_at_least(inc["minKernel"]):
            continue
        names = list(call.get("names") or [])
        if call.get("name"):
            names.append(call["name"])
        rule = {"names": names, "action": call["action"]}
        if call.get("errnoRet") is not None:
            rule["errnoRet"] = call["errnoRet"]
        args = []
        for a in call.get("args") or []:
            arg = {"index": a["index"], "value": a["value"], "op": a["op"]}
            if a.get("valueTwo"):
                arg["valueTwo"] = a["valueTwo"]
            args.append(arg)
        if args:
            rule["args"] = args
        rules.append(rule)
    out["syscalls"] = rules
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="/usr/share/containers/seccomp.json")
    ap.add_argument("--caps", default=",".join(RUNC_DEFAULT_CAPS),
                    help="the container's capabilities, comma-separated")
    ap.add_argument("--config", help="write into linux.seccomp of this config.json instead of printing")
    opts = ap.parse_args()
    with open(opts.profile) as f:
        profile = json.load(f)
    caps = [c for c in opts.caps.split(",") if c]
    seccomp = convert(profile, caps)
    if not opts.config:
        json.dump(seccomp, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    with open(opts.config) as f:
        config = json.load(f)
    config.setdefault("linux", {})["seccomp"] = seccomp
    tmp = opts.config + ".tmp"
    with open(tmp, "w") as f:
        json.dump(config, f, indent=2)
    os.replace(tmp, opts.config)


if __name__ == "__main__":
    main()
