#!/usr/bin/env python3
"""The chaos soak's driver (issue 8, part 2); run through Benchmarks/soak-run.sh, which makes
the roots, builds podrec and cleans up behind it. Standard library only.

It keeps a model of what the manifest directory says (slots of five pods, one file per slot),
starts `podrec watch DIR --log-format json`, and then, until the time is up, repeats:

  1. a batch of 1-4 random actions: a file edited (env, limits, a pod added or removed, made
     invalid), renamed, deleted or created again; a container, a supervisor or the watcher
     SIGKILLed (the watcher is started again, as systemd would); a cgroup limit written by
     hand;
  2. polling the invariants until they hold, at most --settle seconds (a violation past that
     is a failure, reported with its details); the time they took is the convergence time;
  3. the watcher's log read so far, checked for lines logged twice for one cause.

At the end: every file deleted, every pod gone, the watcher stopped (SIGTERM, by its pid),
and proof that nothing is left (cgroups, mounts, processes, state, data and log dirs) and that
each watcher instance's fds and RSS stayed flat. Exits 1 on any failure.
"""
import argparse
import ctypes
import datetime
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time

HIERARCHIES = ["cpu", "cpuacct", "devices", "freezer", "memory", "pids"]
CGROUP = "/sys/fs/cgroup"
MI = 1 << 20
MEMORY_CHOICES = [16, 24, 32, 48]      # MiB
CPU_CHOICES = [50, 100, 150, 200]      # millicores
CONTAINERS = ["a", "b"]


def now():
    return time.time()


