#!/usr/bin/env python3
"""Turn a gort execution trace (GORTTRACE=path) into a standalone HTML timeline.

    python3 tools/trace2html.py trace.json [out.html] [--title TEXT]

The page needs no network: the data and the viewer (a canvas and a little
JavaScript) are inline. It shows one row per P with a bar per goroutine run,
coloured by goroutine (one colour per goroutine: distinct palette colours for the
busiest, hashed hues for the rest; with a legend),
preemption markers (async: red triangle; cooperative: blue ring), P retakes
(purple diamond), stop-the-world spans (a red band across every row for the
stop, grey while the world stays stopped), a world row, one row per M with
goroutines inside blocking C calls, and a time axis. Hover for details;
wheel to zoom, drag to pan, double-click to reset.

A trace cut short (the process died without exit(), so the JSON footer is
missing) is repaired: every complete event is shown and a warning printed.

Python 3 standard library only.
"""

import argparse
import html
import json
import os
import sys

WORLD_TID = 10000
OTHER_TID = 10001
M_TID_BASE = 20000

WHY = ["parked", "yield", "preempted", "exit", "blocking", "retaken", "running at exit", "superseded", "unknown"]
INSTANTS = {"preempt async": 0, "preempt coop": 1, "retake": 2, "blocking begin": 3, "blocking end": 4}


