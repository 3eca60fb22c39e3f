// The browser half of tests/test_apps_browser.py: a real MCP client (the official TypeScript one, over stdio to
// `veeam-em-mcp serve`) reads a tool's view (its _meta.ui.resourceUri, resources/read) and calls the tool; Debian's
// chromium, driven by playwright-core, renders the view inside host.html (the official AppBridge), which answers the
// view's tools/call (more rows with the cursor, a run's VMs, a VM's points) through the same client. What a person
// would check is measured here and printed as one JSON line; the Python test compares it with the tool's results.
//   node drive.mjs '{"hostDir":..., "chromium":..., "command":[...], "env":{...}, "tool":..., "arguments":{...},
//                    "screenshots":{"light": path, "dark": path}}'
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(join(cfg.hostDir, "package.json"));
const { chromium } = require("playwright-core");
const { Client } = require("@modelcontextprotocol/client");
const { StdioClientTransport } = require("@modelcontextprotocol/client/stdio");
const HERE = dirname(fileURLToPath(import.meta.url));
const WAIT = { timeout: 240_000, polling: 250 };

const client = new Client({ name: "veeam-em-mcp apps browser test", version: "1" });
await client.connect(new StdioClientTransport({ command: cfg.command[0], args: cfg.command.slice(1), env: cfg.env,
  stderr: "ignore" }));
const tool = (await client.listTools()).tools.find((t) => t.name === cfg.tool);
const uri = tool?._meta?.ui?.resourceUri;
if (!uri) throw new Error(`${cfg.tool} names no view (_meta.ui.resourceUri)`);
const html = (await client.readResource({ uri })).contents[0].text;
const result = await client.callTool({ name: cfg.tool, arguments: cfg.arguments });
const data = result.structuredContent;
const answers = [];  // every tool result the view asked the host for, in order

const browser = await chromium.launch({ executablePath: cfg.chromium, args: ["--no-sandbox", "--disable-gpu"] });
const out = { uri, htmlBytes: Buffer.byteLength(html), result: data, screenshots: {} };
let page, frame;

// A control's name for the keyboard check (what the test lists as reached, and as existing).
const describe = () => { const e = document.activeElement; if (!e || e === document.body) return null;
  return e.id || e.dataset.state || e.dataset.outcome || e.getAttribute("aria-labelledby") || e.getAttribute("aria-label") || e.tagName; };
const controls = () => [...document.querySelectorAll('button, select, input, [tabindex="0"]')].filter((e) => !e.closest("[hidden]"))
  .map((e) => e.id || e.dataset.state || e.dataset.outcome || e.getAttribute("aria-labelledby") || e.getAttribute("aria-label") || e.tagName);
// Tab from the host page until the focused element matches `test` (run in the view); false when it never does.
async function tabTo(test, arg, most = 400) {
  for (let i = 0; i < most; i += 1) {
    await page.keyboard.press("Tab");
    if (await frame.evaluate(test, arg)) return true;
  }
  return false;
}

