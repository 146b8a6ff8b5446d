// The dashboard: polls the API every few seconds (one request per list, tasks with their
// status in one request) and renders the page the location's hash names.
"use strict";

const POLL_MS = 3000;

const app = (() => {
  const state = {
    masters: [], workers: [], sources: [], tasks: [], locks: [],
    served: "", error: "", updated: 0,
  };
  const history = new History();
  let timer = null;
  let polling = false;

  const $ = (id) => document.getElementById(id);

  function route() {
    const h = location.hash || "#/cluster";
    const m = h.match(/^#\/task\/(.+)$/);
    if (m) {
      try {
        return { page: "task", task: decodeURIComponent(m[1]) };
      } catch (e) {
        return { page: "tasks" };
      }
    }
    const page = h.replace(/^#\//, "");
    return { page: ["cluster", "sources", "tasks", "create"].includes(page) ? page : "cluster" };
  }

  async function poll() {
    if (polling) return;
    polling = true;
    const r = route();
    const withStatus = r.page === "sources";
    const [masters, workers, sources, tasks, locks] = await Promise.all([
      api.get("/api/v1/cluster/masters"),
      api.get("/api/v1/cluster/workers"),
      api.get("/api/v1/sources" + (withStatus ? "?with_status=true" : "")),
      api.get("/api/v1/tasks?with_status=true"),
      api.get("/api/v1/shard-ddl-locks"),
    ]);
    polling = false;
    const all = [masters, workers, sources, tasks, locks];
    const failed = all.find((x) => !x.ok);
    state.error = failed ? failed.error : "";
    if (failed && failed.status === 401) askToken(failed.error);
    const now = Date.now();
    if (masters.ok) state.masters = masters.data.data || [];
    if (workers.ok) state.workers = workers.data.data || [];
    if (sources.ok) state.sources = sources.data.data || [];
    if (tasks.ok) {
      state.tasks = tasks.data.data || [];
      history.record(state.tasks, now);
    }
    if (locks.ok) state.locks = locks.data.data || [];
    state.served = (all.find((x) => x.master) || {}).master || state.served;
    if (!failed) state.updated = now;
    render();
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      await poll();
      schedule(POLL_MS);
    }, ms);
  }

  function refreshSoon() {
    schedule(300);
  }

  function render() {
    const r = route();
    for (const sec of document.querySelectorAll("main > .page")) sec.hidden = sec.id !== "page-" + r.page;
    for (const a of document.querySelectorAll("nav a")) {
      a.classList.toggle("active", a.dataset.page === r.page || (r.page === "task" && a.dataset.page === "tasks"));
    }
    const conn = $("conn");
    const age = state.updated ? Math.round((Date.now() - state.updated) / 1000) : null;
    conn.className = "conn " + (state.error ? "bad" : "good");
    conn.textContent = (state.error ? "⚠ " + state.error : "● live") +
      (state.served ? ` · served by ${state.served}` : "") + (age !== null && state.error ? ` · last update ${age} s ago` : "");
    switch (r.page) {
      case "cluster": renderCluster(); break;
      case "sources": renderSources(); break;
      case "tasks": renderTasks(); break;
      case "task": renderTask(r.task); break;
    }
    fillTransferForm();
  }

  function renderCluster() {
    const count = {};
    for (const t of state.tasks) for (const st of t.status_list || []) count[st.stage] = (count[st.stage] || 0) + 1;
    const cards = [
      ["Masters", `${state.masters.filter((m) => m.alive).length}/${state.masters.length} alive`],
      ["Workers", `${state.workers.filter((w) => w.bound_stage !== "offline").length}/${state.workers.length} online`],
      ["Sources", String(state.sources.length)],
      ["Tasks", `${state.tasks.length}` + (Object.keys(count).length ? " · " + Object.entries(count).map(([k, v]) => `${v} ${k}`).join(", ") : "")],
      ["Shard-DDL locks", String(state.locks.length)],
    ];
    setHTML($("summary"), cards.map(([k, v]) => `<div class="card"><div class="muted">${esc(k)}</div><div class="big">${esc(v)}</div></div>`).join(""));
    syncRows($("masters-body"), state.masters, (m) => m.name, (m) =>
      `<td>${esc(m.name)}</td><td>${esc(m.addr)}</td><td>${m.leader ? '<span class="leader">leader</span>' : "follower"}</td>` +
      `<td>${m.alive ? '<span class="ok">alive</span>' : '<span class="error">down</span>'}</td>`, "no masters");
    syncRows($("workers-body"), state.workers, (w) => w.name, (w) =>
      `<td>${esc(w.name)}</td><td>${esc(w.addr)}</td><td><span class="wstage wstage-${esc(w.bound_stage)}">${esc(w.bound_stage)}</span></td>` +
      `<td>${esc(w.bound_source_name)}</td>`, "no workers");
  }

  function renderSources() {
    syncRows($("sources-body"), state.sources, (s) => s.source_name, (s) => {
      const st = (s.status_list || [])[0] || {};
      const relay = st.relay_status;
      const tasks = (s.task_name_list || state.tasks.filter((t) => (t.source_config.source_conf || []).some((c) => c.source_name === s.source_name)).map((t) => t.name));
      const worker = st.worker_name || (state.workers.find((w) => w.bound_source_name === s.source_name) || {}).name || "";
      const upstream = relay ? `${esc(relay.master_binlog)}<div class="small muted">${esc(relay.master_binlog_gtid)}</div>` : upstreamFromTasks(s.source_name);
      return `<td>${esc(s.source_name)}</td><td>${esc(s.user)}@${esc(s.host)}:${esc(s.port)}${s.enable_gtid ? ' <span class="muted">GTID</span>' : ""}</td>` +
        `<td>${worker ? esc(worker) : '<span class="error">unbound</span>'}</td>` +
        `<td>${relay ? stageBadge(relay.stage) + (relay.relay_catch_up_master ? ' <span class="ok">caught up</span>' : "") : '<span class="muted">off</span>'}</td>` +
        `<td>${upstream}</td><td>${relay ? `${esc(relay.relay_dir)}<div class="small muted">${esc(relay.relay_binlog_gtid)}</div>` : ""}</td>` +
        `<td>${tasks.map((t) => `<a href="#/task/${encodeURIComponent(t)}">${esc(t)}</a>`).join(" ")}</td>` +
        `<td>${st.error_msg ? `<div class="error clip" title="${esc(st.error_msg)}">${esc(st.error_msg)}</div>` : ""}</td>`;
    }, "no sources");
  }

  // upstreamFromTasks shows the upstream position a sync unit of the source reports, for
  // sources without relay.
  function upstreamFromTasks(source) {
    for (const t of state.tasks) {
      for (const st of t.status_list || []) {
        if (st.source_name === source && st.sync_status) {
          return `${esc(st.sync_status.master_binlog)}<div class="small muted">${esc(st.sync_status.master_binlog_gtid)}</div>`;
        }
      }
    }
    return "";
  }

  function taskRows() {
    const f = $("task-filter").value.trim().toLowerCase();
    const rows = [];
    for (const t of state.tasks) {
      const list = t.status_list && t.status_list.length ? t.status_list : [{ name: t.name, source_name: "", stage: "", unit: "" }];
      list.forEach((st, i) => {
        const hay = `${t.name} ${st.source_name} ${st.stage} ${st.unit}`.toLowerCase();
        if (!f || hay.includes(f)) rows.push({ t, st, first: i === 0 });
      });
    }
    return rows;
  }

  function renderTasks() {
    const rows = taskRows();
    $("task-count").textContent = `(${state.tasks.length})`;
    syncRows($("tasks-body"), rows, (r) => subKey(r.st), ({ t, st, first }) => {
      const lag = st.sync_status ? fmtDuration(st.sync_status.seconds_behind_master) : "";
      return `<td>${first ? `<a class="task-link" href="#/task/${encodeURIComponent(t.name)}">${esc(t.name)}</a>` : ""}</td>` +
        `<td>${first ? esc(t.task_mode) : ""}</td><td>${esc(st.source_name)}</td><td>${esc(st.worker_name)}</td>` +
        `<td data-task="${esc(t.name)}" data-stage="${esc(st.stage)}">${stageBadge(st.stage)}</td><td>${esc(st.unit)}</td>` +
        `<td class="progress-cell">${progressCell(st, history)}</td><td>${esc(lag)}</td><td>${errorCell(st)}</td>` +
        `<td class="actions">${first ? taskButtons(t.name, true) : ""}</td>`;
    }, state.tasks.length ? "no task matches the filter" : "no tasks");
    renderLocks($("locks-body"), state.locks);
  }

  function renderLocks(tbody, locks) {
    syncRows(tbody, locks, (l) => l.id, (l) =>
      `<td><code>${esc(l.id)}</code></td><td>${esc(l.task_name)}</td><td>${esc(l.mode)}</td><td>${esc(l.owner)}</td>` +
      `<td>${(l.ddls || []).map((d) => `<code class="ddl">${esc(d)}</code>`).join("<br>")}</td>` +
      `<td>${esc((l.synced || []).join(", "))}</td><td class="error">${esc((l.unsynced || []).join(", "))}</td>` +
      `<td class="actions"><button type="button" data-action="unlock" data-how="exec" data-lock="${esc(l.id)}">Unlock (exec)</button>` +
      `<button type="button" data-action="unlock" data-how="skip" data-lock="${esc(l.id)}">Skip</button></td>`, "no shard-DDL locks");
  }

  function renderTask(name) {
    $("task-title").textContent = name;
    const t = state.tasks.find((x) => x.name === name);
    if (!t) {
      setHTML($("task-subtasks"), state.updated ? `<p class="error">Task ${esc(name)} does not exist (any more).</p>` : "");
      setHTML($("task-actions"), "");
      setHTML($("task-chart"), "");
      return;
    }
    setHTML($("task-actions"), taskButtons(t.name, true));
    const list = t.status_list || [];
    setHTML($("task-chart"), list.map((st) => {
      const samples = history.of(st);
      // The time axis grows with what this page has seen, from 2 to 15 minutes.
      const span = Math.min(HISTORY_MS, Math.max(2 * 60000, samples.length ? Date.now() - samples[0].t : 0));
      return `<figure><figcaption>${esc(st.source_name)}: replication lag and applied binlog events/s</figcaption>` +
        chart.render([
          { label: "lag", unit: "s", cls: "s-lag", points: samples.map((s) => ({ t: s.t, v: s.lag })) },
          { label: "applied events", unit: "/s", cls: "s-rate", points: history.eventRates(st) },
        ], Date.now(), span, `${st.source_name} lag and events per second`) + "</figure>";
    }).join(""));
    setHTML($("task-subtasks"), list.map((st) => subtaskCard(st)).join(""));
    const locks = state.locks.filter((l) => l.task_name === name);
    let lockTable = $("task-locks").querySelector("tbody");
    if (!lockTable) {
      $("task-locks").innerHTML = "<table><thead><tr><th>Lock</th><th>Task</th><th>Mode</th><th>Owner</th><th>DDLs</th><th>Synced</th><th>Unsynced</th><th>Actions</th></tr></thead><tbody></tbody></table>";
      lockTable = $("task-locks").querySelector("tbody");
    }
    renderLocks(lockTable, locks);
    const cfg = JSON.stringify(Object.assign({}, t, { status_list: undefined }), null, 2);
    if ($("task-config").textContent !== cfg) $("task-config").textContent = cfg;
  }

  function subtaskCard(st) {
    const d = st.dump_status, l = st.load_status, s = st.sync_status;
    let body = `<dl class="kv"><dt>stage</dt><dd data-stage="${esc(st.stage)}">${stageBadge(st.stage)}</dd><dt>unit</dt><dd>${esc(st.unit)}</dd>` +
      `<dt>worker</dt><dd>${esc(st.worker_name)}</dd>`;
    if (s) {
      body += `<dt>upstream</dt><dd>${esc(s.master_binlog)} <span class="muted">${esc(s.master_binlog_gtid)}</span></dd>` +
        `<dt>applied up to</dt><dd>${esc(s.syncer_binlog)} <span class="muted">${esc(s.syncer_binlog_gtid)}</span></dd>` +
        `<dt>lag</dt><dd>${esc(fmtDuration(s.seconds_behind_master))}${s.synced ? ' <span class="ok">synced</span>' : ""}</dd>` +
        `<dt>events</dt><dd>${fmtNum(s.total_events)} (${fmtNum(s.recent_tps)}/s recently)</dd>`;
      if ((s.blocking_ddls || []).length) body += `<dt>blocking DDLs</dt><dd>${s.blocking_ddls.map((x) => `<code>${esc(x)}</code>`).join("<br>")}</dd>`;
    }
    if (st.unresolved_ddl_lock_id) body += `<dt>waits on lock</dt><dd><code>${esc(st.unresolved_ddl_lock_id)}</code></dd>`;
    body += "</dl>";
    if (d) {
      const total = d.estimate_total_rows || 0;
      body += `<h4>Dump</h4>` + bar(total > 0 ? d.finished_rows / total : parseFloat(d.progress) / 100,
        `${fmtNum(d.finished_rows)} of ~${fmtNum(total)} rows · ${fmtBytes(d.finished_bytes)} · ${d.completed_tables}/${d.total_tables} tables · ${fmtBytes(d.bps)}/s`) +
        `<div class="small muted">${esc(d.progress)} ${st.unit === "Dump" ? esc(eta(total - d.finished_rows, history.rate(st, "dumpRows"))) : "done"}</div>`;
    }
    if (l) {
      body += `<h4>Load</h4>` + bar(l.total_bytes > 0 ? l.finished_bytes / l.total_bytes : 0,
        `${fmtBytes(l.finished_bytes)} of ${fmtBytes(l.total_bytes)}`) +
        `<div class="small muted">${esc(l.progress)} ${st.unit === "Load" ? esc(eta(l.total_bytes - l.finished_bytes, history.rate(st, "loadBytes"))) : "done"}</div>`;
    }
    if (st.error_msg) body += `<h4>Error</h4><pre class="error">${esc(st.error_msg)}</pre>`;
    if ((st.warnings || []).length) body += `<h4>Precheck warnings</h4><ul>${st.warnings.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>`;
    return `<article class="subtask panel" data-source="${esc(st.source_name)}"><h3>${esc(st.source_name)}</h3>${body}</article>`;
  }

  function fillTransferForm() {
    const srcSel = $("transfer-source"), wSel = $("transfer-worker");
    const srcOpts = state.sources.map((s) => `<option>${esc(s.source_name)}</option>`).join("");
    const free = state.workers.filter((w) => w.bound_stage === "free");
    const wOpts = free.map((w) => `<option>${esc(w.name)}</option>`).join("") || '<option value="">(no free worker)</option>';
    if (srcSel.dataset.sig !== srcOpts) {
      const keep = srcSel.value;
      setHTML(srcSel, srcOpts);
      srcSel.value = keep || srcSel.value;
    }
    if (wSel.dataset.sig !== wOpts) {
      const keep = wSel.value;
      setHTML(wSel, wOpts);
      if (keep) wSel.value = keep;
    }
  }

  function askToken(why) {
    $("token-panel").hidden = false;
    $("token-why").textContent = why || "";
  }

  function start() {
    $("interval").textContent = String(POLL_MS / 1000);
    $("token-input").value = api.token();
    $("token-toggle").addEventListener("click", () => {
      $("token-panel").hidden = !$("token-panel").hidden;
    });
    $("token-panel").addEventListener("submit", (ev) => {
      ev.preventDefault();
      api.setToken($("token-input").value.trim());
      $("token-panel").hidden = true;
      refreshSoon();
    });
    $("token-forget").addEventListener("click", () => {
      api.setToken("");
      $("token-input").value = "";
      refreshSoon();
    });
    $("task-filter").addEventListener("input", render);
    window.addEventListener("hashchange", () => {
      render();
      refreshSoon();
    });
    actions.wire();
    render();
    schedule(0);
  }

  return { start, refreshSoon, askToken };
})();

document.addEventListener("DOMContentLoaded", app.start);
