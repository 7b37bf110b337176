#!/usr/bin/env python3
"""Validate a gort execution trace (GORTTRACE=path): Chrome trace-event JSON.

Checks, for any trace:
  - the file parses as JSON (object form with "traceEvents", or array form);
  - every event has the fields its phase needs; pid is 1 ("gort");
  - each P track (tid < 10000) is named "P<tid>" by a thread_name event;
  - slices ("X") have dur >= 0 and, per track, never overlap (a P runs one
    goroutine at a time; files are not in time order, so slices are sorted
    first); "B"/"E" pairs, if any, match per track;
  - timestamps are >= 0 and not beyond the end of the trace.

Options add expectations about a known workload:
  --procs N           tracks P0..P(N-1) exist
  --goroutine NAME    at least one goroutine slice is named NAME (repeatable)
  --preempt-async     at least one "preempt async" instant
  --preempt-coop      at least one "preempt coop" instant
  --stw               at least one "stop the world" slice on the "world" track
  --blocking NAME     at least one "NAME in C call" slice on an M track
                      (a goroutine inside gort_blocking_begin/end; repeatable)
  --min-slices N      at least N goroutine slices in all

Exit status 0 when everything holds; otherwise 1, with one line per problem.
Python 3 standard library only.
"""

import argparse
import collections
import json
import sys

WORLD_TID = 10000
M_TID_BASE = 20000
EPS_US = 0.0015  # timestamps are exact to the nanosecond (3 decimals of a us)


def load(path):
    with open(path, "rb") as f:
        data = json.loads(f.read().decode("utf-8"))
    if isinstance(data, dict):
        events = data.get("traceEvents")
        if not isinstance(events, list):
            raise ValueError("object form without a traceEvents array")
        return events
    if isinstance(data, list):
        return data
    raise ValueError("neither an object nor an array")


def check(events, args):
    problems = []

    def bad(msg):
        if len(problems) < 50:
            problems.append(msg)

    names = {}  # tid -> thread name
    slices = collections.defaultdict(list)  # tid -> [(ts, end, name)]
    begins = collections.defaultdict(list)
    instants = collections.Counter()
    goroutine_slices = collections.Counter()
    blocking_slices = collections.Counter()
    max_ts = 0.0
    for i, e in enumerate(events):
        if not isinstance(e, dict):
            bad(f"event {i} is not an object")
            continue
        ph = e.get("ph")
        if ph is None or "name" not in e:
            bad(f"event {i} lacks ph or name: {e}")
            continue
        if e.get("pid") != 1:
            bad(f"event {i} has pid {e.get('pid')!r}, want 1")
        tid = e.get("tid")
        if not isinstance(tid, int):
            bad(f"event {i} has no integer tid: {e}")
            continue
        if ph == "M":
            if e["name"] == "thread_name":
                names[tid] = e.get("args", {}).get("name")
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            bad(f"event {i} has a bad ts: {e}")
            continue
        if ph == "X":
            dur = e.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                bad(f"event {i} has a bad dur: {e}")
                continue
            slices[tid].append((ts, ts + dur, e["name"]))
            max_ts = max(max_ts, ts + dur)
            if e.get("cat") == "goroutine":
                goroutine_slices[e["name"]] += 1
                a = e.get("args", {})
                if not isinstance(a.get("g"), int) or not a.get("why"):
                    bad(f"goroutine slice {i} lacks args g/why: {e}")
                if tid >= WORLD_TID:
                    bad(f"goroutine slice {i} is not on a P track: {e}")
            elif e.get("cat") == "blocking":
                blocking_slices[e["name"]] += 1
                if tid < M_TID_BASE:
                    bad(f"blocking slice {i} is not on an M track: {e}")
        elif ph in ("i", "I"):
            instants[e["name"]] += 1
            max_ts = max(max_ts, ts)
        elif ph == "B":
            begins[tid].append(ts)
        elif ph == "E":
            if not begins[tid]:
                bad(f"event {i}: E without B on track {tid}")
            else:
                begins[tid].pop()
        else:
            max_ts = max(max_ts, ts)

    for tid, open_ in begins.items():
        if open_:
            bad(f"track {tid}: {len(open_)} B events without E")
    for tid, name in names.items():
        if tid < WORLD_TID and name != f"P{tid}":
            bad(f"track {tid} is named {name!r}, want 'P{tid}'")
    for tid in slices:
        if tid not in names:
            bad(f"track {tid} has slices but no thread_name")
    for tid, ss in slices.items():
        ss.sort()
        for (s0, e0, n0), (s1, e1, n1) in zip(ss, ss[1:]):
            if s1 < e0 - EPS_US:
                bad(f"track {names.get(tid, tid)}: {n0!r} [{s0}, {e0}] overlaps {n1!r} [{s1}, {e1}]")
                break
    for tid, ss in slices.items():
        for s, e, n in ss:
            if e > max_ts + EPS_US:
                bad(f"slice {n!r} ends after the trace")

    if args.procs:
        for p in range(args.procs):
            if names.get(p) != f"P{p}":
                bad(f"no track named P{p}")
    for g in args.goroutine or []:
        if goroutine_slices[g] == 0:
            bad(f"no slice named {g!r} (goroutine slices: {dict(goroutine_slices.most_common(10))})")
    for g in args.blocking or []:
        if blocking_slices[f"{g} in C call"] == 0:
            bad(f"no slice named {g + ' in C call'!r} (blocking slices: {dict(blocking_slices.most_common(10))})")
    if args.preempt_async and instants["preempt async"] == 0:
        bad("no 'preempt async' instant")
    if args.preempt_coop and instants["preempt coop"] == 0:
        bad("no 'preempt coop' instant")
    if args.stw:
        world = [n for n in (s[2] for s in slices.get(WORLD_TID, []))]
        if names.get(WORLD_TID) != "world":
            bad("no track named 'world'")
        if "stop the world" not in world:
            bad("no 'stop the world' slice on the world track")
    total = sum(goroutine_slices.values())
    if total < args.min_slices:
        bad(f"{total} goroutine slices, want at least {args.min_slices}")

    summary = (
        f"{len(events)} events, {len([t for t in names if t < WORLD_TID])} P tracks, "
        f"{total} goroutine slices, {sum(blocking_slices.values())} blocking slices, instants {dict(instants)}"
    )
    return problems, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--procs", type=int, default=0)
    ap.add_argument("--goroutine", action="append")
    ap.add_argument("--blocking", action="append")
    ap.add_argument("--preempt-async", action="store_true")
    ap.add_argument("--preempt-coop", action="store_true")
    ap.add_argument("--stw", action="store_true")
    ap.add_argument("--min-slices", type=int, default=0)
    args = ap.parse_args()
    try:
        events = load(args.trace)
    except (OSError, ValueError) as e:
        print(f"check_trace: {args.trace}: not a valid trace: {e}")
        return 1
    problems, summary = check(events, args)
    print(f"check_trace: {args.trace}: {summary}")
    for p in problems:
        print(f"check_trace: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
