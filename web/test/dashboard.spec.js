#!/usr/bin/env node
// Drives the dm-master dashboard in a real browser (Debian's chromium through playwright-core)
// against a running cluster; integration/dashboard_test.go starts the cluster and runs it.
//
//   node dashboard.spec.js --url http://127.0.0.1:8261 --task NAME --screenshots DIR [--token T]
//   node dashboard.spec.js --url http://FOLLOWER --masters 3 --token T [--readonly 1] --screenshots DIR
//   node dashboard.spec.js --url http://127.0.0.1:8261 --failed NAME --expect TEXT --screenshots DIR
//
// With --task: the task appears with its stage and progress, pausing it in the page shows
// Paused (and the API agrees), resuming shows Running, refused actions show the API's error.
// With --token: the page first asks for the token (the API answers 401 without it), then
// works once it is pasted. With --failed: the task's error (containing TEXT), with the
// statement the target refused, is shown on the tasks page and the task's page. Every page is saved as a PNG under DIR. Exit status 0 on success.
"use strict";

const fs = require("fs");
const path = require("path");

function args() {
  const out = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (!a[i].startsWith("--")) throw new Error(`unexpected argument ${a[i]}`);
    out[a[i].slice(2)] = a[i + 1];
    i++;
  }
  if (!out.url) throw new Error("--url is required");
  out.screenshots = out.screenshots || path.resolve("test-artifacts/screenshots");
  out.chromium = process.env.CHROMIUM || "/usr/bin/chromium";
  return out;
}

const TIMEOUT = 30000;
let checks = 0;
function ok(what) {
  checks++;
  console.log(`ok ${checks} - ${what}`);
}

class Harness {
  constructor(opts, page) {
    this.opts = opts;
    this.page = page;
    this.base = opts.url.replace(/\/$/, "");
    this.problems = [];
  }

