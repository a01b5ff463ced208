// What the browser tests share: arguments, Debian's chromium through playwright-core, the
// processes a test starts (killed by their pid at the end), and the run with its deadline.
//
// A test calls setup(prefix) first: it exits 77 (CTest's skip) when there is no chromium, and
// gives the test's scratch folder and screenshot folder. run(main, deadlineMs) then runs main,
// cleans up whatever the test started, prints PASSED or FAILED and exits 0 or 1.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const LAUNCH_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"];

const started = []; // the processes the test started
let browser = null;
let scratch = null;
let chromium = null;

// "--name value" pairs of the command line.
export const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];

// Skips the test without chromium; returns { dir, shots }: a fresh scratch folder and where
// screenshots go (--shots, else inside the scratch folder).
export function setup(prefix) {
  if (!existsSync(CHROMIUM)) {
    console.log(`SKIPPED: no chromium at ${CHROMIUM} (scripts/install-deps installs it)`);
    process.exit(77);
  }
  const require = createRequire(resolve(args.modules || join(HERE, "../../build/npm/node_modules")) + "/");
  ({ chromium } = require("playwright-core"));
  scratch = mkdtempSync(join(tmpdir(), prefix));
  const shots = resolve(args.shots || join(scratch, "shots"));
  mkdirSync(shots, { recursive: true });
  return { dir: scratch, shots };
}

export function log(msg) { console.log(`[${process.uptime().toFixed(1)}s] ${msg}`); }

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  log(`ok: ${what}`);
}

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
  });
}

// Starts bin from this folder (scenarios' short paths are what tracebacks and screenshots show);
// its output collects in p.out.
export function start(bin, argv, name) {
  const p = spawn(resolve(bin), argv, { cwd: HERE, stdio: ["ignore", "pipe", "pipe"] });
  p.out = "";
  p.stdout.on("data", (d) => { p.out += d; });
  p.stderr.on("data", (d) => { p.out += d; });
  p.name = name;
  started.push(p);
  return p;
}

export async function waitHttp(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try { const r = await fetch(url); if (r.status < 500) return; } catch (e) { /* not yet */ }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A page in a fresh headless chromium profile; page.errors collects the page's errors and the
// console's error messages.
export async function openPage(options) {
  browser = await chromium.launchPersistentContext(join(scratch, "browser"), {
    executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, ...options
  });
  const page = browser.pages()[0] || await browser.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") page.errors.push(m.text()); });
  return page;
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  if (scratch) rmSync(join(scratch, "browser"), { recursive: true, force: true });
}

// Runs main under a deadline; keepScratch leaves the scratch folder (it may hold screenshots).
export function run(main, deadlineMs, keepScratch) {
  const timer = setTimeout(() => {
    console.error(`FAILED: still running after ${deadlineMs} ms`);
    cleanup().then(() => process.exit(1));
  }, deadlineMs);
  main().then(async () => {
    clearTimeout(timer);
    await cleanup();
    if (!keepScratch) rmSync(scratch, { recursive: true, force: true });
    console.log("PASSED");
    process.exit(0);
  }, async (e) => {
    clearTimeout(timer);
    console.error(`FAILED: ${e.stack || e}`);
    for (const p of started) console.error(`--- ${p.name} output (last 2000 chars):\n${p.out.slice(-2000)}`);
    await cleanup();
    process.exit(1);
  });
}
