#!/usr/bin/env python3
"""Generates podrec's schemas from the upstream Kubernetes strict JSON Schemas (v1.32.2).

  Tools/schemagen.py swift > Sources/Manifest/Schema/UpstreamSchema.generated.swift
      the compact structural schema podrec embeds and checks every document against;
  Tools/schemagen.py editor CLASSES.json OUT_DIR
      schemas/{pod,configmap,secret}-v1.json for editors: the upstream schema, with each
      field podrec refuses made invalid (`"not": {}`) and its reason given, each field it
      ignores described as such, `image` required, and the newer fields podrec honours
      added. CLASSES.json is the output of `podrec fields -o json`, so the classes are
      defined once, in Sources/Manifest/Schema/FieldClasses.swift.

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
    "Pod.spec.volumes[].downwardAPI": "DownwardAPIVolumeSource",
    "Pod.spec.volumes[].downwardAPI.items[]": "DownwardAPIVolumeFile",
    "Pod.spec.volumes[].projected": "ProjectedVolumeSource",
    "Pod.spec.volumes[].projected.sources[]": "VolumeProjection",
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


UPSTREAM = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "../../shared/schemas-upstream/kubernetes/v1.32.2-standalone-strict")
FILES = (("Pod", "pod-v1.json"), ("ConfigMap", "configmap-v1.json"), ("Secret", "secret-v1.json"))
# Newer than v1.32 and honoured by podrec: (type, field, schema). Keep in step with
# UpstreamSchema.podrecExtensions.
EXTENSIONS = [("Lifecycle", "stopSignal", {
    "description": "podrec honours this Kubernetes 1.33 field (KEP-4960): the signal that stops "
                   "the container, such as SIGUSR1. Defaults to the image's stop signal, else SIGTERM.",
    "type": ["string", "null"]})]


def swift():
    d = UPSTREAM
    roots = {}
    for kind, f in FILES:
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
    out.write("// Generated by Tools/schemagen.py from\n")
    out.write("// shared/schemas-upstream/kubernetes/v1.32.2-standalone-strict. Do not edit by hand.\n")
    out.write("//\n// One type per line: `id kind[?] Name body`; `?` = nullable; objects list\n")
    out.write("// `field[!]:typeId` (`!` = required), maps and arrays name their element type.\n\n")
    out.write("extension UpstreamSchema {\n")
    out.write("    static let roots: [String: Int] = [" + ", ".join(f'"{k}": {v}' for k, v in roots.items()) + "]\n\n")
    out.write('    static let source = """\n')
    for l in lines:
        out.write(l + "\n")
    out.write('"""\n}\n')


def editor(classes_path, out_dir):
    classes = json.load(open(classes_path))
    used = set()

    def annotate(s, path):
        """Walks one upstream schema in place, naming object types as `swift` does."""
        if not isinstance(s, dict):
            return
        tid = compile_type(s, path)
        name = types[tid].get("name")
        for field, sub in list(s.get("properties", {}).items()):
            key = f"{name}.{field}"
            cls = classes.get(key)
            if cls:
                used.add(key)
            if cls and cls["class"] == "refused":
                s["properties"][field] = {
                    "description": f"Refused by podrec: {cls['reason']}.",
                    "not": {},
                }
                continue
            if cls and cls["class"] == "ignored":
                validated = ", but validated as the Kubernetes 1.32 API server validates it" if cls.get("validated") else ""
                sub["description"] = f"Ignored by podrec, with a warning{validated}: {cls['reason']}. " + sub.get("description", "")
            annotate(sub, f"{path}.{field}")
        if isinstance(s.get("items"), dict):
            annotate(s["items"], path + "[]")
        if isinstance(s.get("additionalProperties"), dict):
            annotate(s["additionalProperties"], path + "{}")
        for type_name, field, schema in EXTENSIONS:
            if name == type_name:
                s["properties"][field] = dict(schema)
        if name in ("Container", "EphemeralContainer") and "image" not in s.get("required", []):
            s["required"] = sorted(s.get("required", []) + ["image"])
            s["properties"]["image"]["description"] = (
                "Required by podrec, as by the API server. `host` is reserved: the root is a fresh tmpfs "
                "with the host's /usr, /bin, /sbin, /lib*, /etc and /opt bound read-only, private writable "
                "/tmp, /var, /run and /home, its own /proc, a minimal /dev with the pod's /dev/shm, a "
                "read-only /sys, and the volumes; nothing else of the host (not /root, not podrec's own "
                "dirs, not other pods' volumes). Otherwise an image reference (Docker Hub's short names "
                "included), found in podrec's image store or pulled from its registry by imagePullPolicy, "
                "seen through a copy-on-write overlay of the container's own; an image that cannot be had "
                "is an error when the pod starts, never a fallback to the host. "
                + s["properties"]["image"].get("description", ""))

    os.makedirs(out_dir, exist_ok=True)
    for kind, f in FILES:
        schema = json.load(open(os.path.join(UPSTREAM, f)))
        annotate(schema, kind)
        schema["description"] = (f"A Kubernetes v1 {kind} as podrec accepts it (generated from the "
                                 "v1.32.2 strict schema by Tools/schemagen.py). " + schema.get("description", ""))
        with open(os.path.join(out_dir, f), "w") as out:
            json.dump(schema, out, indent=1, sort_keys=True)
            out.write("\n")
    unused = sorted(set(classes) - used)
    if unused:
        raise SystemExit(f"field classes that match no schema field: {unused}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "swift":
        swift()
    elif len(sys.argv) == 4 and sys.argv[1] == "editor":
        editor(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
