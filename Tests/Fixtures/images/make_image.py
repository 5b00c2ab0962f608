#!/usr/bin/env python3
"""Builds test images for podrec's image store: an OCI layout dir, an oci-archive or a
docker-archive, of three layers (plain tar, gzip, zstd through /usr/bin/zstd when present)
with a whiteout, an opaque dir, a hard link, a symlink and an xattr.

usage: make_image.py FORMAT OUT [--busybox PATH] [--bad-diffid] [--bad-blob] [--multiarch]
                     [--layers N --layer-mb MB [--seed S] [--base-seed S] [--one-layer]] [--ref NAME]
FORMAT: layout | oci-archive | docker-archive

--layers N --layer-mb MB: instead of the three small layers, N gzip layers of MB MiB each of
incompressible data (random bytes from a seeded generator, so the same arguments give the same
bytes), for the pull and start benchmarks and the fault tests. Layer 1 holds /etc/passwd,
/etc/group, /tmp (and busybox with its applets in /bin when --busybox is given) and
/data/0.bin; layer i holds /data/<i>.bin. The config has Env PATH=/bin and Cmd sleep 3600; no
User, no WorkingDir. --seed S (default 1) seeds layers 2..N; --base-seed S (default: the seed)
seeds layer 1 alone, so two images made with the same --base-seed and different --seed share a
byte-identical first layer and differ in every other. --one-layer puts the same files (the same
tree) into a single layer. --ref NAME sets the image's name (the layout's
org.opencontainers.image.ref.name, the docker-archive's RepoTags); the defaults are unchanged
(localhost/test/multi:v1, localhost/test/docker:v1). The JSON printed last also lists the
layers' (compressed) digests and sizes under "layers" in this mode.
"""
import gzip, hashlib, io, json, os, random, shutil, subprocess, sys, tarfile

args = sys.argv[1:]
fmt, out = args[0], args[1]
busybox = args[args.index("--busybox") + 1] if "--busybox" in args else None


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            kind, name = e[0], e[1]
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            data = None
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = e[2] if len(e) > 2 else 0o755
            elif kind == "file":
                data = e[2]
                info.size = len(data)
                info.mode = e[3] if len(e) > 3 else 0o644
                if len(e) > 4:
                    info.pax_headers = e[4]
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = e[2]
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = e[2]
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


base = [("dir", "etc"), ("file", "etc/a", b"a\n"), ("file", "etc/b", b"b\n"),
        ("file", "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1001:web:/home/web:/bin/sh\n"),
        ("file", "etc/group", b"root:x:0:\nweb:x:1001:\n"),
        ("dir", "dir"), ("file", "dir/x", b"x\n"), ("file", "dir/y", b"y\n"),
        ("dir", "usr"), ("hard", "usr/b-hard", "etc/b"), ("sym", "b-link", "/etc/b"),
        ("file", "xattr-file", b"xa\n", 0o640, {"SCHILY.xattr.user.podrec": "yes"}),
        ("dir", "tmp", 0o1777)]
if busybox:
    base += [("dir", "bin"), ("file", "bin/busybox", open(busybox, "rb").read(), 0o755), ("sym", "bin/sh", "busybox")]
    for applet in ["cat", "ls", "stat", "id", "test", "echo", "sleep", "pwd", "env"]:
        base.append(("sym", "bin/" + applet, "busybox"))
second = [("dir", "etc"), ("file", "etc/.wh.a", b""), ("file", "etc/c", b"c\n"),
          ("dir", "dir"), ("file", "dir/.wh..wh..opq", b""), ("file", "dir/z", b"z\n")]
third = [("dir", "srv", 0o755), ("file", "srv/top", b"top\n")]

def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