def load_events(path):
    """Returns (events, warning or None)."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
        events = data["traceEvents"] if isinstance(data, dict) else data
        return events, None
    except (ValueError, KeyError, TypeError):
        pass
    # gort writes one event per line: keep every complete line.
    start = text.find("[")
    if start < 0:
        raise ValueError(f"{path}: not a trace")
    body = text[start + 1 :]
    events = []
    for line in body.split("\n"):
        line = line.strip().rstrip(",").lstrip(",").strip()
        if not line.startswith("{"):
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            break  # the torn last event
    return events, f"{path}: the trace is incomplete (no JSON footer: did the process exit()?); showing {len(events)} events"


def build(events):
    names = {}
    slices = {}  # tid -> list of [start, dur, gid, why]
    instants = {}  # tid -> list of [ts, code, gid]
    world = []  # [start, dur, kind] kind 0 = stopping, 1 = stopped
    gnames = {}
    gtime = {}
    gcount = {}
    counts = {"preempt async": 0, "preempt coop": 0, "retake": 0, "stop the world": 0}
    t_min, t_max = None, 0.0

    def seen(t):
        nonlocal t_min, t_max
        t_min = t if t_min is None else min(t_min, t)
        t_max = max(t_max, t)

    for e in events:
        if not isinstance(e, dict):
            continue
        ph, tid, name = e.get("ph"), e.get("tid"), e.get("name", "")
        if ph == "M":
            if name == "thread_name":
                names[tid] = e.get("args", {}).get("name", str(tid))
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or not isinstance(tid, int):
            continue
        args = e.get("args", {}) or {}
        if ph == "X":
            dur = max(0.0, float(e.get("dur", 0)))
            seen(ts)
            seen(ts + dur)
            cat = e.get("cat")
            if tid == WORLD_TID:
                kind = 0 if name == "stop the world" else 1
                world.append([ts, dur, kind])
                if kind == 0:
                    counts["stop the world"] += 1
                continue
            gid = args.get("g", 0)
            if cat == "goroutine":
                gname = name
                gtime[gid] = gtime.get(gid, 0.0) + dur
                gcount[gid] = gcount.get(gid, 0) + 1
            else:  # blocking C call on an M row: "<name> in C call"
                gname = name[: -len(" in C call")] if name.endswith(" in C call") else name
            if gid not in gnames or not gnames[gid].startswith("G"):
                gnames.setdefault(gid, gname)
            why = args.get("why", "blocking" if cat == "blocking" else "unknown")
            code = WHY.index(why) if why in WHY else WHY.index("unknown")
            if args.get("preempt") == "coop":
                code = 100 + code  # preempted, cooperatively
            slices.setdefault(tid, []).append([round(ts, 3), round(dur, 3), gid, code])
        elif ph in ("i", "I"):
            if name in INSTANTS:
                seen(ts)
                instants.setdefault(tid, []).append([round(ts, 3), INSTANTS[name], args.get("g", 0)])
            if name in counts:
                counts[name] += 1

    if t_min is None:
        t_min = t_max = 0.0

    # Rows: Ps, then world, then Ms with something to show.
    p_tids = sorted({t for t in list(names) + list(slices) + list(instants) if isinstance(t, int) and t < WORLD_TID})
    m_tids = sorted(t for t in set(slices) | set(instants) if t >= M_TID_BASE)
    rows = []
    span = max(t_max - t_min, 1e-9)
    for t in p_tids:
        busy = sum(s[1] for s in slices.get(t, []))
        rows.append({"label": names.get(t, f"P{t}"), "kind": "p", "busy": busy / span, "tid": t})
    rows.append({"label": "world", "kind": "world", "busy": 0, "tid": WORLD_TID})
    for t in m_tids:
        rows.append({"label": names.get(t, f"M{t - M_TID_BASE}"), "kind": "m", "busy": 0, "tid": t})

    row_slices, row_instants = [], []
    for r in rows:
        t = r["tid"]
        if r["kind"] == "world":
            ss = sorted(world)
            row_slices.append([[s[0], s[1], -1 - s[2], 0] for s in ss])
        else:
            row_slices.append(sorted(slices.get(t, [])))
        row_instants.append(sorted(instants.get(t, [])))

    order = sorted(gnames, key=lambda g: -gtime.get(g, 0.0))
    goroutines = [[g, gnames[g], round(gtime.get(g, 0.0), 3), gcount.get(g, 0)] for g in order]
    return {
        "t0": t_min,
        "t1": t_max,
        "rows": rows,
        "slices": row_slices,
        "instants": row_instants,
        "stw": sorted(world),
        "goroutines": goroutines,
        "why": WHY,
        "counts": counts,
    }


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>__TITLE__</title>
<style>
 body { margin: 0; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #fafafa; color: #222; }
 header { padding: 10px 16px 6px; }
 h1 { font-size: 17px; margin: 0 0 4px; }
 .sub { color: #555; }
 .warn { color: #b00; font-weight: 600; }
 #wrap { position: relative; margin: 0 16px; background: #fff; border: 1px solid #ddd; }
 canvas { display: block; }
 #tip { position: absolute; pointer-events: none; background: rgba(20,20,20,.92); color: #fff; padding: 6px 8px; border-radius: 4px; font-size: 12px; white-space: pre; display: none; z-index: 2; }
 #keys { margin: 8px 16px 0; color: #444; display: flex; gap: 18px; flex-wrap: wrap; align-items: center; }
 #legend { margin: 6px 16px 12px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
 .lg { display: flex; align-items: center; gap: 5px; min-width: 170px; }
 .sw { width: 14px; height: 14px; border-radius: 2px; flex: none; border: 1px solid rgba(0,0,0,.25); }
 .mk { display: inline-block; vertical-align: middle; }
</style></head>
<body>
<header>
 <h1>__TITLE__</h1>
 <div class="sub" id="summary"></div>
 __WARNING__
</header>
<div id="wrap"><canvas id="c"></canvas><div id="tip"></div></div>
<div id="keys">
 <span><svg class="mk" width="14" height="12"><path d="M1 1 L13 1 L7 11 Z" fill="#d62728"/></svg> async preemption</span>
 <span><svg class="mk" width="14" height="14"><circle cx="7" cy="7" r="5" fill="#fff" stroke="#1f5fbf" stroke-width="2.5"/></svg> cooperative preemption</span>
 <span><svg class="mk" width="14" height="14"><path d="M7 1 L13 7 L7 13 L1 7 Z" fill="#7b3fb0"/></svg> P retaken (thread blocked in C)</span>
 <span><svg class="mk" width="18" height="12"><rect width="18" height="12" fill="rgba(214,39,40,.25)"/></svg> stopping the world</span>
 <span><svg class="mk" width="18" height="12"><rect width="18" height="12" fill="rgba(90,90,90,.22)"/></svg> world stopped</span>
 <span class="sub">hover for details &middot; wheel: zoom &middot; drag: pan &middot; double-click: reset</span>
</div>
<div id="legend"></div>
<script>
const D = __DATA__;
const LABEL_W = 118, AXIS_H = 30, PAD_B = 8;
const canvas = document.getElementById('c'), ctx = canvas.getContext('2d');
const tip = document.getElementById('tip'), wrap = document.getElementById('wrap');
const gname = new Map(D.goroutines.map(g => [g[0], g[1]]));
let v0 = D.t0, v1 = D.t1 > D.t0 ? D.t1 : D.t0 + 1;

// Colours: the goroutines that ran longest (the legend's order) get distinct
// colours from a categorical palette (no reds: red marks preemptions); the
// rest a hue hashed from the id. Either way one goroutine keeps one colour.
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#edc948', '#76b7b2', '#9c755f', '#d37295',
                 '#a0cbe8', '#ffbe7d', '#8cd17d', '#d4a6c8', '#b6992d', '#86bcb6', '#bab0ac', '#79706e',
                 '#499894', '#d7b5a6'];
const gcolor = new Map(D.goroutines.map((g, i) => [g[0], i < PALETTE.length ? PALETTE[i] :
  `hsl(${((g[0] * 137.508) % 360).toFixed(1)},${45 + (g[0] * 7) % 20}%,${55 + (g[0] * 11) % 12}%)`]));
function color(gid) {
  if (gid < 0) return gid === -1 ? 'rgba(214,39,40,.75)' : 'rgba(90,90,90,.55)';
  return gcolor.get(gid) || '#999';
}
function fmt(us) {
  const a = Math.abs(us);
  if (a >= 1e6) return (us / 1e6).toFixed(a >= 1e7 ? 2 : 3) + ' s';
  if (a >= 1e3) return (us / 1e3).toFixed(a >= 1e4 ? 2 : 3) + ' ms';
  return us.toFixed(a >= 100 ? 1 : 3) + ' \u00b5s';
}
function fmtTick(us, step) {
  if (us === 0) return '0';
  const [div, unit] = step >= 1e6 ? [1e6, 's'] : step >= 1e3 ? [1e3, 'ms'] : [1, '\u00b5s'];
  const dec = Math.max(0, -Math.floor(Math.log10(step / div) + 1e-9));
  return (us / div).toFixed(dec) + ' ' + unit;
}
function layout() {
  const w = Math.max(600, wrap.clientWidth || window.innerWidth - 34);
  // P rows share the height; the world and M rows are thin.
  const nP = D.rows.filter(r => r.kind === 'p').length, nO = D.rows.length - nP, OTHER_H = 30;
  const avail = Math.max(200, window.innerHeight - canvas.getBoundingClientRect().top - 120);
  const rh = Math.max(24, Math.min(nP <= 6 ? 90 : 56, Math.floor((avail - AXIS_H - PAD_B - nO * OTHER_H) / Math.max(nP, 1))));
  let y = AXIS_H;
  const rows = D.rows.map(r => {
    const hh = r.kind === 'p' ? rh : OTHER_H;
    const row = {...r, y, hh, h: r.kind === 'p' ? hh - 6 : hh - 10};
    y += hh;
    return row;
  });
  const h = y + PAD_B;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = w * dpr; canvas.height = h * dpr;
  canvas.style.width = w + 'px'; canvas.style.height = h + 'px';
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return {w, h, rh, rows};
}
let L = layout();
const X = t => LABEL_W + (t - v0) / (v1 - v0) * (L.w - LABEL_W - 10);
const T = x => v0 + (x - LABEL_W) / (L.w - LABEL_W - 10) * (v1 - v0);

function niceStep(span, px) {
  const raw = span / Math.max(2, px / 110), p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
function lowerBound(arr, t) {  // first slice whose end >= t
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid][0] + arr[mid][1] < t) lo = mid + 1; else hi = mid; }
  return lo;
}
function draw() {
  const {w, h, rows} = L;
  ctx.clearRect(0, 0, w, h);
  ctx.font = '12px system-ui, sans-serif';
  // Row backgrounds and labels.
  rows.forEach((r, i) => {
    ctx.fillStyle = i % 2 ? '#f6f7f9' : '#ffffff';
    ctx.fillRect(0, r.y, w, r.hh);
    ctx.fillStyle = '#222'; ctx.textBaseline = 'middle';
    ctx.font = r.kind === 'p' ? 'bold 13px system-ui, sans-serif' : '12px system-ui, sans-serif';
    ctx.fillText(r.label, 8, r.y + r.hh / 2 - (r.kind === 'p' ? 6 : 0));
    if (r.kind === 'p') {
      ctx.font = '11px system-ui, sans-serif'; ctx.fillStyle = '#666';
      ctx.fillText((100 * r.busy).toFixed(0) + '% busy', 8, r.y + r.hh / 2 + 8);
    }
  });
  // Time axis and grid.
  const step = niceStep(v1 - v0, w - LABEL_W);
  ctx.fillStyle = '#333'; ctx.font = '11px system-ui, sans-serif'; ctx.textBaseline = 'alphabetic';
  for (let t = Math.ceil((v0 - D.t0) / step) * step + D.t0; t <= v1; t += step) {
    const x = X(t);
    ctx.strokeStyle = '#e2e2e2'; ctx.beginPath(); ctx.moveTo(x + .5, AXIS_H - 6); ctx.lineTo(x + .5, h - PAD_B); ctx.stroke();
    ctx.strokeStyle = '#999'; ctx.beginPath(); ctx.moveTo(x + .5, AXIS_H - 6); ctx.lineTo(x + .5, AXIS_H); ctx.stroke();
    const label = fmtTick(t - D.t0, step);
    if (x + 3 + ctx.measureText(label).width < w - 2) ctx.fillText(label, x + 3, AXIS_H - 10);
  }
  ctx.strokeStyle = '#bbb'; ctx.beginPath(); ctx.moveTo(LABEL_W, AXIS_H + .5); ctx.lineTo(w, AXIS_H + .5); ctx.stroke();
  ctx.beginPath(); ctx.moveTo(LABEL_W - .5, AXIS_H); ctx.lineTo(LABEL_W - .5, h - PAD_B); ctx.stroke();
  ctx.save(); ctx.beginPath(); ctx.rect(LABEL_W, 0, w - LABEL_W, h); ctx.clip();
  // Stop-the-world bands across all rows.
  for (const [s, d, k] of D.stw) {
    if (s + d < v0 || s > v1) continue;
    const x0 = X(s), x1 = Math.max(X(s + d), x0 + 2);
    ctx.fillStyle = k === 0 ? 'rgba(214,39,40,.18)' : 'rgba(90,90,90,.13)';
    ctx.fillRect(x0, AXIS_H, x1 - x0, h - AXIS_H - PAD_B);
  }
  // Slices.
  ctx.textBaseline = 'middle'; ctx.font = '11px system-ui, sans-serif';
  rows.forEach((r, i) => {
    const ss = D.slices[i], y = r.y + (r.hh - r.h) / 2;
    let lastX = -1;
    for (let j = lowerBound(ss, v0); j < ss.length; j++) {
      const [s, d, g] = ss[j];
      if (s > v1) break;
      const x0 = X(s), x1 = X(s + d);
      if (x1 < lastX + 0.5 && x1 - x0 < 0.5) continue;  // sub-pixel, already covered
      const wd = Math.max(1, x1 - x0);
      ctx.fillStyle = color(g); ctx.fillRect(x0, y, wd, r.h);
      if (wd > 4) { ctx.fillStyle = 'rgba(255,255,255,.55)'; ctx.fillRect(x0, y, 1, r.h); }
      lastX = x0 + wd;
      if (wd > 40) {
        const label = g < 0 ? (g === -1 ? 'stop the world' : 'world stopped') : (gname.get(g) || 'G' + g);
        ctx.fillStyle = g < 0 ? '#fff' : 'rgba(0,0,0,.8)';
        const tw = ctx.measureText(label).width;
        if (tw + 8 < wd) ctx.fillText(label, Math.max(x0, LABEL_W) + 4, y + r.h / 2);
      }
    }
  });
  // Instants on top.
  rows.forEach((r, i) => {
    const is = D.instants[i], rb = r.y + r.hh;
    let shown = 0;
    for (const [t] of is) if (t >= v0 && t <= v1) shown++;
    const sparse = shown < (w - LABEL_W) / 12;  // guide lines only where they do not hide the slices
    for (const [t, code] of is) {
      if (t < v0 || t > v1) continue;
      const x = X(t), y = r.y + 2;
      if (code === 0) {
        ctx.fillStyle = '#d62728'; ctx.beginPath(); ctx.moveTo(x - 5, y); ctx.lineTo(x + 5, y); ctx.lineTo(x, y + 9); ctx.closePath(); ctx.fill();
        if (sparse) { ctx.strokeStyle = 'rgba(214,39,40,.8)'; ctx.beginPath(); ctx.moveTo(x + .5, y + 9); ctx.lineTo(x + .5, rb - 3); ctx.stroke(); }
      } else if (code === 1) {
        ctx.strokeStyle = '#1f5fbf'; ctx.lineWidth = 2.2; ctx.fillStyle = '#fff';
        ctx.beginPath(); ctx.arc(x, rb - 8, 4, 0, 7); ctx.fill(); ctx.stroke(); ctx.lineWidth = 1;
      } else if (code === 2) {
        ctx.fillStyle = '#7b3fb0'; ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 5, y + 5); ctx.lineTo(x, y + 10); ctx.lineTo(x - 5, y + 5); ctx.closePath(); ctx.fill();
      } else if (sparse) {
        ctx.strokeStyle = '#555'; ctx.beginPath(); ctx.moveTo(x + .5, rb - 10); ctx.lineTo(x + .5, rb - 2); ctx.stroke();
      }
    }
  });
  ctx.restore();
}

function hit(mx, my) {
  const i = L.rows.findIndex(r => my >= r.y && my < r.y + r.hh);
  if (i < 0 || mx < LABEL_W) return null;
  const r = L.rows[i], t = T(mx), px = (v1 - v0) / (L.w - LABEL_W - 10);
  let best = null, bd = 6 * px;
  for (const ins of D.instants[i]) {
    const d = Math.abs(ins[0] - t);
    if (d < bd) { bd = d; best = {kind: 'i', v: ins, row: r}; }
  }
  if (best) return best;
  const ss = D.slices[i];
  for (let j = lowerBound(ss, t - 2 * px); j < ss.length && ss[j][0] <= t + 2 * px; j++) {
    const s = ss[j];
    if (t >= s[0] - 2 * px && t <= s[0] + s[1] + 2 * px) return {kind: 's', v: s, row: r};
  }
  return null;
}
function describe(h) {
  const inames = ['async preemption', 'cooperative preemption', 'P retaken from a thread blocked in C', 'blocking call begins (P handed off)', 'blocking call ends'];
  if (h.kind === 'i') {
    const [t, code, g] = h.v;
    return `${inames[code]}\n${gname.get(g) || 'G' + g} (id ${g})\non ${h.row.label} at ${fmt(t - D.t0)}`;
  }
  const [s, d, g, code] = h.v;
  if (g < 0) return `${g === -1 ? 'stopping the world' : 'world stopped'}\nfrom ${fmt(s - D.t0)} for ${fmt(d)}`;
  let why = code >= 100 ? 'preempted (cooperative)' : D.why[code];
  if (why === 'preempted') why = 'preempted (async signal)';
  const what = h.row.kind === 'm' ? 'in a blocking C call' : 'ran on ' + h.row.label;
  return `${gname.get(g) || 'G' + g}  (goroutine ${g})\n${what}\nfrom ${fmt(s - D.t0)} for ${fmt(d)}` + (h.row.kind === 'm' ? '' : `\nstopped: ${why}`);
}

let drag = null;
canvas.addEventListener('mousemove', e => {
  const b = canvas.getBoundingClientRect(), mx = e.clientX - b.left, my = e.clientY - b.top;
  if (drag) {
    const dt = (drag.x - mx) / (L.w - LABEL_W - 10) * (drag.v1 - drag.v0);
    v0 = drag.v0 + dt; v1 = drag.v1 + dt; draw(); return;
  }
  const h = hit(mx, my);
  if (!h) { tip.style.display = 'none'; return; }
  tip.textContent = describe(h); tip.style.display = 'block';
  const tx = Math.min(mx + 14, L.w - tip.offsetWidth - 4);
  tip.style.left = tx + 'px'; tip.style.top = (my + 16) + 'px';
});
canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
canvas.addEventListener('mousedown', e => { const b = canvas.getBoundingClientRect(); drag = {x: e.clientX - b.left, v0, v1}; });
window.addEventListener('mouseup', () => { drag = null; });
canvas.addEventListener('dblclick', () => { v0 = D.t0; v1 = D.t1 > D.t0 ? D.t1 : D.t0 + 1; draw(); });
canvas.addEventListener('wheel', e => {
  e.preventDefault();
  const b = canvas.getBoundingClientRect(), t = T(e.clientX - b.left);
  const k = Math.exp(e.deltaY * 0.0015);
  v0 = t - (t - v0) * k; v1 = t + (v1 - t) * k;
  if (v1 - v0 < 0.05) { const m = (v0 + v1) / 2; v0 = m - 0.025; v1 = m + 0.025; }
  draw();
}, {passive: false});
window.addEventListener('resize', () => { L = layout(); draw(); });

// Summary and legend.
const c = D.counts, nP = D.rows.filter(r => r.kind === 'p').length;
document.getElementById('summary').textContent =
  `${fmt(D.t1 - D.t0)} traced \u00b7 ${nP} P${nP === 1 ? '' : 's'} \u00b7 ${D.goroutines.length} goroutines \u00b7 ` +
  `${D.slices.reduce((a, s, i) => a + (D.rows[i].kind === 'p' ? s.length : 0), 0)} runs \u00b7 ` +
  `${c['preempt async']} async / ${c['preempt coop']} cooperative preemptions \u00b7 ${c['retake']} retakes \u00b7 ${c['stop the world']} stop-the-world`;
const lg = document.getElementById('legend'), MAXL = 40;
D.goroutines.slice(0, MAXL).forEach(([g, n, t, k]) => {
  const d = document.createElement('div'); d.className = 'lg';
  d.innerHTML = `<span class="sw" style="background:${color(g)}"></span><span></span>`;
  d.lastChild.textContent = `${n}${n === 'G' + g ? '' : ' (G' + g + ')'} \u2014 ${fmt(t)}, ${k} run${k === 1 ? '' : 's'}`;
  lg.appendChild(d);
});
if (D.goroutines.length > MAXL) {
  const d = document.createElement('div'); d.className = 'lg sub';
  d.textContent = `+ ${D.goroutines.length - MAXL} more goroutines`; lg.appendChild(d);
}
L = layout(); draw();
</script>
</body></html>
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("out", nargs="?", help="output HTML (default: trace path with .html)")
    ap.add_argument("--title", help="page title (default: the trace file name)")
    args = ap.parse_args()
    out = args.out or os.path.splitext(args.trace)[0] + ".html"
    try:
        events, warning = load_events(args.trace)
    except (OSError, ValueError) as e:
        print(f"trace2html: {e}", file=sys.stderr)
        return 1
    if warning:
        print(f"trace2html: warning: {warning}", file=sys.stderr)
    data = build(events)
    title = args.title or f"gort trace: {os.path.basename(args.trace)}"
    # "</" must not appear inside the inline script.
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    page = (
        PAGE.replace("__TITLE__", html.escape(title))
        .replace("__WARNING__", f'<div class="warn">{html.escape(warning)}</div>' if warning else "")
        .replace("__DATA__", blob)
    )
    with open(out, "w", encoding="utf-8") as f:
        f.write(page)
    print(f"trace2html: wrote {out} ({len(data['rows'])} rows, {len(data['goroutines'])} goroutines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
