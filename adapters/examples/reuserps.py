#!/usr/bin/env python3
"""A small, independent SO_REUSERPS implementation speaking steerspec/1.

One JSON object per line on stdin, one reply per line on stdout, logs on stderr.
Run it under the oracle:  npx steerspec check --exec "python3 adapters/examples/reuserps.py" --scheme reuserps
It computes nothing from steerspec's code: it is here to show that any program can be judged.
With --threads it speaks the concurrent protocol (docs/concurrency.md): a thread per branch, a lock
around the state; check it with  npx steerspec check --scheme reuserps --parallel 2 --exec "... --threads".
"""
import json
import os
import queue
import sys
import threading
import traceback

# Held while a command reads or changes the state: commands of different branches never interleave.
STATE_LOCK = threading.Lock()


class Reuserps:
    def __init__(self, config):
        self.cpus = config.get("cpus", 128)
        self.slots = config.get("slotsPerCpu", 128)
        self.top_down = config.get("policy", "round-robin") == "top-down"
        self.hash_fallback = config.get("fallback", "refuse") == "hash"
        self.mode = None          # None, "reuserps" or "plain"
        self.owner = None
        self.members = []         # listener ids in group order
        self.listeners = {}       # id -> {"cpus": set, "limit": int, "queue": [conn ids]}
        self.tables = [[] for _ in range(self.cpus)]
        self.cursors = [0] * self.cpus
        self.conns = {}           # id -> {"listener": id or None, "cpu": c, "hash": h or None, "accepted": bool}

    def load(self, lid):
        return sum(1 for c in self.conns.values() if c["listener"] == lid)

    def has_room(self, lid):
        limit = self.listeners[lid]["limit"]
        return limit == 0 or self.load(lid) < limit

    def pick(self, cpu, h):
        """Listener id for an arrival on cpu, and whether it was local; None when refused."""
        if not self.members:
            return None
        if self.mode == "plain":
            return self.members[((h or 0) * len(self.members)) >> 32], False
        table = self.tables[cpu]
        if self.top_down:
            for lid in table:
                if self.has_room(lid):
                    return lid, True
        else:
            for k in range(len(table)):
                at = (self.cursors[cpu] + k) % len(table)
                if self.has_room(table[at]):
                    self.cursors[cpu] = (at + 1) % len(table)
                    return table[at], True
        if not self.hash_fallback:
            return None
        eligible = [lid for lid in self.members if self.has_room(lid)]
        if not eligible:
            return None
        return eligible[((h or 0) * len(eligible)) >> 32], False

    def register(self, cmd):
        lid, reuserps = cmd["listener"], cmd["reuserps"]
        mask, limit = sorted(set(cmd.get("cpus", []))), cmd.get("limit", 0)
        mode = "reuserps" if reuserps else "plain"
        if lid in self.listeners:
            return fail("duplicate-listener")
        if any(c >= self.cpus for c in mask):
            return fail("bad-cpu")
        if reuserps and not mask:
            return fail("empty-mask")
        if limit < 0 or limit != int(limit):
            return fail("bad-limit")
        if (not reuserps and (mask or limit != 0)) or (self.mode is not None and self.mode != mode):
            return fail("mode-mismatch")
        if self.mode is not None and cmd["uid"] != self.owner:
            return fail("uid-mismatch")
        if reuserps and any(len(self.tables[c]) >= self.slots for c in mask):
            return fail("table-full")
        if self.mode is None:
            self.mode, self.owner = mode, cmd["uid"]
        self.members.append(lid)
        self.listeners[lid] = {"cpus": mask if reuserps else [], "limit": int(limit), "queue": []}
        for c in self.listeners[lid]["cpus"]:
            self.tables[c].append(lid)
        return {"ok": True}

    def deregister(self, cmd):
        lid = cmd["listener"]
        if lid not in self.listeners:
            return fail("unknown-listener")
        at = self.members.index(lid)
        if self.mode == "plain":
            self.members[at] = self.members[-1]
            self.members.pop()
        else:
            del self.members[at]
        gone = self.listeners.pop(lid)
        for c in gone["cpus"]:
            table = self.tables[c]
            pos = table.index(lid)
            del table[pos]
            if pos < self.cursors[c]:
                self.cursors[c] -= 1
            if self.cursors[c] >= len(table):
                self.cursors[c] = 0
        if not self.members:
            self.mode = self.owner = None
        for conn in self.conns.values():
            if conn["listener"] == lid and conn["accepted"]:
                conn["listener"] = None
        migrated, reset = [], []
        for cid in gone["queue"]:
            conn = self.conns[cid]
            target = self.pick(conn["cpu"], conn["hash"])
            if target is None:
                del self.conns[cid]
                reset.append(cid)
            else:
                conn["listener"] = target[0]
                self.listeners[target[0]]["queue"].append(cid)
                migrated.append([cid, target[0]])
        return {"ok": True, "migrated": migrated, "reset": reset}

    def connect(self, cmd):
        cid, cpu = cmd["conn"], cmd["cpu"]
        if cid in self.conns:
            return fail("duplicate-conn")
        if cpu >= self.cpus:
            return fail("bad-cpu")
        target = self.pick(cpu, cmd.get("hash"))
        if target is None:
            return fail("refused")
        lid, local = target
        waiting = self.listeners[lid]["queue"]
        # the limit was checked in pick; the load grows with the connection added next
        self.conns[cid] = {"listener": lid, "cpu": cpu, "hash": cmd.get("hash"), "accepted": False}
        waiting.append(cid)
        return {"ok": True, "listener": lid, "local": local}

    def accept(self, cmd):
        listener = self.listeners.get(cmd["listener"])
        if listener is None:
            return fail("unknown-listener")
        if not listener["queue"]:
            return {"ok": True, "conn": None}
        cid = listener["queue"].pop(0)
        self.conns[cid]["accepted"] = True
        return {"ok": True, "conn": cid}

    def close(self, cmd):
        conn = self.conns.pop(cmd["conn"], None)
        if conn is None:
            return fail("unknown-conn")
        if not conn["accepted"]:
            self.listeners[conn["listener"]]["queue"].remove(cmd["conn"])
        return {"ok": True}


