#!/usr/bin/env python3
"""Compiles the upstream Kubernetes strict JSON Schemas into the compact structural schema
that podrec embeds (Sources/Manifest/Schema/UpstreamSchema.generated.swift).

Usage: Tools/gen-upstream-schema.py [SCHEMA_DIR] > Sources/Manifest/Schema/UpstreamSchema.generated.swift

The standalone schemas inline every $ref, so the same type appears many times; this
deduplicates types by structure and names them after the Kubernetes type they describe
(the names below are given by path, since the standalone files carry no type names).
Only structure is kept: types, nullability, properties, required fields, list items,
map values and the apiVersion/kind enums. Descriptions stay upstream.
"""
import json, os, sys

NAMES = {
    "Pod": "Pod", "Pod.metadata": "ObjectMeta", "Pod.spec": "PodSpec", "Pod.status": "PodStatus",
    "Pod.spec.containers[]": "Container", "Pod.spec.ephemeralContainers[]": "EphemeralContainer",
    "Pod.spec.volumes[]": "Volume", "Pod.spec.securityContext": "PodSecurityContext",
    "Pod.spec.containers[].securityContext": "SecurityContext",
    "Pod.spec.containers[].securityContext.capabilities": "Capabilities",
    "Pod.spec.containers[].livenessProbe": "Probe",
    "Pod.spec.containers[].lifecycle": "Lifecycle",
    "Pod.spec.containers[].lifecycle.postStart": "LifecycleHandler",
    "Pod.spec.containers[].ports[]": "ContainerPort",
    "Pod.spec.containers[].env[]": "EnvVar",
    "Pod.spec.containers[].env[].valueFrom": "EnvVarSource",
    "Pod.spec.containers[].envFrom[]": "EnvFromSource",
    "Pod.spec.containers[].resources": "ResourceRequirements",
    "Pod.spec.containers[].resizePolicy[]": "ContainerResizePolicy",
    "Pod.spec.containers[].volumeMounts[]": "VolumeMount",
    "Pod.spec.containers[].livenessProbe.httpGet": "HTTPGetAction",
    "Pod.spec.containers[].livenessProbe.exec": "ExecAction",
    "Pod.spec.containers[].livenessProbe.tcpSocket": "TCPSocketAction",
    "Pod.spec.containers[].livenessProbe.grpc": "GRPCAction",
    "Pod.spec.volumes[].emptyDir": "EmptyDirVolumeSource",
    "Pod.spec.volumes[].hostPath": "HostPathVolumeSource",
    "Pod.spec.volumes[].configMap": "ConfigMapVolumeSource",
    "Pod.spec.volumes[].secret": "SecretVolumeSource",
    "Pod.spec.volumes[].configMap.items[]": "KeyToPath",
    "Pod.spec.hostAliases[]": "HostAlias",
    "Pod.spec.dnsConfig": "PodDNSConfig",
    "Pod.spec.os": "PodOS",
    "ConfigMap": "ConfigMap", "Secret": "Secret",
}

types = []          # list of dicts, index = id
by_signature = {}   # signature -> id


def nullable(s):
    t = s.get("type")
    return isinstance(t, list) and "null" in t


def base_type(s):
    t = s.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"]
        return t[0] if t else None
    return t


def compile_type(s, path):
    if "oneOf" in s:
        kinds = sorted(base_type(x) for x in s["oneOf"])
        kind = {("integer", "string"): "intOrString", ("number", "string"): "quantity"}[tuple(kinds)]
        entry = {"kind": kind}
    elif "enum" in s:
        entry = {"kind": "enum", "values": s["enum"]}
    else:
        t = base_type(s)
        if t == "object":
            if "properties" in s:
                assert s.get("additionalProperties") is False, path
                props = [(k, compile_type(v, f"{path}.{k}")) for k, v in s["properties"].items()]
                entry = {"kind": "object", "fields": props, "required": sorted(s.get("required", []))}
            elif isinstance(s.get("additionalProperties"), dict):
                entry = {"kind": "map", "values": compile_type(s["additionalProperties"], path + "{}")}
            else:
                entry = {"kind": "anyObject"}
        elif t == "array":
            entry = {"kind": "array", "items": compile_type(s["items"], path + "[]")}
        elif t == "string":
            entry = {"kind": {"date-time": "dateTime", "byte": "base64"}.get(s.get("format"), "string")}
        elif t == "integer":
            entry = {"kind": "int64" if s.get("format") == "int64" else "int32"}
        elif t in ("boolean", "number"):
            entry = {"kind": t}
        else:
            raise SystemExit(f"unhandled schema at {path}: {s}")
    entry["nullable"] = nullable(s) or "oneOf" in s
    sig = json.dumps(entry, sort_keys=True)
    if sig in by_signature:
        tid = by_signature[sig]
        if path in NAMES and not types[tid].get("name"):
            types[tid]["name"] = NAMES[path]
        return tid
    entry["name"] = NAMES.get(path)
    types.append(entry)
    by_signature[sig] = len(types) - 1
    return len(types) - 1


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "../../shared/schemas-upstream/kubernetes/v1.32.2-standalone-strict")
    roots = {}
    for kind, f in (("Pod", "pod-v1.json"), ("ConfigMap", "configmap-v1.json"), ("Secret", "secret-v1.json")):
        roots[kind] = compile_type(json.load(open(os.path.join(d, f))), kind)
    missing = [n for n in NAMES.values() if n not in {t.get("name") for t in types}]
    if missing:
        raise SystemExit(f"names not assigned (path changed upstream?): {missing}")
    lines = []
    for i, t in enumerate(types):
        k = t["kind"]
        head = f"{i} {k}{'?' if t['nullable'] else ''} {t.get('name') or '-'}"
        if k == "object":
            req = set(t["required"])
            body = " ".join(f"{n}{'!' if n in req else ''}:{tid}" for n, tid in t["fields"])
        elif k == "map":
            body = str(t["values"])
        elif k == "array":
            body = str(t["items"])
        elif k == "enum":
            body = " ".join(t["values"])
        else:
            body = ""
        lines.append((head + " " + body).rstrip())
    out = sys.stdout
    out.write("// Generated by Tools/gen-upstream-schema.py from\n")
    out.write("// shared/schemas-upstream/kubernetes/v1.32.2-standalone-strict. Do not edit by hand.\n")
    out.write("//\n// One type per line: `id kind[?] Name body`; `?` = nullable; objects list\n")
    out.write("// `field[!]:typeId` (`!` = required), maps and arrays name their element type.\n\n")
    out.write("extension UpstreamSchema {\n")
    out.write("    static let roots: [String: Int] = [" + ", ".join(f'"{k}": {v}' for k, v in roots.items()) + "]\n\n")
    out.write('    static let source = """\n')
    for l in lines:
        out.write(l + "\n")
    out.write('"""\n}\n')


main()
