#!/usr/bin/env python3
"""Validate Kubernetes v1 YAML files against the upstream strict JSON Schemas.

Usage: upstream_check.py SCHEMA_DIR FILE|DIR...

SCHEMA_DIR holds pod-v1.json, configmap-v1.json and secret-v1.json, for example
../shared/schemas-upstream/kubernetes/v1.32.2-standalone-strict. A DIR argument stands for
its *.yaml, *.yml and *.json files (not recursive), in name order.

For each file, one JSON line on stdout:

  {"file": "<basename>", "path": "<as given>", "ok": bool, "parse_error": str|null,
   "errors": [{"doc": 0, "kind": "Pod", "path": "spec.containers[0].x", "message": "..."}],
   "skipped": ["skipped kind ResourceClaim (document 1)"], "documents": 2}

- Every document of the stream is checked; the schema is picked by `kind` (Pod, ConfigMap,
  Secret). Other kinds are listed in "skipped" and do not make the file fail. Empty
  documents are ignored, as kubectl ignores them; "documents" counts the others (a file
  with none is "ok" here: whether that is acceptable is the caller's decision).
- `path` is rendered `a.b[0].c`; a key that is not a plain identifier (letters, digits,
  `_`, `-`) is written `["app.kubernetes.io/name"]`; the document root is "".
- `doc` is the 0-based index of the document in the stream.
- Exit status is 0 whatever the files contain; 2 on wrong usage. The caller decides.

Scalars are resolved as kubectl resolves them, not as PyYAML's own YAML 1.1 resolver does.
kubectl reads YAML with sigs.k8s.io/yaml over go-yaml v2 into interface{} and converts the
result to JSON. PyYAML is close but differs in ways that change schema results, so the
plain-scalar rules of go-yaml v2 (resolve.go) are reimplemented here:

  - booleans: y Y yes Yes YES true True TRUE on On ON / n N no No NO false False FALSE off
    Off OFF (PyYAML does not treat y/Y/n/N as booleans);
  - null: "" ~ null Null NULL;
  - integers: Go strconv.ParseInt(s, 0, 64) after removing every "_" (then ParseUint), so
    0644 and 0o644 are 420, 01777 is 1023, 0x1F is 31, 0b101 is 5 (PyYAML: 0o644 is a
    string and 1:20 is the sexagesimal integer 80; here 1:20 is a string);
  - floats: ^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$, so 1e3 is a float
    (PyYAML: a string), and .inf/.nan (not representable in JSON: an error, as in kubectl).
    The result then goes through JSON as in kubectl, where Go writes an integral float
    below 1e21 without a fraction: 8080.0 and 1e3 arrive as the integers 8080 and 1000;
  - timestamps: plain 2001-12-14 stays a string (go-yaml v2 keeps timestamp-looking
    values as strings when decoding into interface{}; PyYAML makes a date);
  - quoted, literal and folded scalars are always strings;
  - mapping keys are converted to strings as sigs.k8s.io/yaml does (1 -> "1",
    true -> "true").

Duplicate keys in one mapping are reported as errors: go-yaml v2 would keep the last value
silently, but the API server's strict field validation (kubectl --validate=strict, the
default) refuses them with "duplicate field".
"""

import json
import math
import os
import re
import sys

import jsonschema
import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

SCHEMA_FILES = {
    "Pod": "pod-v1.json",
    "ConfigMap": "configmap-v1.json",
    "Secret": "secret-v1.json",
}

MAX_MESSAGE = 400