big = "--layers" in args
if big:
    # The benchmark's image: N layers of incompressible data (see the docstring).
    n_layers, layer_bytes = int(opt("--layers", "1")), int(float(opt("--layer-mb", "1")) * 1024 * 1024)
    seed = int(opt("--seed", "1"))
    base_seed = int(opt("--base-seed", str(seed)))
    trees = [[("dir", "etc"),
              ("file", "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
              ("file", "etc/group", b"root:x:0:\n"),
              ("dir", "tmp", 0o1777)]]
    if busybox:
        trees[0] += [("dir", "bin"), ("file", "bin/busybox", open(busybox, "rb").read(), 0o755), ("sym", "bin/sh", "busybox")]
        for applet in ["cat", "ls", "stat", "id", "test", "echo", "sleep", "pwd", "env", "sha256sum"]:
            trees[0].append(("sym", "bin/" + applet, "busybox"))
    trees[0] += [("dir", "data"), ("file", "data/0.bin", random.Random(base_seed).randbytes(layer_bytes))]
    for i in range(1, n_layers):
        # One generator per layer, seeded by (seed, i): layer i does not depend on N.
        data = random.Random(seed * 1000003 + i).randbytes(layer_bytes)
        trees.append([("dir", "data"), ("file", "data/%d.bin" % i, data)])
    if "--one-layer" in args:
        trees = [trees[0] + [e for t in trees[1:] for e in t if e[0] != "dir"]]
    layers = []
    for t in trees:
        raw = tar_bytes(t)
        # Level 1: the data does not compress at any level, and level 9 is slow on 100 MB.
        layers.append(("application/vnd.oci.image.layer.v1.tar+gzip", gzip.compress(raw, compresslevel=1, mtime=0), raw))
        del raw
    del trees

if not big:
    layers = []  # (media type, compressed bytes, diff id)
    raw = tar_bytes(base)
    layers.append(("application/vnd.oci.image.layer.v1.tar", raw, raw))
    raw = tar_bytes(second)
    layers.append(("application/vnd.oci.image.layer.v1.tar+gzip", gzip.compress(raw, mtime=0), raw))
    raw = tar_bytes(third)
    if shutil.which("zstd"):
        z = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
        layers.append(("application/vnd.oci.image.layer.v1.tar+zstd", z, raw))
    else:
        layers.append(("application/vnd.oci.image.layer.v1.tar+gzip", gzip.compress(raw, mtime=0), raw))


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


diff_ids = [sha(l[2]) for l in layers]
if "--bad-diffid" in args:
    diff_ids[1] = "sha256:" + "0" * 64
config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
          "config": {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo default"], "Env": ["PATH=/bin", "FROM_IMAGE=1"],
                     "WorkingDir": "/srv", "User": "web", "StopSignal": "SIGQUIT"},
          "rootfs": {"type": "layers", "diff_ids": diff_ids}}
if big:
    config["config"] = {"Cmd": ["sleep", "3600"], "Env": ["PATH=/bin"]}
config_bytes = json.dumps(config).encode()
blobs = {}


def put(b):
    d = sha(b)
    blobs[d] = b
    return d


manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config_bytes), "size": len(config_bytes)},
            "layers": [{"mediaType": m, "digest": put(c), "size": len(c)} for (m, c, _) in layers]}
manifest_bytes = json.dumps(manifest).encode()
manifest_digest = put(manifest_bytes)
top = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": len(manifest_bytes),
       "annotations": {"org.opencontainers.image.ref.name": opt("--ref", "localhost/test/multi:v1")}}
if "--multiarch" in args:
    other = dict(config, architecture="s390x")
    other_bytes = json.dumps(other).encode()
    other_manifest = dict(manifest, config={"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(other_bytes), "size": len(other_bytes)})
    other_manifest_bytes = json.dumps(other_manifest).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(other_manifest_bytes), "size": len(other_manifest_bytes),
         "platform": {"os": "linux", "architecture": "s390x"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": len(manifest_bytes),
         "platform": {"os": "linux", "architecture": "amd64"}}]}
    index_bytes = json.dumps(index).encode()
    top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put(index_bytes), "size": len(index_bytes),
           "annotations": {"org.opencontainers.image.ref.name": opt("--ref", "localhost/test/multi:v1")}}

files = {}
if fmt in ("layout", "oci-archive"):
    files["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [top]}).encode()
    for d, b in blobs.items():
        files["blobs/sha256/" + d[7:]] = b
    if "--bad-blob" in args:
        d = manifest["layers"][0]["digest"]
        files["blobs/sha256/" + d[7:]] = blobs[d][:-512] + b"\x01" * 512
else:
    files[config["rootfs"]["diff_ids"][0][7:] + ".json"] = config_bytes
    names = []
    for i, (_, _, raw) in enumerate(layers):
        files["layer%d/layer.tar" % i] = raw
        names.append("layer%d/layer.tar" % i)
    cfg = config["rootfs"]["diff_ids"][0][7:] + ".json"
    files["manifest.json"] = json.dumps([{"Config": cfg, "RepoTags": [opt("--ref", "localhost/test/docker:v1")], "Layers": names}]).encode()

if fmt == "layout":
    for name, b in files.items():
        p = os.path.join(out, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(b)
else:
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        for name, b in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(b)
            t.addfile(info, io.BytesIO(b))
result = {"manifest": manifest_digest, "diff_ids": diff_ids}
if big:
    result["layers"] = [{"digest": l["digest"], "size": l["size"]} for l in manifest["layers"]]
print(json.dumps(result))