const VIEWS = {
  protection_report: {
    title: "Protection report",
    ready: () => frame.waitForFunction((n) => document.querySelectorAll(".c").length === n && document.getElementById("loading").hidden,
      data.total, WAIT),
    async measure() {
      const rows = [...data.rows, ...answers.flatMap((a) => a.rows ?? [])];
      out.cells = await frame.evaluate(() => {
        const count = (sel) => document.querySelectorAll(sel).length;
        return { all: count(".c"), met: count('.c[data-rpo="met"]'), missed: count('.c[data-rpo="missed"]'),
          never: count('.c[data-rpo="never"]'), failed: count('.c[data-run="failed"]'), running: count('.c[data-run="running"]'),
          labelled: [...document.querySelectorAll(".c")].filter((c) => c.getAttribute("aria-label")?.includes(": RPO ")).length,
          legend: [...document.querySelectorAll("#states button")].map((b) => b.textContent) };
      });
      out.groupHeadings = await frame.evaluate(() => [...document.querySelectorAll("#groups h2")].length);
      // The jobs of the result's rows: a job is its name on its backup server (names repeat across servers).
      out.jobGroups = new Set(rows.map((r) => JSON.stringify([(r.jobs ?? [])[0] ?? null, r.backup_server ?? null]))).size;
      out.jobNames = new Set(rows.map((r) => (r.jobs ?? [])[0] ?? null)).size;
      out.rowStates = rows.reduce((acc, r) => { acc[r.status] = (acc[r.status] ?? 0) + 1; return acc; }, {});
      // Failed VMs whose name no other VM's name contains (the filter then finds only them).
      const failed = rows.filter((r) => r.last_outcome === "failed" && r.last_reason &&
        rows.filter((o) => o.vm_name.toLowerCase().includes(r.vm_name.toLowerCase())).length === 1);
      const byKey = failed[1] ?? failed[0];
      if (byKey) {  // a failed VM's reason by keyboard: type its name in the filter, Tab to its cells, Enter
        await frame.focus("#filter");
        await page.keyboard.type(byKey.vm_name);
        await tabTo(() => document.activeElement?.classList.contains("cells") && !!document.activeElement.querySelector(".c:not([hidden])"), null, 40);
        await page.keyboard.press("Enter");
        out.byKeyboard = { vm: byKey.vm_name, reason: byKey.last_reason, shown: await frame.locator("#detail").innerText() };
        await frame.fill("#filter", "");
      }
      // Every group by keyboard alone: Tab to the cells (one stop), then Page Down to the last group.
      await page.mouse.click(2, 2);
      await tabTo(() => document.activeElement?.classList.contains("cells"), null, 40);
      const groups = await frame.evaluate(() => [...document.querySelectorAll(".cells")].filter((b) => b.querySelector(".c:not([hidden])")).length);
      for (let i = 1; i < groups; i += 1) await page.keyboard.press("PageDown");
      out.groupsByKeyboard = { groups, at: await frame.evaluate(() =>
        [...document.querySelectorAll(".cells")].indexOf(document.activeElement)) };
      const byClick = failed[0];
      if (byClick) {  // and another one click away
        const cell = await frame.evaluateHandle((id) => [...document.querySelectorAll(".c")].find((c) => c._row.vm_id === id), byClick.vm_id);
        await cell.asElement().click();
        out.clicked = { vm: byClick.vm_name, reason: byClick.last_reason, shown: await frame.locator("#detail").innerText() };
      }
    },
  },
  find_job_sessions: {
    title: "Job runs",
    ready: () => frame.waitForFunction((n) => document.querySelectorAll("#runs li").length === n, data.total, WAIT),
    async measure() {
      out.bars = await frame.evaluate(() => {
        const bars = [...document.querySelectorAll(".run")];
        const by = {};
        for (const b of bars) by[b.dataset.outcome] = (by[b.dataset.outcome] ?? 0) + 1;
        return { all: bars.length, by, labelled: [...document.querySelectorAll(".track")].filter((t) => t.getAttribute("aria-label")).length };
      });
      const runs = [...data.sessions, ...answers.flatMap((a) => a.sessions ?? [])];
      const failed = runs.filter((r) => r.outcome === "failed");
      const reasonOf = async (run) => {  // what get_job_session says, asked by this test itself
        const detail = (await client.callTool({ name: "get_job_session", arguments: { session_id: run.id } })).structuredContent;
        return (detail.tasks ?? []).find((t) => t.reason)?.reason ?? null;
      };
      if (failed[0]) {
        const name = failed[0].job_name;
        await frame.getByRole("button", { name: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} — failed`) }).first().click();
        await frame.waitForFunction(() => !document.getElementById("detail").innerText.includes("Reading"), null, WAIT);
        out.clicked = { run: name, reason: await reasonOf(failed[0]), shown: await frame.locator("#detail").innerText() };
      }
      const byKey = failed[1] ?? failed[0];
      if (byKey) {
        await page.mouse.click(2, 2);
        await tabTo((n) => (document.activeElement?.getAttribute("aria-label") ?? "").startsWith(`${n} — failed`), byKey.job_name);
        await page.keyboard.press("Enter");
        await frame.waitForFunction((n) => document.getElementById("detail").innerText.includes(n) &&
          !document.getElementById("detail").innerText.includes("Reading"), byKey.job_name, WAIT);
        out.byKeyboard = { run: byKey.job_name, reason: await reasonOf(byKey), shown: await frame.locator("#detail").innerText() };
      }
    },
  },
  list_repositories: {
    title: "Repositories",
    ready: () => frame.waitForFunction((n) => document.querySelectorAll("#list li").length === n, data.repositories.length, WAIT),
    async measure() {
      out.repositories = await frame.evaluate(() => [...document.querySelectorAll("#list li")].map((li) => ({
        name: li.querySelector(".name").firstChild.textContent, state: li.dataset.state,
        now: li.querySelector("[role=meter]").getAttribute("aria-valuenow"),
        text: li.querySelector("[role=meter]").getAttribute("aria-valuetext"), words: li.querySelector(".text").textContent })));
      out.totals = await frame.locator("#totals").innerText();
    },
  },
  vm_recovery_summary: {
    title: "VM recovery",
    // Drawn first from the summary's own points, then from every point read: wait for the read to end.
    ready: () => frame.waitForFunction((n) => /^\d+ of \d+ points read$|only the summary/.test(document.getElementById("loading").textContent) &&
      document.querySelectorAll(".p").length === n, data.restore_point_count, WAIT),
    async measure() {
      out.points = await frame.evaluate(() => ({ all: document.querySelectorAll(".p").length,
        chain: document.querySelectorAll(".p[data-chain]").length, newest: document.querySelectorAll(".p[data-newest]").length,
        fulls: document.querySelectorAll(".p[data-full]").length, label: document.getElementById("axis").getAttribute("aria-label"),
        files: [...document.querySelectorAll("#files li")].map((li) => li.textContent) }));
      const all = answers.flatMap((a) => (a.restore_points ?? []).map((p) => ({ ...(a.shared ?? {}), ...p })));
      out.pointsRead = all.length;
      out.fullsRead = all.filter((p) => p.point_type === "Full" || /Full/.test(p.algorithm ?? "")).length;
      await frame.locator("#only").click();
      out.onlyChain = await frame.evaluate(() => document.querySelectorAll(".p").length);
      await frame.locator("#only").click();
    },
  },
};

const view = VIEWS[cfg.tool];
try {
  page = await browser.newPage({ viewport: { width: 960, height: 720 } });
  const blocked = [];
  await page.route("**/*", (route) => {  // the host's two files; anything else the view asked for is a failure
    const url = new URL(route.request().url());
    if (url.host !== "host.test") { blocked.push(url.href); return route.abort(); }
    const file = url.pathname === "/host.html" ? join(HERE, "host.html") : join(cfg.hostDir, "app-bridge.bundle.js");
    return route.fulfill({ body: readFileSync(file), contentType: file.endsWith(".html") ? "text/html" : "text/javascript" });
  });
  await page.exposeFunction("hostCallTool", async (params) => {
    const answer = await client.callTool(params);
    answers.push({ name: params.name, arguments: params.arguments, ...(answer.structuredContent ?? {}) });
    return answer;
  });
  await page.goto("http://host.test/host.html");
  await page.evaluate(([h, r, a, t, title]) => window.mountView(h, r, a, t, title), [html, result, cfg.arguments, "light", view.title]);
  frame = page.frames().find((f) => f !== page.mainFrame());
  await view.ready();
  out.calls = answers.map((a) => ({ name: a.name, arguments: a.arguments }));
  await view.measure();

  // Keyboard only: Tab from the host page through the view; every control must take focus.
  await page.mouse.click(2, 2);
  const all = await frame.evaluate(controls);
  const reached = [];
  for (let i = 0; i < all.length + 10; i += 1) {  // one Tab per control, and a few for the host page
    await page.keyboard.press("Tab");
    const here = await frame.evaluate(describe);
    if (here && !reached.includes(here)) reached.push(here);
  }
  out.keyboard = { reached, controls: all };

  const iframe = await page.$("iframe");
  const shoot = async (path) => {  // the view from its top, at most 1,600 px of it (a tall estate's first screens)
    await frame.evaluate(() => window.scrollTo(0, 0));
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = await iframe.boundingBox();
    const height = Math.min(box.height, 1600);
    await page.setViewportSize({ width: 960, height: Math.ceil(box.y + height) });  // an iframe paints what is in view
    await page.waitForTimeout(200);
    await page.screenshot({ path, clip: { x: box.x, y: box.y, width: box.width, height } });
  };
  if (cfg.screenshots.light) { await shoot(cfg.screenshots.light); out.screenshots.light = cfg.screenshots.light; }
  if (cfg.screenshots.dark) {
    await page.evaluate(() => window.bridge.setHostContext({ theme: "dark" }));
    await frame.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    out.darkBackground = await frame.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await shoot(cfg.screenshots.dark);
    out.screenshots.dark = cfg.screenshots.dark;
  }
  out.blocked = blocked;
} finally {
  await browser.close();
  await client.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
