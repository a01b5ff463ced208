// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core.
// Runs cicada headless against cicada-target for a few seconds with --html, opens the report,
// and checks the response-time chart's name selector: it offers Aggregated and each request
// name, and choosing a name redraws the chart with that name's p50/p95/p99.
//
//   node tests/browser/report.test.mjs --cicada build/cicada --target build/cicada-target \
//        --modules build/npm/node_modules [--shots DIR]
//
// Exit 0: passed; 1: failed; 77: skipped (no chromium here), which CTest reports as skipped.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const DEADLINE_MS = 120000;

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];

if (!existsSync(CHROMIUM)) {
  console.log(`SKIPPED: no chromium at ${CHROMIUM} (scripts/install-deps installs it)`);
  process.exit(77);
}
const require = createRequire(resolve(args.modules || join(HERE, "../../build/npm/node_modules")) + "/");
const { chromium } = require("playwright-core");

const started = []; // the processes this test started, killed by their pid at the end
let browser = null;
const dir = mkdtempSync(join(tmpdir(), "cicada-report-"));
const shots = resolve(args.shots || join(dir, "shots"));
mkdirSync(shots, { recursive: true });

function log(msg) { console.log(`[${process.uptime().toFixed(1)}s] ${msg}`); }

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  log(`ok: ${what}`);
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
  });
}

function start(bin, argv, name) {
  const p = spawn(resolve(bin), argv, { cwd: HERE, stdio: ["ignore", "pipe", "pipe"] });
  p.out = "";
  p.stdout.on("data", (d) => { p.out += d; });
  p.stderr.on("data", (d) => { p.out += d; });
  p.name = name;
  started.push(p);
  return p;
}

async function waitHttp(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try { const r = await fetch(url); if (r.status < 500) return; } catch (e) { /* not yet */ }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(join(dir, "browser"), { recursive: true, force: true });
}

// The response-time chart as the page shows it: its title, the name it shows, its canvas as a
// PNG data URL, and the p50 its legend shows when the pointer is near the chart's right end
// (where every name has a value: the window of the current percentiles has filled).
async function rtChart(page) {
  const over = await page.locator("#charts .chart >> nth=1").locator(".u-over").boundingBox();
  await page.mouse.move(over.x + over.width * 0.97, over.y + over.height / 2);
  return page.evaluate(() => {
    const box = document.querySelectorAll("#charts .chart")[1];
    const p50 = box.querySelector(".u-series:nth-child(2) .u-value").textContent;
    return { title: box.querySelector(".u-title").textContent, name: box.getAttribute("data-name"),
             png: box.querySelector("canvas").toDataURL(), p50: parseFloat(p50), p50text: p50 };
  });
}

async function main() {
  const tport = await freePort();
  const host = `http://127.0.0.1:${tport}`;
  start(args.target, ["--port", String(tport)], "cicada-target");
  await waitHttp(`${host}/hello`, 10000);
  const html = join(dir, "report.html");
  // 13 s: the current percentiles need a 10 s window, so the last seconds have per-name values.
  const run = start(args.cicada, ["-f", "report.lua", "-H", host, "-u", "4", "-r", "4", "-t", "13s",
                                  "--headless", "--only-summary", "--html", html], "cicada");
  const code = await new Promise((ok) => run.on("exit", ok));
  check(code === 0, `cicada ran and wrote the report (exit ${code})`);

  browser = await chromium.launchPersistentContext(join(dir, "browser"), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 1400 },
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"]
  });
  const page = browser.pages()[0] || await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(`file://${html}`);
  await page.waitForSelector("#rt-name");

  const options = await page.$$eval("#rt-name option", (l) => l.map((o) => o.textContent));
  check(JSON.stringify(options.slice().sort()) === JSON.stringify(["Aggregated", "GET /delay/30", "GET /hello"]),
        `the selector offers Aggregated and each name (${options})`);
  const agg = await rtChart(page);
  check(agg.title === "Response times", `the chart starts with the aggregated times (${agg.title})`);

  await page.selectOption("#rt-name", { label: "GET /delay/30" });
  const slow = await rtChart(page);
  check(slow.title === "Response times: GET /delay/30" && slow.name === "GET /delay/30",
        `choosing a name retitles the chart (${slow.title})`);
  check(slow.png !== agg.png, "choosing a name redraws the chart");
  check(slow.p50 >= 30 && slow.p50 < 40 && / ms$/.test(slow.p50text),
        `the delayed name's p50 reads its 30 ms delay on hover (${slow.p50text})`);
  await page.screenshot({ path: join(shots, "report-delay.png"), fullPage: true });

  await page.selectOption("#rt-name", { label: "GET /hello" });
  const fast = await rtChart(page);
  check(fast.png !== slow.png && fast.p50 < 10, `the immediate name's p50 is below 10 ms (${fast.p50text})`);

  await page.selectOption("#rt-name", { label: "Aggregated" });
  const back = await rtChart(page);
  check(back.title === "Response times" && back.p50 === agg.p50, "Aggregated draws the first chart again");
  check(errors.length === 0, `no error in the page's console (${errors.join("; ")})`);
}

const timer = setTimeout(() => { console.error(`FAILED: still running after ${DEADLINE_MS} ms`); cleanup().then(() => process.exit(1)); }, DEADLINE_MS);
main().then(async () => {
  clearTimeout(timer);
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
  console.log("PASSED");
  process.exit(0);
}, async (e) => {
  clearTimeout(timer);
  console.error(`FAILED: ${e.stack || e}`);
  for (const p of started) console.error(`--- ${p.name} output (last 2000 chars):\n${p.out.slice(-2000)}`);
  await cleanup();
  process.exit(1);
});