  async api(method, p, body) {
    const headers = { "Content-Type": "application/json" };
    if (this.opts.token) headers.Authorization = "Bearer " + this.opts.token;
    const resp = await fetch(this.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await resp.text();
    return { status: resp.status, data: text ? JSON.parse(text) : null };
  }

  async shot(name) {
    const file = path.join(this.opts.screenshots, name + ".png");
    await this.page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
  }

  async go(hash) {
    await this.page.evaluate((h) => { location.hash = h; }, hash);
  }

  async waitText(selector, text, what) {
    await this.page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout: TIMEOUT });
    ok(what);
  }

  // stages answers the stages the tasks page shows for the task's subtasks.
  stages(task) {
    return this.page.$$eval(`#tasks-body td[data-stage]`, (tds, t) =>
      tds.filter((td) => td.dataset.task === t).map((td) => td.dataset.stage), task);
  }

  async waitStages(task, stage) {
    await this.page.waitForFunction(([t, s]) => {
      const tds = Array.from(document.querySelectorAll("#tasks-body td[data-stage]")).filter((td) => td.dataset.task === t);
      return tds.length > 0 && tds.every((td) => td.dataset.stage === s);
    }, [task, stage], { timeout: TIMEOUT });
    ok(`the page shows task ${task} ${stage}`);
  }

  async apiStages(task, stage) {
    const deadline = Date.now() + TIMEOUT;
    let last;
    while (Date.now() < deadline) {
      last = await this.api("GET", `/api/v1/tasks/${encodeURIComponent(task)}/status`);
      if (last.status === 200 && last.data.data.length && last.data.data.every((s) => s.stage === stage)) {
        ok(`the API agrees: task ${task} is ${stage}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the API does not show ${task} ${stage}: ${JSON.stringify(last)}`);
  }

  async notice(contains, what) {
    const box = this.page.locator("#notice.error");
    await box.waitFor({ timeout: TIMEOUT });
    await this.page.waitForFunction((c) => (document.getElementById("notice-text").textContent || "").includes(c), contains, { timeout: TIMEOUT });
    ok(`${what}: the page shows "${(await box.textContent()).trim().replace(/\s*×$/, "")}"`);
  }
}

async function tokenFlow(h) {
  const { page } = h;
  await page.locator("#token-panel").waitFor({ state: "visible", timeout: TIMEOUT });
  await h.waitText("#conn", "requires an API token", "without a token the page says the API wants one");
  await h.shot("00-token");
  await page.fill("#token-input", h.opts.token);
  await page.click('#token-panel button[type="submit"]');
  await h.waitText("#conn", "live", "with the pasted token the page is live");
  const stored = await page.evaluate(() => sessionStorage.getItem("dm.apiToken"));
  if (stored !== h.opts.token) throw new Error("the token is not kept in sessionStorage");
  ok("the token is kept in sessionStorage");
}

async function clusterPage(h) {
  await h.go("#/cluster");
  await h.waitText("#masters-body tr", "leader", "the cluster page shows the leader");
  if (h.opts.masters) {
    const want = Number(h.opts.masters);
    await h.page.waitForFunction((n) => document.querySelectorAll("#masters-body tr[data-key]").length === n &&
      Array.from(document.querySelectorAll("#masters-body tr")).every((tr) => tr.textContent.includes("alive")), want, { timeout: TIMEOUT });
    ok(`the cluster page shows ${want} masters, alive`);
  }
  await h.page.locator("#workers-body tr[data-key]").first().waitFor({ timeout: TIMEOUT });
  ok("the cluster page lists the workers");
  await h.shot("01-cluster");
}

async function sourcesPage(h) {
  await h.go("#/sources");
  await h.page.locator("#sources-body tr[data-key]").first().waitFor({ timeout: TIMEOUT });
  await h.page.waitForFunction(() => Array.from(document.querySelectorAll("#sources-body tr[data-key]")).every((tr) => /\(.+, \d+\)/.test(tr.children[4].textContent)), null, { timeout: TIMEOUT });
  ok("the sources page shows each source with its worker and upstream position");
  await h.shot("02-sources");
}

async function tasksPage(h, task) {
  const { page } = h;
  await h.go("#/tasks");
  await page.locator(`#tasks-body td[data-task="${task}"]`).first().waitFor({ timeout: TIMEOUT });
  ok(`task ${task} appears on the tasks page`);
  await h.waitStages(task, "Running");
  await page.waitForFunction((t) => {
    const td = Array.from(document.querySelectorAll("#tasks-body td[data-stage]")).find((x) => x.dataset.task === t);
    const row = td && td.parentElement;
    return row && /Dump|Load|Sync/.test(row.children[5].textContent) && row.querySelector(".progress-cell").textContent.trim() !== "";
  }, task, { timeout: TIMEOUT });
  ok(`task ${task} shows its unit and progress`);
  await h.shot("03-tasks");

  await page.click(`button[data-action="pause"][data-task="${task}"]`);
  await h.waitStages(task, "Paused");
  await h.apiStages(task, "Paused");
  await h.shot("04-task-paused");
  await page.click(`button[data-action="resume"][data-task="${task}"]`);
  await h.waitStages(task, "Running");
  await h.apiStages(task, "Running");
}

async function taskPage(h, task) {
  const { page } = h;
  await page.click(`a.task-link:text-is("${task}")`);
  await page.locator("#task-subtasks article.subtask").first().waitFor({ timeout: TIMEOUT });
  ok(`the task page shows the subtasks of ${task}`);
  // Two polls give the chart its first points.
  await page.waitForFunction(() => Array.from(document.querySelectorAll("#task-chart path.s-lag")).some((p) => /M.*L/.test(p.getAttribute("d"))), null, { timeout: TIMEOUT });
  ok("the task page charts lag and applied events over time");
  await page.waitForTimeout(Number(h.opts.chartwait || 0));
  await h.shot("05-task");
}

// A DM task file, converted by the API into the task JSON the page then creates.
const DM_TASK_YAML = `name: "from-yaml"
task-mode: all
target-database:
  host: "127.0.0.1"
  port: 3306
  user: "dmtarget"
  password: ""
block-allow-list:
  ba:
    do-dbs: ["dash"]
mysql-instances:
  - source-id: "mysql-01"
    block-allow-list: "ba"
`;

async function convertYAML(h) {
  const { page } = h;
  await h.go("#/create");
  await page.check('input[name="task-format"][value="yaml"]');
  await page.fill("#task-yaml", DM_TASK_YAML);
  await page.click("#convert-yaml");
  await page.waitForFunction(() => /"name": "from-yaml"/.test(document.getElementById("task-json").value), null, { timeout: TIMEOUT });
  ok("a DM task.yaml is converted into the task JSON through the API");

  const bad = DM_TASK_YAML.replace("task-mode: all", "task-mode: all\nno-such-key: 1");
  const direct = await h.api("POST", "/api/v1/tasks/converters", { task_config_file: bad });
  if (direct.status < 400 || !direct.data.error_msg) throw new Error(`the converter accepted a bad file: ${JSON.stringify(direct)}`);
  await page.fill("#task-yaml", bad);
  await page.click("#convert-yaml");
  await h.notice(direct.data.error_msg, "a task.yaml with an unknown key is refused");
}

async function refusedActions(h) {
  const { page } = h;
  await convertYAML(h);
  // A task the API refuses: the page must show the API's own words.
  const bad = { name: "bad-task", task_mode: "all" };
  const direct = await h.api("POST", "/api/v1/tasks", { task: bad, remove_meta: false });
  if (direct.status < 400 || !direct.data.error_msg) throw new Error(`the API accepted a bad task: ${JSON.stringify(direct)}`);
  await h.go("#/create");
  await page.fill("#task-json", JSON.stringify(bad));
  await page.click('#create-task button[type="submit"]');
  await h.notice(direct.data.error_msg, "creating a bad task is refused");
  await h.waitText("#create-task-result.error", `error_code ${direct.data.error_code}`, "the form shows the error code too");
  await h.shot("06-create-refused");

  const lock = await h.api("POST", "/api/v1/shard-ddl-locks/no-such-lock/unlock", { action: "exec" });
  if (lock.status < 400) throw new Error(`the API unlocked a lock that does not exist: ${JSON.stringify(lock)}`);
  await h.go("#/tasks");
  await page.fill("#unlock-id", "no-such-lock");
  await page.click('#unlock-form button[type="submit"]');
  await h.notice(lock.data.error_msg, "unlocking a lock that does not exist is refused");
}

// failedTask: a subtask the target refused shows its error, with the binlog event and the
// statement, on the tasks page and on the task's page.
async function failedTask(h, task, expect) {
  const { page } = h;
  await h.go("#/tasks");
  await h.waitStages(task, "Paused");
  await page.waitForFunction(([t, e]) => {
    const td = Array.from(document.querySelectorAll("#tasks-body td[data-stage]")).find((x) => x.dataset.task === t);
    return td && td.parentElement.querySelector(".error") && td.parentElement.querySelector(".error").textContent.includes(e);
  }, [task, expect], { timeout: TIMEOUT });
  ok(`the tasks page shows the error of ${task}`);
  await h.go("#/task/" + encodeURIComponent(task));
  await page.waitForFunction((e) => Array.from(document.querySelectorAll("#task-subtasks pre.error")).some((p) => p.textContent.includes(e) && /binlog event at .*INSERT INTO/s.test(p.textContent)), expect, { timeout: TIMEOUT });
  ok(`the task page shows the binlog event and the statement the target refused: "${(await page.textContent("#task-subtasks pre.error")).trim().slice(0, 160)}…"`);
  await h.shot("09-task-failed");
}

// readOnlyToken: with a read token the page shows everything, and an action is refused with
// the API's 403 message.
async function readOnlyToken(h) {
  const direct = await h.api("POST", "/api/v1/shard-ddl-locks/any-lock/unlock", { action: "exec" });
  if (direct.status !== 403) throw new Error(`a read token's write was not refused with 403: ${JSON.stringify(direct)}`);
  await h.go("#/tasks");
  await h.page.fill("#unlock-id", "any-lock");
  await h.page.click('#unlock-form button[type="submit"]');
  await h.notice(direct.data.error_msg, "a read token's action is refused");
  await h.shot("02-read-token-refused");
}

// refusedTransfer moves the source of the running task: the API refuses while the task
// runs, and the page says why.
async function refusedTransfer(h) {
  const { page } = h;
  await h.go("#/sources");
  await page.waitForFunction(() => document.getElementById("transfer-worker").value !== "", null, { timeout: TIMEOUT });
  const source = await page.inputValue("#transfer-source");
  const worker = await page.inputValue("#transfer-worker");
  await page.click('#transfer-form button[type="submit"]');
  await page.waitForFunction(() => /refused: .*\(error_code \d+\)/.test(document.getElementById("notice-text").textContent), null, { timeout: TIMEOUT });
  const shown = (await page.textContent("#notice-text")).trim();
  const workers = await h.api("GET", "/api/v1/cluster/workers");
  const bound = workers.data.data.find((w) => w.bound_source_name === source);
  if (!bound || bound.name === worker) throw new Error(`the transfer was refused on the page but ${source} is bound to ${bound && bound.name}`);
  ok(`transferring ${source} to ${worker} under a running task is refused: the page shows "${shown}"`);
  await h.shot("08-transfer-refused");
}

// hundredTasks shows the page stays quick with 100 tasks of two subtasks each: the list
// answer is the real task's, copied 100 times (the cluster runs one task); the rows appear,
// later refreshes update them in place (the same elements stay) without long script tasks.
async function hundredTasks(h, task) {
  const real = await h.api("GET", "/api/v1/tasks?with_status=true");
  const one = real.data.data.find((t) => t.name === task);
  const many = [];
  for (let i = 0; i < 100; i++) {
    const t = JSON.parse(JSON.stringify(one));
    t.name = `${task}-${String(i).padStart(3, "0")}`;
    const subs = one.status_list.concat(one.status_list.map((s) => Object.assign({}, s, { source_name: s.source_name + "-b" })));
    t.status_list = subs.map((s) => Object.assign({}, s, { name: t.name }));
    many.push(t);
  }
  const body = JSON.stringify({ total: many.length, data: many });
  const page = await h.page.context().newPage();
  try {
    await page.route("**/api/v1/tasks?with_status=true", (route) => route.fulfill({ status: 200, contentType: "application/json", body }));
    await page.addInitScript(() => {
      window.dmLongTasks = [];
      new PerformanceObserver((l) => window.dmLongTasks.push(...l.getEntries().map((e) => e.duration))).observe({ type: "longtask", buffered: true });
    });
    await page.goto(h.base + "/dashboard/#/tasks", { timeout: TIMEOUT });
    await page.waitForFunction(() => document.querySelectorAll("#tasks-body td[data-stage]").length === 200, null, { timeout: TIMEOUT });
    ok("the tasks page shows 100 tasks of 2 subtasks from one list request");
    await page.evaluate(() => {
      document.querySelector("#tasks-body tr").dataset.mark = "kept";
      window.dmLongTasks = [];
      window.dmTaskRequests = 0;
    });
    let requests = 0;
    page.on("request", (r) => { if (r.url().includes("/api/v1/tasks")) requests++; });
    // Watch a few refreshes (every 3 s).
    await page.waitForTimeout(7000);
    const kept = await page.evaluate(() => !!document.querySelector('#tasks-body tr[data-mark="kept"]'));
    if (!kept) throw new Error("a refresh rebuilt the task rows instead of updating them in place");
    if (requests < 2 || requests > 3) throw new Error(`${requests} task requests in 7 s: want one per refresh`);
    const long = await page.evaluate(() => window.dmLongTasks);
    if (long.some((d) => d > 300)) throw new Error(`refreshing 100 tasks blocked the page: long tasks ${long.join(", ")} ms`);
    ok(`with 100 tasks, ${requests} refreshes with one task request each kept the rows in place; longest script task ${Math.round(Math.max(0, ...long))} ms`);
    await page.screenshot({ path: path.join(h.opts.screenshots, "07-hundred-tasks.png") });
    console.log(`screenshot ${path.join(h.opts.screenshots, "07-hundred-tasks.png")}`);
  } finally {
    await page.close();
  }
}

async function main() {
  const opts = args();
  fs.mkdirSync(opts.screenshots, { recursive: true });
  if (!fs.existsSync(opts.chromium)) throw new Error(`no browser at ${opts.chromium}: run make deps`);
  let chromium;
  try {
    ({ chromium } = require("playwright-core"));
  } catch (e) {
    throw new Error("playwright-core is not installed in web/test: run make deps");
  }
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  const h = new Harness(opts, null);
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const origin = new URL(opts.url).origin;
    // The page must work offline: anything it asks of another origin fails the test.
    await context.route("**/*", (route) => {
      const u = route.request().url();
      if (u.startsWith(origin + "/") || u.startsWith("data:")) return route.continue();
      h.problems.push(`request to another origin: ${u}`);
      return route.abort();
    });
    const page = await context.newPage();
    h.page = page;
    page.on("pageerror", (e) => h.problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // A refused request is logged by the browser as a failed load: expected here.
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) h.problems.push(`console error: ${m.text()}`);
    });
    page.on("dialog", (d) => d.accept());
    await page.goto(h.base + "/dashboard/", { timeout: TIMEOUT });
    if (opts.token) await tokenFlow(h);
    if (opts.failed) {
      await failedTask(h, opts.failed, opts.expect || "");
    } else {
      await clusterPage(h);
    }
    if (opts.readonly) await readOnlyToken(h);
    if (opts.task) {
      await sourcesPage(h);
      await tasksPage(h, opts.task);
      await taskPage(h, opts.task);
      await refusedActions(h);
      await hundredTasks(h, opts.task);
      await refusedTransfer(h);
    }
    if (h.problems.length) throw new Error("the page misbehaved:\n  " + h.problems.join("\n  "));
    ok("no script errors, no policy violations, no request to another origin");
    console.log(`PASS dashboard: ${checks} checks; screenshots in ${opts.screenshots}`);
  } catch (e) {
    if (h.page) await h.shot("failure").catch(() => {});
    if (h.problems.length) console.log("problems seen:\n  " + h.problems.join("\n  "));
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(`FAIL dashboard: ${e.message}`);
  process.exit(1);
});