PLAIN_TAG = "tag:podrec,2025:plain"
YAML_TAG = "tag:yaml.org,2002:"

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KubectlLoader(_BaseLoader):
    """Composes node trees only; plain scalars keep a marker tag and are resolved later."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            return PLAIN_TAG
        return super().resolve(kind, value, implicit)


# --- go-yaml v2 scalar resolution -------------------------------------------------------

_RESOLVE_MAP = {}
for _value, _words in (
    (True, "y Y yes Yes YES true True TRUE on On ON"),
    (False, "n N no No NO false False FALSE off Off OFF"),
    (None, "~ null Null NULL"),
    (math.nan, ".nan .NaN .NAN"),
    (math.inf, ".inf .Inf .INF +.inf +.Inf +.INF"),
    (-math.inf, "-.inf -.Inf -.INF"),
):
    for _w in _words.split():
        _RESOLVE_MAP[_w] = _value

_HINT = {}
for _c in "+-":
    _HINT[_c] = "S"
for _c in "0123456789":
    _HINT[_c] = "D"
for _c in "yYnNtTfFoO~":
    _HINT[_c] = "M"
_HINT["."] = "."

_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
_NO_VALUE = object()


def _go_parse_uint(s):
    """strconv.ParseUint(s, 0, 64) on a string without underscores; None when invalid."""
    if s == "":
        return None
    base = 10
    if s[0] == "0":
        if len(s) >= 3 and s[1] in "bB":
            base, s = 2, s[2:]
        elif len(s) >= 3 and s[1] in "oO":
            base, s = 8, s[2:]
        elif len(s) >= 3 and s[1] in "xX":
            base, s = 16, s[2:]
        else:
            base, s = 8, s[1:]
            if s == "":
                return 0
    if s == "" or any(c not in _DIGITS[base] for c in s):
        return None
    n = int(s, base)
    return n if n < 1 << 64 else None


def _go_parse_int(s):
    """strconv.ParseInt(s, 0, 64); None when invalid or out of range."""
    neg = False
    if s[:1] in ("+", "-"):
        neg, s = s[0] == "-", s[1:]
    n = _go_parse_uint(s)
    if n is None:
        return None
    n = -n if neg else n
    return n if -(1 << 63) <= n < (1 << 63) else None


def _go_parse_float(s):
    f = float(s)
    return None if math.isinf(f) else f  # Go returns ErrRange, so the value stays a string


def resolve_plain(s):
    """The value go-yaml v2 gives a plain scalar decoded into interface{}."""
    if s == "":
        return None
    hint = _HINT.get(s[0])
    if hint is None:
        return s
    if s in _RESOLVE_MAP:
        return _RESOLVE_MAP[s]
    if hint == "." and _DOT_FLOAT.match(s):
        f = _go_parse_float(s)
        if f is not None:
            return f
    elif hint in ("D", "S"):
        plain = s.replace("_", "")
        n = _go_parse_int(plain)
        if n is None and plain[:1] != "+" and plain[:1] != "-":
            n = _go_parse_uint(plain)
        if n is not None:
            return n
        if _YAML_STYLE_FLOAT.match(plain):
            f = _go_parse_float(plain)
            if f is not None:
                return f
        # "0b..." and "-0b..." were already handled by ParseInt's base prefix.
    return s


# --- node tree -> JSON-able value, as sigs.k8s.io/yaml does it ----------------------------


class Converter:
    def __init__(self):
        self.errors = []  # (path list, message)
        self._active = set()

    def error(self, path, message):
        self.errors.append((list(path), message))

    def value(self, node, path):
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self._active:
            self.error(path, "recursive alias")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.value(item, path + [i]) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
        finally:
            self._active.discard(id(node))
        self.error(path, "unsupported node")
        return None

    def scalar(self, node, path):
        tag, s = node.tag, node.value
        if tag == PLAIN_TAG:
            v = resolve_plain(s)
        elif tag == YAML_TAG + "binary":
            import base64

            try:
                v = base64.b64decode("".join(s.split()), validate=True).decode("utf-8", "replace")
            except ValueError:
                self.error(path, "!!binary value is not valid base64")
                v = None
        elif tag in (YAML_TAG + "int", YAML_TAG + "float", YAML_TAG + "bool", YAML_TAG + "null"):
            v = resolve_plain(s)
            want = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[
                tag[len(YAML_TAG):]
            ]
            if not isinstance(v, want) or (tag.endswith("int") and isinstance(v, bool)):
                self.error(path, "cannot decode %r as !!%s" % (s, tag[len(YAML_TAG):]))
                v = None
        else:
            # !!str, !!timestamp, quoted scalars, and unknown tags all decode to the text.
            v = s
        if isinstance(v, float):
            if math.isnan(v) or math.isinf(v):
                self.error(path, "%s is not representable in JSON (json: unsupported value)" % s)
                return None
            if v == int(v) and abs(v) < 1e21:
                # Go's json.Marshal writes 8080.0 and 1e3 as 8080 and 1000: the API server
                # (and any JSON reader) sees an integer.
                return int(v)
        return v

    def key(self, node, path):
        if not isinstance(node, ScalarNode):
            self.error(path, "unsupported map key: a %s" % type(node).__name__)
            return None
        k = self.scalar(node, path)
        if isinstance(k, bool):
            return "true" if k else "false"
        if isinstance(k, int):
            return str(k)
        if isinstance(k, float):
            return repr(k)
        if k is None:
            self.error(path, "unsupported map key: null")
            return None
        return k

    def is_merge(self, node):
        return isinstance(node, ScalarNode) and node.value == "<<" and node.tag in (
            PLAIN_TAG,
            YAML_TAG + "merge",
        )

    def mapping(self, node, path):
        out = {}
        seen = {}
        merged = []
        for k_node, v_node in node.value:
            if self.is_merge(k_node):
                merged.append((v_node, path))
                continue
            k = self.key(k_node, path)
            if k is None:
                continue
            if k in seen:
                first = seen[k]
                self.error(
                    path,
                    "duplicate key %s at line %d, column %d (first at line %d, column %d)"
                    % (
                        json.dumps(k),
                        k_node.start_mark.line + 1,
                        k_node.start_mark.column + 1,
                        first.line + 1,
                        first.column + 1,
                    ),
                )
            else:
                seen[k] = k_node.start_mark
            out[k] = self.value(v_node, path + [k])
        # Merge keys: explicit keys win; in a list, earlier maps win over later ones.
        for v_node, p in merged:
            sources = v_node.value if isinstance(v_node, SequenceNode) else [v_node]
            for src in sources:
                if not isinstance(src, MappingNode):
                    self.error(p, "map merge requires map or sequence of maps as the value")
                    continue
                m = self.value(src, p)
                for k, v in (m or {}).items():
                    out.setdefault(k, v)
        return out


# --- reporting -----------------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def render_path(parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        elif _IDENT.match(p):
            out += ("." if out else "") + p
        else:
            out += "[%s]" % json.dumps(p)
    return out


def shorten(message):
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "\u2026"


def parse_error_text(exc):
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = "%d:%d: " % (mark.line + 1, mark.column + 1) if mark else ""
        what = "; ".join(x for x in (exc.context, exc.problem) if x)
        return where + what
    if isinstance(exc, yaml.reader.ReaderError):
        return "byte %d: %s" % (exc.position, " ".join(str(exc).split("\n")[0].split()))
    return "%s: %s" % (type(exc).__name__, " ".join(str(exc).split()))


def check_file(path, validators):
    result = {
        "file": os.path.basename(path),
        "path": path,
        "ok": False,
        "parse_error": None,
        "errors": [],
        "skipped": [],
        "documents": 0,
    }
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        result["parse_error"] = "cannot read: %s" % exc.strerror
        return result
    try:
        nodes = list(yaml.compose_all(data, Loader=KubectlLoader))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
        result["parse_error"] = parse_error_text(exc)
        return result
    except RecursionError:
        result["parse_error"] = "nesting too deep"
        return result

    errors = []
    for index, node in enumerate(nodes):
        if node is None:
            continue
        result["documents"] += 1
        conv = Converter()
        try:
            doc = conv.value(node, [])
        except RecursionError:
            result["parse_error"] = "document %d: nesting too deep" % index
            return result
        kind = doc.get("kind") if isinstance(doc, dict) else None
        for p, m in conv.errors:
            errors.append({"doc": index, "kind": kind, "path": render_path(p), "message": m})
        if doc is None:
            continue
        if not isinstance(doc, dict):
            errors.append(
                {"doc": index, "kind": None, "path": "", "message": "document is not a mapping"}
            )
            continue
        if kind is None:
            errors.append(
                {"doc": index, "kind": None, "path": "kind", "message": "Object 'Kind' is missing"}
            )
            continue
        if kind not in validators:
            result["skipped"].append("skipped kind %s (document %d)" % (kind, index))
            continue
        found = []
        for e in validators[kind].iter_errors(doc):
            found.append((render_path(list(e.absolute_path)), shorten(e.message)))
        for p, m in sorted(found):
            errors.append({"doc": index, "kind": kind, "path": p, "message": m})
    result["errors"] = errors
    result["ok"] = not errors
    return result


def expand(arg):
    if os.path.isdir(arg):
        names = sorted(
            n for n in os.listdir(arg) if n.endswith((".yaml", ".yml", ".json"))
        )
        return [os.path.join(arg, n) for n in names]
    return [arg]


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: upstream_check.py SCHEMA_DIR FILE|DIR...\n")
        return 2
    schema_dir = argv[1]
    validators = {}
    for kind, name in SCHEMA_FILES.items():
        p = os.path.join(schema_dir, name)
        try:
            with open(p, encoding="utf-8") as f:
                validators[kind] = jsonschema.Draft4Validator(json.load(f))
        except (OSError, ValueError) as exc:
            sys.stderr.write("upstream_check.py: cannot load schema %s: %s\n" % (p, exc))
            return 2
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    for arg in argv[2:]:
        for path in expand(arg):
            print(json.dumps(check_file(path, validators), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
