// Actions: every change goes through the API; a refusal shows the API's error_msg and
// error_code in the notice bar (and next to the form it came from).
"use strict";

const actions = (() => {
  function notice(text, kind) {
    const box = document.getElementById("notice");
    box.className = kind || "error";
    document.getElementById("notice-text").textContent = text;
    box.hidden = false;
  }

  // run sends one request; on success it says so and refreshes, on refusal it shows why.
  async function run(label, method, path, body, resultEl) {
    const r = await api.request(method, path, body);
    const msg = r.ok ? `${label}: done` : `${label} refused: ${r.error}`;
    notice(msg, r.ok ? "ok" : "error");
    if (resultEl) {
      resultEl.className = "result " + (r.ok ? "ok" : "error");
      resultEl.textContent = msg;
    }
    if (r.status === 401) app.askToken(r.error);
    app.refreshSoon();
    return r;
  }

  const enc = encodeURIComponent;

  function taskAction(kind, task) {
    switch (kind) {
      case "pause":
        return run(`Pause ${task}`, "POST", `/api/v1/tasks/${enc(task)}/pause`);
      case "resume":
        return run(`Resume ${task}`, "POST", `/api/v1/tasks/${enc(task)}/resume`);
      case "stop":
        if (!confirm(`Stop task ${task}? Its subtasks are removed; the target's checkpoints stay.`)) return null;
        return run(`Stop ${task}`, "DELETE", `/api/v1/tasks/${enc(task)}`);
    }
    return null;
  }

  function unlock(id, action) {
    if (!confirm(`Unlock ${id} (${action})?`)) return null;
    return run(`Unlock ${id}`, "POST", `/api/v1/shard-ddl-locks/${enc(id)}/unlock`, { action });
  }

  function parseJSON(text, what, resultEl) {
    try {
      return JSON.parse(text);
    } catch (e) {
      const msg = `${what}: the JSON does not parse: ${e.message}`;
      notice(msg, "error");
      resultEl.className = "result error";
      resultEl.textContent = msg;
      return undefined;
    }
  }

  async function createSource() {
    const out = document.getElementById("create-source-result");
    const body = parseJSON(document.getElementById("source-json").value, "Create source", out);
    if (body === undefined) return;
    await run("Create source", "POST", "/api/v1/sources", body, out);
  }

  async function convertYAML() {
    const out = document.getElementById("create-task-result");
    const file = document.getElementById("task-yaml").value;
    const r = await run("Convert task.yaml", "POST", "/api/v1/tasks/converters", { task_config_file: file }, out);
    if (!r.ok) return;
    document.getElementById("task-json").value = JSON.stringify(r.data.task, null, 2);
    const warnings = r.data.warnings || [];
    out.textContent = "Converted: check the JSON and give the target password." +
      (warnings.length ? " Warnings: " + warnings.join("; ") : "");
  }

  async function createTask() {
    const out = document.getElementById("create-task-result");
    const task = parseJSON(document.getElementById("task-json").value, "Create task", out);
    if (task === undefined) return;
    const password = document.getElementById("task-password").value;
    if (password && task && typeof task === "object") {
      task.target_config = Object.assign({}, task.target_config, { password });
    }
    const body = { task, remove_meta: document.getElementById("task-remove-meta").checked };
    const r = await run(`Create task ${task && task.name ? task.name : ""}`.trim(), "POST", "/api/v1/tasks", body, out);
    if (r.ok) location.hash = "#/task/" + enc(task.name);
  }

  function transfer() {
    const src = document.getElementById("transfer-source").value;
    const worker = document.getElementById("transfer-worker").value;
    return run(`Transfer ${src} to ${worker}`, "POST", `/api/v1/sources/${enc(src)}/transfer`, { worker_name: worker });
  }

  function wire() {
    document.body.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-action]");
      if (!b) return;
      if (b.dataset.task) taskAction(b.dataset.action, b.dataset.task);
      else if (b.dataset.action === "unlock") unlock(b.dataset.lock, b.dataset.how || "exec");
    });
    const onSubmit = (id, fn) => document.getElementById(id).addEventListener("submit", (ev) => {
      ev.preventDefault();
      fn();
    });
    onSubmit("create-source", createSource);
    onSubmit("create-task", createTask);
    onSubmit("transfer-form", transfer);
    onSubmit("unlock-form", () => unlock(document.getElementById("unlock-id").value.trim(), document.getElementById("unlock-action").value));
    document.getElementById("convert-yaml").addEventListener("click", convertYAML);
    for (const r of document.querySelectorAll('input[name="task-format"]')) {
      r.addEventListener("change", () => {
        document.getElementById("task-yaml-box").hidden = r.value !== "yaml" || !r.checked;
      });
    }
    document.getElementById("notice-close").addEventListener("click", () => {
      document.getElementById("notice").hidden = true;
    });
  }

  return { wire, notice };
})();