def log_time(text):
    """RFC3339 with nanoseconds (the watcher's `time`) → epoch seconds."""
    base, frac = text.rstrip("Z").split(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + float("0." + frac)


def read(path, default=None):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return default


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def pids_of(path):
    text = read(path + "/cgroup.procs", "")
    return [int(p) for p in text.split()]


class Pod:
    """One pod as its file says: GEN per container, limits per container."""

    def __init__(self, rng):
        self.env = {c: 1 for c in CONTAINERS}
        self.memory = {c: rng.choice(MEMORY_CHOICES) for c in CONTAINERS}
        self.cpu = {c: rng.choice(CPU_CHOICES) for c in CONTAINERS}

    def copy(self):
        p = Pod.__new__(Pod)
        p.env, p.memory, p.cpu = dict(self.env), dict(self.memory), dict(self.cpu)
        return p

    def yaml(self, name):
        out = [f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n"
               "  terminationGracePeriodSeconds: 1\n  containers:\n"]
        for c in CONTAINERS:
            out.append(f"  - name: {c}\n    image: host\n    command: [sleep, \"3600\"]\n"
                       f"    env: [{{name: GEN, value: \"{self.env[c]}\"}}]\n"
                       f"    resources: {{limits: {{memory: {self.memory[c]}Mi, cpu: {self.cpu[c]}m}}}}\n")
        return "".join(out)


class Slot:
    """One file: its current name (None while deleted) and the pods it defines. While the file
    is invalid, `held` is what ran when it broke: the watcher keeps those pods as they were."""

    def __init__(self, index, rng):
        self.index = index
        self.name = f"slot{index}.yaml"
        self.renames = 0
        self.pods = {self.pod_name(i): Pod(rng) for i in range(5)}
        self.valid = True
        self.held = None

    def pod_name(self, i):
        return f"s{self.index}-{i}"

    def expected(self):
        if self.name is None:
            return {}
        return self.held if not self.valid else self.pods

    def text(self):
        if not self.valid:
            # A tab in the indentation: libyaml refuses it at parse time.
            return "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: broken\n"
        return "---\n".join(p.yaml(n) for n, p in sorted(self.pods.items()))


class Soak:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.dir = a.work + "/manifests"
        self.root = os.environ["PODREC_ROOT"]
        self.data = os.environ["PODREC_DATA_ROOT"]
        self.logs = os.environ["PODREC_LOG_DIR"]
        self.parent = os.environ["PODREC_CGROUP_ROOT"]
        self.slots = [Slot(i, self.rng) for i in range(a.files)]
        self.watcher = None            # pid
        self.instances = []            # one dict per watcher process
        self.failures = []
        self.counts = {}               # action kind → how many
        self.checks_passed = 0
        self.check_times = []          # seconds per evaluation of every invariant
        self.convergence = []          # seconds per batch
        self.causes = {}               # subject → [times]: what may make the watcher log again
        self.baseline = {}             # pod → (supervisor pid, {container: pid}) when last converged
        self.restart_ok = {}           # pod → set of containers that may have a new pid, or "pod"
        self.backoff_ok = {}           # (pod, container) → kills of it by the driver
        self.supervisor_fds = {}       # supervisor pid → (first, last) fd count
        self.log_state = {}            # per instance: offset, last line per key
        self.duplicates = []
        self.log_lines = 0
        self.started = now()

    # ----- the manifest directory -----

    def path(self, name):
        return self.dir + "/" + name

    def cause(self, subject, when):
        self.causes.setdefault(subject, []).append(when)

    def pod_causes(self, slot, when):
        for name in set(slot.pods) | set(slot.held or {}):
            self.cause("pod default/" + name, when)

    def write(self, slot, in_place=None):
        """Writes the slot's file, in place (O_TRUNC) or by rename from a dotfile, which the
        watcher ignores, as editors do."""
        t = now()
        self.cause("file " + self.path(slot.name), t)
        self.pod_causes(slot, t)
        if in_place is None:
            in_place = self.rng.random() < 0.4
        data = slot.text().encode()
        if in_place:
            fd = os.open(self.path(slot.name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, data)
            os.close(fd)
        else:
            tmp = self.path("." + slot.name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.rename(tmp, self.path(slot.name))

    def may_restart(self, name, containers=None):
        """Marks what the next check may find restarted: these containers of the pod, or the
        whole pod (containers None: a new supervisor, or the pod deleted and created again)."""
        if containers is None:
            self.restart_ok[name] = "pod"
        elif self.restart_ok.get(name) != "pod":
            self.restart_ok.setdefault(name, set()).update(containers)

    def count_only_log(self, kind, what):
        with open(self.a.work + "/actions.log", "a") as f:
            t = datetime.datetime.fromtimestamp(now(), datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
            f.write(f"{t} {kind}: {what}\n")

    def count(self, kind, what=""):
        """Counts an action done, and writes it to actions.log (beside the watcher's logs),
        with its time, so that a failure can be read against what led to it."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.count_only_log(kind, what)

    # ----- actions -----

    def present(self, valid=None):
        return [s for s in self.slots if s.name is not None and (valid is None or s.valid == valid)]

    def running_pods(self):
        """(slot, pod name) of every pod that should be running now."""
        return [(s, n) for s in self.present() for n in s.expected()]

    def targets(self):
        """The pods whose processes and cgroups the driver may hit: all that should run,
        those of an invalid file too (the watcher repairs them from the file's last good
        content, which it keeps in the state root across its restarts)."""
        return self.running_pods()

    def act_edit_env(self, touched):
        slots = [s for s in self.present() if s.pods]
        if not slots:
            return False
        s = self.rng.choice(slots)
        name = self.rng.choice(sorted(s.pods))
        which = self.rng.choice([["a"], ["b"], ["a", "b"]])
        for c in which:
            s.pods[name].env[c] += 1
        self.fix(s)
        self.may_restart(name, which)
        self.write(s)
        touched.add(s.index)
        self.count("edit: env", f"{s.name}: {name} GEN of {which}")
        return True

    def act_edit_limits(self, touched):
        slots = [s for s in self.present() if s.pods]
        if not slots:
            return False
        s = self.rng.choice(slots)
        name = self.rng.choice(sorted(s.pods))
        c = self.rng.choice(CONTAINERS)
        pod = s.pods[name]
        if self.rng.random() < 0.5:
            pod.memory[c] = self.rng.choice([m for m in MEMORY_CHOICES if m != pod.memory[c]])
        else:
            pod.cpu[c] = self.rng.choice([m for m in CPU_CHOICES if m != pod.cpu[c]])
        self.fix(s)
        self.write(s)
        touched.add(s.index)
        self.count("edit: limits (in place, no restart)", f"{s.name}: {name} {c}")
        return True

    def act_edit_pods(self, touched):
        """A pod removed from its file, or one added back."""
        slots = self.present()
        if not slots:
            return False
        s = self.rng.choice(slots)
        missing = [s.pod_name(i) for i in range(5) if s.pod_name(i) not in s.pods]
        if missing and (len(s.pods) <= 2 or self.rng.random() < 0.5):
            name = self.rng.choice(missing)
            s.pods[name] = Pod(self.rng)
            self.count("edit: pod added to a file", f"{s.name}: {name}")
        elif s.pods:
            name = self.rng.choice(sorted(s.pods))
            del s.pods[name]
            self.count("edit: pod removed from a file", f"{s.name}: {name}")
        else:
            return False
        self.may_restart(name)
        self.fix(s)
        self.write(s)
        touched.add(s.index)
        return True

    def act_break(self, touched):
        """A file made invalid: its pods must keep running as they were, and its error be
        logged once. Only a file that converged and is untouched in this batch, so that what
        ran when it broke is known."""
        slots = [s for s in self.present(valid=True) if s.index not in touched]
        if not slots:
            return False
        s = self.rng.choice(slots)
        s.held = {n: p.copy() for n, p in s.pods.items()}
        s.valid = False
        self.write(s)
        touched.add(s.index)
        self.count("edit: file made invalid", s.name)
        return True

    def fix(self, s):
        """An edit of an invalid file writes it whole and valid again."""
        if not s.valid:
            s.valid = True
            s.held = None

    def act_rename(self, touched):
        slots = self.present(valid=True)
        if not slots:
            return False
        s = self.rng.choice(slots)
        s.renames += 1
        new = f"slot{s.index}-r{s.renames}" + self.rng.choice([".yaml", ".yml"])
        t = now()
        self.cause("file " + self.path(s.name), t)
        self.cause("file " + self.path(new), t)
        self.pod_causes(s, t)
        old = s.name
        os.rename(self.path(s.name), self.path(new))
        s.name = new
        touched.add(s.index)
        self.count("rename", f"{old} → {new}")
        return True

    def act_delete(self, touched):
        slots = self.present()
        if len(slots) <= self.a.files // 2:
            return False
        s = self.rng.choice(slots)
        t = now()
        self.cause("file " + self.path(s.name), t)
        self.pod_causes(s, t)
        old = s.name
        os.unlink(self.path(s.name))
        for n in set(s.pods) | set(s.held or {}):
            self.may_restart(n)
        s.name = None
        s.valid, s.held = True, None
        touched.add(s.index)
        self.count("delete a file", old)
        return True

    def act_create(self, touched):
        slots = [s for s in self.slots if s.name is None]
        if not slots:
            return False
        s = self.rng.choice(slots)
        s.renames += 1
        s.name = f"slot{s.index}-r{s.renames}.yaml"
        s.pods = {s.pod_name(i): Pod(self.rng) for i in range(5) if self.rng.random() < 0.8} or {s.pod_name(0): Pod(self.rng)}
        for n in s.pods:
            self.may_restart(n)
        self.write(s)
        touched.add(s.index)
        self.count("create a file", f"{s.name}: {sorted(s.pods)}")
        return True

    def pod_dir(self, name):
        """The pod's cgroup dir name (in the memory hierarchy), if exactly one."""
        dirs = [d for d in listdir(f"{CGROUP}/memory/{self.parent}") if d.startswith(f"default_{name}_")]
        return dirs[0] if len(dirs) == 1 else None

    def random_pod_dir(self):
        """A target pod chosen at random and its cgroup dir name, or (None, None)."""
        pods = self.targets()
        if not pods:
            return None, None
        _, name = self.rng.choice(pods)
        return name, self.pod_dir(name)

    def kill_in_pod(self, name, pids, containers=None):
        """SIGKILLs processes of the pod, as the cause of what its next check may find
        restarted: these containers, or the whole pod (`may_restart`)."""
        self.cause("pod default/" + name, now())
        for p in pids:
            os.kill(p, signal.SIGKILL)
        self.may_restart(name, containers)

    def act_kill_container(self, touched):
        pods = self.targets()
        if not pods:
            return False
        # Prefer containers never killed: each kill of the same run adds to its backoff.
        choices = [(s, n, c) for s, n in pods for c in CONTAINERS if (n, c) not in self.backoff_ok] \
            or [(s, n, c) for s, n in pods for c in CONTAINERS]
        s, name, c = self.rng.choice(choices)
        d = self.pod_dir(name)
        if d is None:
            return False
        pids = pids_of(f"{CGROUP}/memory/{self.parent}/{d}/{c}")
        if not pids:
            return False
        self.kill_in_pod(name, pids, [c])
        self.backoff_ok[(name, c)] = self.backoff_ok.get((name, c), 0) + 1
        self.count("SIGKILL a container", f"{name} {c} pid {pids}")
        return True

    def act_kill_supervisor(self, touched):
        name, d = self.random_pod_dir()
        if d is None:
            return False
        pids = pids_of(f"{CGROUP}/memory/{self.parent}/{d}/_infra")
        if not pids:
            return False
        self.kill_in_pod(name, pids)
        self.count("SIGKILL a supervisor", f"{name} pid {pids}")
        return True

    def act_limit_by_hand(self, touched):
        name, d = self.random_pod_dir()
        if d is None:
            return False
        where = self.rng.choice(["pod", "a", "b"])
        knob = self.rng.choice(["memory/memory.limit_in_bytes", "cpu/cpu.cfs_quota_us", "cpu/cpu.shares"])
        hierarchy, file = knob.split("/")
        path = f"{CGROUP}/{hierarchy}/{self.parent}/{d}" + ("" if where == "pod" else "/" + where) + "/" + file
        current = read(path)
        if current is None:
            return False
        if file == "memory.limit_in_bytes":
            value = int(current) + 64 * MI
        elif file == "cpu.cfs_quota_us":
            # v1 refuses a child's quota above its parent's (EINVAL): a container's is
            # lowered, the pod's raised.
            value = max(1000, int(current) // 2) if where != "pod" else int(current) + 7000
        else:
            value = int(current) + 300
        self.cause("pod default/" + name, now())
        try:
            with open(path, "w") as f:
                f.write(str(value))
        except OSError as e:
            self.note(f"limit by hand: {path} = {value}: {e}")
            return False
        self.count(f"limit by hand: {file}", f"{path} = {value}")
        return True

    def act_kill_watcher(self, touched):
        # The last 40% of the run keeps one watcher instance, long enough to see whether its
        # memory and fds stay flat.
        if now() - self.started > 0.6 * self.a.seconds or self.watcher is None:
            return False
        t = now()
        self.cause("*", t)
        pid = self.watcher
        os.kill(pid, signal.SIGKILL)
        self.wait_watcher()
        self.count("SIGKILL the watcher", f"pid {pid}")
        return True

    ACTIONS = [
        ("edit_env", 20), ("edit_limits", 10), ("edit_pods", 6), ("break", 3), ("rename", 8),
        ("delete", 5), ("create", 5), ("kill_container", 12), ("kill_supervisor", 8),
        ("limit_by_hand", 10), ("kill_watcher", 3),
    ]

    def batch(self):
        touched = set()
        n = self.rng.randint(1, 4)
        done = 0
        while done < n:
            kind = self.rng.choices([k for k, _ in self.ACTIONS], weights=[w for _, w in self.ACTIONS])[0]
            if getattr(self, "act_" + kind)(touched):
                done += 1
                # Back to back, or spread over a few ms (one burst) or a few hundred (several).
                time.sleep(self.rng.choice([0, 0, 0.002, 0.05, 0.3]))
            self.reap()
        if self.watcher is None:
            # systemd's Restart=always, RestartSec=100ms (changes made meanwhile included).
            time.sleep(self.rng.uniform(0.1, 1.0))
            self.start_watcher()

    def note(self, text):
        print(f"soak: {text}", file=sys.stderr, flush=True)

    # ----- the watcher -----

    def start_watcher(self):
        n = len(self.instances)
        path = f"{self.a.work}/watch-{n}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        pid = os.posix_spawn(self.a.podrec, [self.a.podrec, "watch", self.dir, "--resync", str(self.a.resync),
                                             "--log-format", "json"], dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)])
        os.close(fd)
        self.watcher = pid
        with open(self.a.work + "/watcher.pid", "w") as f:
            f.write(str(pid))
        self.instances.append({"pid": pid, "log": path, "started": now(), "samples": [], "exit": None})
        deadline = now() + 10
        while "watching " not in (read(path) or ""):
            if now() > deadline:
                self.fail("the watcher did not start: " + (read(path) or ""))
                break
            time.sleep(0.01)
            self.reap()

    def wait_watcher(self):
        pid = self.watcher
        self.watcher = None
        while True:
            try:
                got, status = os.waitpid(pid, 0)
            except ChildProcessError:
                return
            if got == pid:
                self.instances[-1]["exit"] = status
                return

    def reap(self):
        """The driver is a child subreaper: the supervisors of a killed watcher come to it."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.watcher:
                self.watcher = None
                self.instances[-1]["exit"] = status
                self.fail(f"the watcher (pid {pid}) exited by itself: wait status {status}")

    def sample(self):
        """The watcher's RSS and fds. Its pidfds follow the pods, one per live supervisor, but
        the pass that started the last supervisor may still be logging when the pods already
        converged: a mismatch is sampled again for up to a second before it counts."""
        for _ in range(10):
            s = self.sample_once()
            if s is None or s[3] == s[4]:
                break
            time.sleep(0.1)
        if s is not None:
            self.instances[-1]["samples"].append(s)

    def sample_once(self):
        if self.watcher is None:
            return None
        pid = self.watcher
        status = read(f"/proc/{pid}/status", "")
        rss = next((int(l.split()[1]) for l in status.splitlines() if l.startswith("VmRSS:")), None)
        fds = pidfds = 0
        for fd in listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target == "anon_inode:[pidfd]":
                pidfds += 1
            else:
                fds += 1
        return None if rss is None else (now(), rss, fds, pidfds, len(self.running_pods()))

    # ----- invariants -----

    def podrec_get(self):
        out = subprocess.run([self.a.podrec, "get", "-o", "json"], capture_output=True, text=True)
        if out.returncode != 0:
            return None, out.stderr
        return json.loads(out.stdout), None

    def check(self):
        """Every violation now, as text. Also returns the pids seen, for the restart check."""
        v = []
        want = {}
        for s in self.present():
            for n, p in s.expected().items():
                want[n] = (s, p)
        got, err = self.podrec_get()
        if got is None:
            return [f"podrec get -o json failed: {err}"], {}
        names = {g["name"]: g for g in got}
        for n in sorted(set(names) - set(want)):
            v.append(f"pod {n} runs ({names[n]['status']}) but no file defines it")
        for n in sorted(set(want) - set(names)):
            v.append(f"pod {n} ({want[n][0].name}) is missing from podrec get")
        states = {d for d in listdir(self.root + "/pods")}
        extra = states - {f"default_{n}" for n in want}
        if extra:
            v.append(f"state dirs with no file: {sorted(extra)}")
        # The kernel: one pod cgroup per pod, the same in every hierarchy, with _infra and
        # one cgroup per container, and no process anywhere else.
        per_hierarchy = {}
        all_procs = set()
        for h in HIERARCHIES:
            base = f"{CGROUP}/{h}/{self.parent}"
            dirs = [d for d in listdir(base) if os.path.isdir(base + "/" + d)]
            per_hierarchy[h] = set(dirs)
            all_procs.update(pids_of(base))
            for d in dirs:
                all_procs.update(pids_of(f"{base}/{d}"))
                for sub in listdir(f"{base}/{d}"):
                    if os.path.isdir(f"{base}/{d}/{sub}"):
                        all_procs.update(pids_of(f"{base}/{d}/{sub}"))
        memory_dirs = per_hierarchy["memory"]
        for h, dirs in per_hierarchy.items():
            if dirs != memory_dirs:
                v.append(f"cgroup hierarchy {h} has pod dirs {sorted(dirs ^ memory_dirs)} that memory has not (or the reverse)")
        owners = {}
        for d in memory_dirs:
            name = d[len("default_"):].rsplit("_", 1)[0] if d.startswith("default_") else d
            owners.setdefault(name, []).append(d)
        for name, dirs in sorted(owners.items()):
            if name not in want:
                v.append(f"pod cgroups {dirs}: no file defines pod {name}")
            elif len(dirs) > 1:
                v.append(f"pod {name} has {len(dirs)} pod cgroups: {dirs}")
        expected_procs = set()
        seen = {}
        steady = {}  # supervisor pid → pod, where both containers run
        self.steady_supervisors = steady
        for n, (s, pod) in sorted(want.items()):
            g = names.get(n)
            dirs = owners.get(n, [])
            if len(dirs) != 1:
                if not dirs:
                    v.append(f"pod {n}: no pod cgroup")
                continue
            d = dirs[0]
            record = read(f"{self.root}/pods/default_{n}/record", "")
            uid = next((l.split(" ", 1)[1] for l in record.splitlines() if l.startswith("uid ")), None)
            source = next((l.split(" ", 1)[1] for l in record.splitlines() if l.startswith("source ")), None)
            if uid is None or not d.endswith("_" + uid):
                v.append(f"pod {n}: cgroup {d} is not of the recorded uid {uid}")
            if source != "watch:" + self.path(s.name):
                v.append(f"pod {n}: recorded source {source}, its file is {self.path(s.name)}")
            base = f"{CGROUP}/memory/{self.parent}/{d}"
            subs = sorted(x for x in listdir(base) if os.path.isdir(base + "/" + x))
            if subs != ["_infra", "a", "b"]:
                v.append(f"pod {n}: container cgroups {subs}")
            sup = pids_of(base + "/_infra")
            expected_procs.update(sup)
            if len(sup) != 1:
                v.append(f"pod {n}: {len(sup)} processes in _infra: {sup}")
            containers = {}
            backoff = []
            for c in CONTAINERS:
                procs = pids_of(f"{base}/{c}")
                expected_procs.update(procs)
                if len(procs) != 1:
                    if not procs and self.backoff_ok.get((n, c), 0) >= 2:
                        # Killed more than once by the driver: the supervisor's restart
                        # backoff (10 s, doubling) may hold it back. That is its policy.
                        backoff.append(c)
                        continue
                    v.append(f"pod {n} container {c}: {len(procs)} processes: {procs}")
                    continue
                pid = procs[0]
                containers[c] = pid
                cmd = read(f"/proc/{pid}/cmdline", "")
                env = (read(f"/proc/{pid}/environ", "") or "").split("\0")
                if cmd != "sleep\x003600\x00":
                    v.append(f"pod {n} container {c}: pid {pid} runs {cmd!r}")
                if f"GEN={pod.env[c]}" not in env:
                    gen = [e for e in env if e.startswith("GEN=")]
                    v.append(f"pod {n} container {c}: environ has {gen}, the file says GEN={pod.env[c]}")
                nfds = len(listdir(f"/proc/{pid}/fd"))
                if nfds > 3:
                    v.append(f"pod {n} container {c}: {nfds} fds open (stdio only expected): {listdir(f'/proc/{pid}/fd')}")
                for path, want_value in self.limits(d, c, pod):
                    got_value = (read(path) or "?").strip()
                    if got_value != str(want_value):
                        v.append(f"{path}: {got_value}, the file says {want_value}")
            for path, want_value in self.limits(d, None, pod):
                got_value = (read(path) or "?").strip()
                if got_value != str(want_value):
                    v.append(f"{path}: {got_value}, the file says {want_value}")
            if g is not None:
                ready = f"{2 - len(backoff)}/2"
                if (g["status"] != "Running" and not backoff) or g["ready"] != ready:
                    v.append(f"pod {n}: podrec get says {g['status']} {g['ready']}")
            seen[n] = (sup[0] if len(sup) == 1 else None, containers)
            if len(sup) == 1 and len(containers) == 2:
                steady[sup[0]] = n
        stray = all_procs - expected_procs
        if stray:
            v.append(f"processes in {self.parent} that are no pod's: " +
                     ", ".join(f"{p} {read(f'/proc/{p}/cmdline', '?')!r}" for p in sorted(stray)))
        return v, seen

    def limits(self, d, c, pod):
        """(file, value) the pod's or a container's cgroup must hold: kubelet's arithmetic
        (shares = milli·1024/1000, quota = milli·100 µs per 100 ms; the pod's are the sums)."""
        if c is None:
            memory = sum(pod.memory.values()) * MI
            cpu = sum(pod.cpu.values())
            base = d
        else:
            memory, cpu, base = pod.memory[c] * MI, pod.cpu[c], f"{d}/{c}"
        return [(f"{CGROUP}/memory/{self.parent}/{base}/memory.limit_in_bytes", memory),
                (f"{CGROUP}/cpu/{self.parent}/{base}/cpu.cfs_quota_us", cpu * 100),
                (f"{CGROUP}/cpu/{self.parent}/{base}/cpu.shares", max(2, cpu * 1024 // 1000))]

    def settle(self, label):
        """Polls the invariants until they hold or --settle passes. A restart that no action
        explains is a failure even when everything else holds."""
        start = now()
        last = []
        while True:
            self.reap()
            t0 = now()
            violations, seen = self.check()
            self.check_times.append(now() - t0)
            if not violations:
                took = now() - start
                self.convergence.append(took)
                self.checks_passed += 1
                self.check_restarts(seen)
                self.sample_supervisors()
                self.baseline = seen
                self.restart_ok = {}
                return True
            last = violations
            if now() - start > self.a.settle:
                self.fail(f"{label}: invariants still violated after {self.a.settle} s:\n    " + "\n    ".join(last[:20])
                          + (f"\n    ... and {len(last) - 20} more" if len(last) > 20 else ""))
                self.baseline = seen
                self.restart_ok = {}
                return False
            time.sleep(0.1)

    def sample_supervisors(self):
        """Each supervisor's open fds when the invariants hold and both its containers run:
        a steady state, so the count must not grow over the supervisor's life. (Sampled at
        other times it is not steady: between clone and exec, the spawned process in
        `_infra` is still a copy of the watcher with all its fds; during a restart, the old
        and the new container's pipes are both open.)"""
        for pid, pod in self.steady_supervisors.items():
            if (read(f"/proc/{pid}/comm") or "").strip() != "podrec-supervis":
                continue
            fds = {}
            for fd in listdir(f"/proc/{pid}/fd"):
                try:
                    fds[fd] = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    pass
            first = self.supervisor_fds.get(pid, (fds, pod))[0]
            self.supervisor_fds[pid] = (first, pod, fds)

    def check_restarts(self, seen):
        for n, (sup, containers) in seen.items():
            before = self.baseline.get(n)
            ok = self.restart_ok.get(n, set())
            if before is None or before[0] is None or ok == "pod":
                continue
            if before[0] != sup:
                self.fail(f"pod {n}: supervisor {before[0]} → {sup}, with no kill of it, no pod removal")
                continue
            for c, pid in containers.items():
                old = before[1].get(c)
                if old is not None and old != pid and c not in ok:
                    self.fail(f"pod {n} container {c}: restarted ({old} → {pid}) with no kill of it and no change of its spec")

    # ----- the watcher's log -----

    # How long before a line a cause may lie and still be the line's own: the pass that logs
    # it read the directory and the kernel a little earlier, so a cause in that gap is seen
    # only by the next pass (and two causes in one burst give two lines at once).
    RACE = 0.5

    def check_log(self):
        """Nothing logged twice for one event. Within one watcher process's log (a new process
        reports afresh what it finds), lines are the same when they have the same kind, the
        same subject (the pod of an action, the file of an event or error, else the message)
        and the same message. Each such line after the first must have its own cause:
        something the driver did to that subject (a write, rename or delete of that file or
        of the file of that pod, a kill of one of its processes, a limit written by hand in
        its cgroups) after the previous same line, or at most RACE before it, and not already
        taken by another same line. A line takes the earliest free cause in its window; the
        first takes one only if one lies within RACE before it (else it reports what the
        watcher found at start or at a resync). A line with no cause left is a duplicate:
        an event read twice, an error logged at every resync instead of once per change of
        its file, an action redone after it had succeeded. Not counted, by design: a failed
        action is retried (and logged) at each pass until it succeeds, and so is a deferred
        limit, until it fits."""
        for i, inst in enumerate(self.instances):
            st = self.log_state.setdefault(i, {"offset": 0, "last": {}, "taken": {}})
            try:
                with open(inst["log"], "rb") as f:
                    f.seek(st["offset"])
                    data = f.read()
            except OSError:
                continue
            end = data.rfind(b"\n") + 1
            st["offset"] += end
            for raw in data[:end].splitlines():
                self.log_lines += 1
                try:
                    o = json.loads(raw)
                except ValueError:
                    self.fail(f"watch-{i}.log: not a JSON line: {raw[:200]!r}")
                    continue
                kind, msg = o.get("kind"), o.get("msg", "")
                if kind == "watch" or "(deferred)" in msg:
                    continue
                if o.get("level") == "error" and kind == "action":
                    continue
                if kind == "action" and "pod" in o:
                    subject = "pod " + o["pod"]
                elif "file" in o:
                    subject = "file " + o["file"]
                else:
                    subject = "msg " + msg
                t = log_time(o["time"])
                key = (kind, subject, msg)
                prev = st["last"].get(key)
                st["last"][key] = t
                if subject.startswith("msg "):
                    times = sorted(x for v in self.causes.values() for x in v)
                else:
                    times = sorted(self.causes.get(subject, []))
                taken = st["taken"].setdefault(key, set())
                since = (t if prev is None else prev) - self.RACE
                free = [x for x in times if since < x <= t and x not in taken]
                if free:
                    taken.add(free[0])
                elif prev is not None:
                    self.duplicates.append(f"watch-{i}.log: {kind} {msg!r} logged at {o['time']} and already "
                                           f"{t - prev:.3f} s before, with no cause of its own for {subject}")
                    self.fail("logged twice: " + self.duplicates[-1])

    def fail(self, text):
        self.count_only_log("FAILURE", text)
        self.failures.append(text)
        self.note("FAILURE: " + text)

    # ----- the run -----

    def run(self):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
            raise OSError(ctypes.get_errno(), "prctl PR_SET_CHILD_SUBREAPER")
        os.makedirs(self.dir, mode=0o755)
        os.chmod(self.dir, 0o755)
        for s in self.slots:
            self.write(s, in_place=False)
        self.start_watcher()
        self.settle("start")
        self.note(f"{len(self.running_pods())} pods running; chaos for {self.a.seconds} s")
        batches = 0
        last_report = now()
        while now() - self.started < self.a.seconds:
            batches += 1
            self.count_only_log("batch", str(batches))
            self.batch()
            self.settle(f"batch {batches}")
            self.sample()
            self.check_log()
            if now() - last_report > 60:
                last_report = now()
                self.note(f"{int(now() - self.started)} s: {batches} batches, {self.checks_passed} checks passed, "
                          f"{len(self.failures)} failures")
        self.batches = batches
        self.finish()

    def finish(self):
        """Deletes every file, waits for the watcher to remove every pod, stops it, and proves
        that nothing is left."""
        if self.watcher is None:
            self.start_watcher()
        self.sample()
        for s in self.present():
            self.cause("file " + self.path(s.name), now())
            self.pod_causes(s, now())
            os.unlink(self.path(s.name))
            s.name = None
        t0 = now()
        while True:
            self.reap()
            got, _ = self.podrec_get()
            pods = listdir(self.root + "/pods")
            cgroups = [d for d in listdir(f"{CGROUP}/memory/{self.parent}") if os.path.isdir(f"{CGROUP}/memory/{self.parent}/{d}")]
            if got == [] and not pods and not cgroups:
                break
            if now() - t0 > 30:
                self.fail(f"30 s after every file was deleted: get {got}, state {pods}, cgroups {cgroups}")
                break
            time.sleep(0.1)
        self.removal = now() - t0
        time.sleep(2 * self.a.resync)  # a resync or two with nothing to do: it must log nothing
        self.sample()
        self.check_log()
        pid = self.watcher
        os.kill(pid, signal.SIGTERM)
        self.wait_watcher()
        status = self.instances[-1]["exit"]
        if status != 0:
            self.fail(f"the watcher's exit on SIGTERM: wait status {status}")
        self.reap()
        self.leaks()
        self.report()

    def leaks(self):
        proofs = []
        left = []
        for h in HIERARCHIES + ["unified", "systemd"]:
            base = f"{CGROUP}/{h}/{self.parent}"
            if os.path.isdir(base):
                sub = [d for d, _, _ in os.walk(base) if d != base]
                procs = pids_of(base)
                if sub or procs:
                    left.append(f"{base}: {sub} {procs}")
                else:
                    os.rmdir(base)  # the parent podrec made; it is ours to remove
        if left:
            self.fail("cgroups left: " + "; ".join(left))
        gone = [h for h in listdir(CGROUP) if os.path.exists(f"{CGROUP}/{h}/{self.parent}")]
        if gone:
            self.fail(f"cgroup parent {self.parent} still in {gone}")
        proofs.append(f"no {self.parent} cgroup in any of {len(listdir(CGROUP))} hierarchies")
        for mi in ["/proc/self/mountinfo", "/proc/1/mountinfo"]:
            hits = [l for l in (read(mi) or "").splitlines() if self.a.work in l or self.parent in l]
            if hits:
                self.fail(f"{mi}: mounts left: {hits[:5]}")
        proofs.append(f"no mount mentioning {self.a.work} in /proc/self/mountinfo or pid 1's")
        stray = []
        for p in listdir("/proc"):
            if p.isdigit() and self.parent in (read(f"/proc/{p}/cgroup") or ""):
                stray.append(p)
        if stray:
            self.fail(f"processes still in {self.parent} cgroups: {stray}")
        proofs.append(f"no process in a {self.parent} cgroup (every /proc/PID/cgroup read)")
        for d in [self.root + "/pods", self.data + "/pods", self.logs + "/pods"]:
            if listdir(d):
                self.fail(f"{d} not empty: {listdir(d)[:10]}")
        for d in listdir(self.root + "/watch"):
            kept = listdir(f"{self.root}/watch/{d}")
            if kept:
                self.fail(f"the watcher still keeps last good copies of deleted files: {kept}")
        proofs.append("state, data and log dirs of pods: empty; no last good copy kept")
        try:
            children = os.waitpid(-1, os.WNOHANG)
            self.fail(f"a child of the driver is still there: {children}")
        except ChildProcessError:
            proofs.append("no child process of the driver left")
        self.proofs = proofs

    def report(self):
        a = self.a
        c = sorted(self.convergence)
        out = []
        out.append(f"### Chaos soak, one run: {a.seconds} s, {a.files} files x 5 pods, resync {a.resync} s, seed {a.seed}\n")
        out.append(f"{self.batches} batches, {sum(self.counts.values())} actions; invariants held after "
                   f"{self.checks_passed} of {self.batches + 1} checks (start included); "
                   f"{self.log_lines} log lines checked for repeats.\n")
        out.append("| action | count |\n|---|---:|")
        for k, n in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            out.append(f"| {k} | {n} |")
        if c:
            p = lambda q: c[min(len(c) - 1, int(q * len(c)))]
            out.append(f"\nConvergence after a batch (invariants first all true), {len(c)} batches: median "
                       f"{statistics.median(c):.2f} s, p90 {p(0.9):.2f} s, max {c[-1]:.2f} s (bound {a.settle} s).")
        if self.check_times:
            out.append(f"The invariants were evaluated {len(self.check_times)} times (polled every 0.1 s until they held); "
                       f"one evaluation (podrec get -o json, every cgroup and /proc file above) took "
                       f"{statistics.median(self.check_times) * 1000:.0f} ms median, so a convergence time is known to about that.")
        out.append(f"All pods removed {self.removal:.2f} s after every file was deleted.\n")
        out.append("| watcher instance | lived (s) | samples | RSS first → last (max), KiB | RSS from 60 s on, KiB | fds besides pidfds first → last | pidfds last / pods |")
        out.append("|---:|---:|---:|---|---|---|---|")
        for i, inst in enumerate(self.instances):
            s = inst["samples"]
            if not s:
                out.append(f"| {i} | {self.lived(inst):.0f} | 0 | | | | |")
                continue
            settled = [x for x in s if x[0] - s[0][0] >= 60]
            later = f"{settled[0][1]} → {settled[-1][1]}" if len(settled) >= 2 else ""
            out.append(f"| {i} | {self.lived(inst):.0f} | {len(s)} | {s[0][1]} → {s[-1][1]} ({max(x[1] for x in s)}) | {later} | "
                       f"{s[0][2]} → {s[-1][2]} | {s[-1][3]} / {s[-1][4]} |")
            self.flat(i, s)
        counts = [len(first) for first, _, _ in self.supervisor_fds.values()]
        growth = [len(last) - len(first) for first, _, last in self.supervisor_fds.values()]
        if growth:
            out.append(f"\nSupervisors: {len(growth)} sampled in steady state (both containers running, invariants "
                       f"holding); open fds {min(counts)}–{max(counts)}; change first → last sample: "
                       f"min {min(growth)}, max {max(growth)}.")
            for first, pod, last in self.supervisor_fds.values():
                if len(last) > len(first):
                    new = {fd: t for fd, t in last.items() if first.get(fd) != t}
                    self.fail(f"pod {pod}: its supervisor's fds grew {len(first)} → {len(last)}: new {new}")
        out.append("\nAt the end: " + "; ".join(getattr(self, "proofs", [])) + ".")
        out.append(f"\n{len(self.failures)} failures" + (":" if self.failures else "."))
        for f in self.failures:
            out.append("- " + f.replace("\n", "\n  "))
        print("\n".join(out), flush=True)

    def lived(self, inst):
        s = inst["samples"]
        return (s[-1][0] - inst["started"]) if s else 0

    def flat(self, i, samples):
        """Flat: past its first minute (its caches filled: the parsed files, the pidfds), an
        instance's RSS grows by less than 1 MiB and its other fds not at all; its pidfds
        follow the pods (one per live supervisor)."""
        settled = [s for s in samples if s[0] - samples[0][0] >= 60]
        if len(settled) < 2:
            return
        first, last = settled[0], settled[-1]
        if last[1] - first[1] > 1024:
            self.fail(f"watcher instance {i}: RSS {first[1]} → {last[1]} KiB over {last[0] - first[0]:.0f} s")
        if last[2] > first[2]:
            self.fail(f"watcher instance {i}: fds besides pidfds {first[2]} → {last[2]}")
        for s in samples:
            if s[3] != s[4]:
                self.fail(f"watcher instance {i}: {s[3]} pidfds with {s[4]} pods at {s[0] - self.started:.0f} s")
                break


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--podrec", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--files", type=int, default=10)
    p.add_argument("--resync", type=int, default=2)
    p.add_argument("--settle", type=float, default=20)
    p.add_argument("--seed", type=int, default=None)
    a = p.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 30)
    soak = Soak(a)
    try:
        soak.run()
    except BaseException:
        # Leave the watcher to soak-run.sh's cleanup (it reads watcher.pid); say where we were.
        import traceback
        traceback.print_exc()
        print(f"soak: stopped early after {len(soak.failures)} failures; seed {a.seed}", file=sys.stderr)
        sys.exit(1)
    sys.exit(1 if soak.failures else 0)


if __name__ == "__main__":
    main()
