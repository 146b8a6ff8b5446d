// Rendering: each table is kept in place, row by row (a row's HTML is rebuilt as a string and
// written only when it changed), so a refresh of 100 tasks touches only what moved.
"use strict";

const HISTORY_MS = 15 * 60 * 1000;

function esc(v) {
  return String(v === undefined || v === null ? "" : v).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

// syncRows makes tbody hold one <tr> per item, in order: rows are keyed by key(item), and a
// row's content is replaced only when html(item) differs from what it shows.
function syncRows(tbody, items, key, html, empty) {
  const old = new Map();
  for (const tr of Array.from(tbody.children)) {
    if (tr.dataset.key !== undefined) old.set(tr.dataset.key, tr);
    else tr.remove();
  }
  let prev = null;
  for (const item of items) {
    const k = String(key(item));
    const content = html(item);
    let tr = old.get(k);
    if (tr) old.delete(k);
    else {
      tr = document.createElement("tr");
      tr.dataset.key = k;
    }
    if (tr.dataset.sig !== content) {
      tr.innerHTML = content;
      tr.dataset.sig = content;
    }
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
  if (items.length === 0 && empty) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td colspan="20" class="muted">${esc(empty)}</td>`;
    tbody.appendChild(tr);
  }
}

// setHTML writes el's content only when it changed.
function setHTML(el, content) {
  if (el.dataset.sig !== content) {
    el.innerHTML = content;
    el.dataset.sig = content;
  }
}

function fmtBytes(n) {
  if (!(n > 0)) return "0 B";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
}

function fmtNum(n) {
  return Math.round(n || 0).toLocaleString("en-US");
}

function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return "";
  s = Math.round(s);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function stageBadge(stage) {
  const s = stage || "Unknown";
  return `<span class="stage stage-${esc(s.toLowerCase())}">${esc(s)}</span>`;
}

// bar is a <progress> with its label: no inline style, which the page's policy forbids.
function bar(fraction, label) {
  const pct = Math.max(0, Math.min(1, fraction || 0)) * 100;
  return `<div class="bar"><progress max="100" value="${pct.toFixed(1)}"></progress><span>${esc(label)}</span></div>`;
}

function subKey(st) {
  return st.name + "\u0000" + st.source_name;
}

// History keeps, per subtask, the samples seen in the last 15 minutes: lag, events applied,
// and dump/load counters, from which the rates, ETAs and charts are computed.
class History {
  constructor() {
    this.samples = new Map();
  }
  record(tasks, now) {
    const seen = new Set();
    for (const t of tasks) {
      for (const st of t.status_list || []) {
        const k = subKey(st);
        seen.add(k);
        let list = this.samples.get(k);
        if (!list) this.samples.set(k, (list = []));
        const sync = st.sync_status, dump = st.dump_status, load = st.load_status;
        list.push({
          t: now,
          lag: sync ? sync.seconds_behind_master : null,
          events: sync ? sync.total_events : null,
          dumpRows: dump ? dump.finished_rows : null,
          loadBytes: load ? load.finished_bytes : null,
        });
        while (list.length && list[0].t < now - HISTORY_MS) list.shift();
      }
    }
    for (const k of this.samples.keys()) if (!seen.has(k)) this.samples.delete(k);
  }
  of(st) {
    return this.samples.get(subKey(st)) || [];
  }
  // rate is the per-second growth of field over the last minute of samples, or NaN.
  rate(st, field) {
    const list = this.of(st).filter((s) => s[field] !== null && s[field] !== undefined);
    if (list.length < 2) return NaN;
    const last = list[list.length - 1];
    let first = list[0];
    for (const s of list) if (s.t >= last.t - 60000) { first = s; break; }
    if (first === last) first = list[list.length - 2];
    const dt = (last.t - first.t) / 1000;
    const dv = last[field] - first[field];
    return dt > 0 && dv >= 0 ? dv / dt : NaN;
  }
  // eventRates turns the events counter into per-second points (a counter that went back,
  // after a restart, gives no point).
  eventRates(st) {
    const list = this.of(st);
    const out = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1], b = list[i];
      const ok = a.events !== null && b.events !== null && b.events >= a.events && b.t > a.t;
      out.push({ t: b.t, v: ok ? (b.events - a.events) / ((b.t - a.t) / 1000) : null });
    }
    return out;
  }
}

function eta(remaining, rate) {
  if (!(remaining > 0)) return "";
  if (!(rate > 0)) return "ETA unknown";
  return "ETA " + fmtDuration(remaining / rate);
}

// progressCell summarises a subtask's unit: dump and load as bars, sync as its position.
function progressCell(st, hist) {
  const d = st.dump_status, l = st.load_status, s = st.sync_status;
  if (st.unit === "Dump" && d) {
    const total = d.estimate_total_rows || 0;
    const frac = total > 0 ? d.finished_rows / total : parseFloat(d.progress) / 100;
    return bar(frac, `dump ${fmtNum(d.finished_rows)}/${fmtNum(total)} rows · ${fmtBytes(d.finished_bytes)}`) +
      `<div class="small muted">${esc(eta(total - d.finished_rows, hist.rate(st, "dumpRows")))}</div>`;
  }
  if (st.unit === "Load" && l) {
    const frac = l.total_bytes > 0 ? l.finished_bytes / l.total_bytes : 0;
    return bar(frac, `load ${fmtBytes(l.finished_bytes)}/${fmtBytes(l.total_bytes)}`) +
      `<div class="small muted">${esc(eta(l.total_bytes - l.finished_bytes, hist.rate(st, "loadBytes")))}</div>`;
  }
  if (s) {
    const rate = hist.rate(st, "events");
    return `<span class="${s.synced ? "ok" : ""}">${s.synced ? "synced" : "replicating"}</span>` +
      `<div class="small muted">${fmtNum(s.total_events)} events${Number.isFinite(rate) ? ` · ${rate.toFixed(1)}/s` : ""}</div>`;
  }
  return "";
}

function errorCell(st) {
  if (!st.error_msg) return "";
  return `<div class="error clip" title="${esc(st.error_msg)}">${esc(st.error_msg)}</div>`;
}

function taskButtons(name, withStop) {
  const n = esc(name);
  return `<button type="button" data-action="pause" data-task="${n}">Pause</button>` +
    `<button type="button" data-action="resume" data-task="${n}">Resume</button>` +
    (withStop ? `<button type="button" class="danger" data-action="stop" data-task="${n}">Stop</button>` : "");
}