def fail(error):
    return {"ok": False, "error": error}


def serve(instance, cmd):
    """The reply to one request, and the instance the next ones go to (init makes a new one)."""
    op = cmd["op"]
    if op != "init":
        with STATE_LOCK:
            return getattr(instance, op)(cmd), instance
    if cmd["scheme"] != "reuserps":
        return {"ok": False, "error": "unsupported-scheme", "message": "this example only implements reuserps"}, instance
    capabilities = {"hash": True, "snapshot": False}
    if "--threads" in sys.argv:
        capabilities["concurrent"] = True
    return {"ok": True, "capabilities": capabilities}, Reuserps(cmd["config"])


def main():
    current = [None]          # the instance, shared with the branch threads
    out = threading.Lock()    # one reply line at a time
    branches = {}             # branch number -> its queue of requests

    def write(reply):
        with out:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()

    def branch_thread(requests):
        while True:
            cmd = requests.get()
            tag = cmd.pop("id")
            del cmd["branch"]
            try:
                reply, _ = serve(current[0], cmd)
            except Exception:
                # A thread that dies leaves its branch unanswered: end the whole program, loudly.
                traceback.print_exc()
                os._exit(3)
            write(dict(reply, id=tag))

    for line in sys.stdin:
        cmd = json.loads(line)
        if "branch" in cmd:
            # A parallel request: its branch's thread answers it, while this one reads the next line.
            if cmd["branch"] not in branches:
                branches[cmd["branch"]] = queue.Queue()
                threading.Thread(target=branch_thread, args=(branches[cmd["branch"]],), daemon=True).start()
            branches[cmd["branch"]].put(cmd)
            continue
        reply, current[0] = serve(current[0], cmd)
        write(reply)


if __name__ == "__main__":
    main()
