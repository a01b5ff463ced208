// The web UI in a real browser: Debian's chromium, headless, driven by playwright-core.
// Starts cicada-target and cicada (web UI on 127.0.0.1, a free port), then: fills the start
// form, sees the statistics fill and the request count rise, the charts draw, edits the user
// count, stops, downloads the CSV, resets; a screenshot of each tab is saved on the way.
//
//   node tests/browser/ui.test.mjs --cicada build/cicada --target build/cicada-target \
//        --modules build/npm/node_modules [--shots docs/img] [--url http://host:port/]
//
// --url drives a server already running instead of starting one. Exit 0: passed; 1: failed;
// 77: skipped (no chromium here), which CTest reports as skipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { args, check, freePort, log, openPage, run, setup, start, waitHttp } from "./harness.mjs";

const { dir: profile, shots } = setup("cicada-ui-");

// The statistics table's cell under `header` in the row named `name`, as text.
async function cell(page, name, header) {
  return page.evaluate(([name, header]) => {
    const t = document.getElementById("stats-table");
    const col = Array.from(t.tHead.rows[0].cells).findIndex((c) => c.textContent.trim() === header);
    const row = Array.from(t.tBodies[0].rows).find((r) => r.cells[1] && r.cells[1].textContent === name);
    return row && col >= 0 ? row.cells[col].textContent : null;
  }, [name, header]);
}
const num = (s) => Number(String(s).replace(/,/g, ""));

// Pixels of each chart's canvas near its first series' colour: a drawn line, not only axes.
async function chartInk(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll("#charts .chart")).map((c) => {
    const canvas = c.querySelector("canvas");
    const series = c.querySelector(".u-series:nth-child(2) .u-marker");
    const rgb = getComputedStyle(series).borderColor.match(/\d+/g).map(Number);
    const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 128 && Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) + Math.abs(d[i + 2] - rgb[2]) < 60) n++;
    }
    return n;
  }));
}

async function tab(page, id, shot) {
  await page.click(`#t-${id}`);
  await page.waitForSelector(`#p-${id}:not([hidden])`);
  if (shot) {
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(shots, `ui-${id}.png`) });
  }
}

// An open-model run (50 arrivals/s, 20 s at most) started from the command line: the Statistics
// tab shows its arrivals per class and the service times beside those from the schedule.
async function openModel(page, targetUrl) {
  const wport = await freePort();
  start(args.cicada, ["-f", "ui.lua", "--web-host", "127.0.0.1", "--web-port", String(wport),
                      "-H", targetUrl, "-u", "4", "-r", "4", "--threads", "1", "-t", "20s",
                      "--arrival-rate", "50", "--autostart", "--autoquit", "2"], "cicada (open model)");
  const url = `http://127.0.0.1:${wport}/`;
  await waitHttp(url, 10000);
  await page.goto(url);
  await page.waitForSelector("#open-model:not([hidden])", { timeout: 10000 });
  await page.waitForFunction(() => /Reader/.test(document.getElementById("arrivals-table").textContent) &&
    document.querySelectorAll("#service-table tbody tr").length >= 3, null, { timeout: 10000 });
  const head = await page.$$eval("#arrivals-table thead th", (l) => l.map((t) => t.textContent));
  check(["Scheduled", "Dropped", "Backlog max", "Late starts", "Lateness p99 (ms)"].every((h) => head.includes(h)),
        `the arrivals table has its columns (${head})`);
  const scheduled = await page.$eval("#arrivals-table tbody tr", (r) => Number(r.cells[1].textContent.replace(/,/g, "")));
  check(scheduled > 0, `arrivals are counted (${scheduled} scheduled)`);
  const svc = await page.$$eval("#service-table tbody tr:last-child td", (l) => l.map((t) => t.textContent));
  check(svc[1] === "Aggregated" && /^\d/.test(svc[3]) && /^\d/.test(svc[4]),
        `the service times stand beside those from the schedule (${svc.slice(1, 5)})`);
  await page.screenshot({ path: join(shots, "ui-open-model.png"), fullPage: true });
}

async function main() {
  let url = args.url, targetUrl = args.host;
  if (!url) {
    const [tport, wport] = [await freePort(), await freePort()];
    targetUrl = `http://127.0.0.1:${tport}`;
    start(args.target, ["--port", String(tport)], "cicada-target");
    await waitHttp(`${targetUrl}/hello`, 10000);
    start(args.cicada, ["-f", "ui.lua", "--web-host", "127.0.0.1", "--web-port", String(wport),
                        "-u", "4", "-r", "4", "--threads", "1"], "cicada");
    url = `http://127.0.0.1:${wport}/`;
    await waitHttp(url, 10000);
  }
  log(`UI at ${url}`);

  const page = await openPage({ acceptDownloads: true, viewport: { width: 1280, height: 760 } });
  const errors = page.errors;
  await page.goto(url);

  // The start form opens by itself on a fresh server; the command line's users are offered.
  await page.waitForSelector("#d-start[open]", { timeout: 10000 });
  check(await page.inputValue("#f-start [name=user_count]") === "4", "the start form offers the command line's users");
  await page.fill("#f-start [name=user_count]", "6");
  await page.fill("#f-start [name=spawn_rate]", "6");
  if (targetUrl) await page.fill("#f-start [name=host]", targetUrl);
  await page.click("#f-start summary");
  const classes = await page.$$eval("#class-list input", (l) => l.map((i) => i.value));
  check(classes.join(",") === "Reader,Writer", `the form lists the user classes (${classes})`);
  await page.screenshot({ path: join(shots, "ui-start.png") });
  await page.click("#f-start [type=submit]");
  await page.waitForSelector("#d-start", { state: "hidden" });

  // The statistics fill and the count rises.
  await page.waitForFunction(() => document.querySelectorAll("#stats-table tbody tr").length >= 3, null, { timeout: 15000 });
  const first = num(await cell(page, "Aggregated", "# Requests"));
  await page.waitForFunction((n) => {
    const rows = document.querySelectorAll("#stats-table tbody tr");
    return Number(rows[rows.length - 1].cells[2].textContent.replace(/,/g, "")) > n;
  }, first, { timeout: 10000 });
  const second = num(await cell(page, "Aggregated", "# Requests"));
  check(second > first && first >= 0, `the request count rises (${first} -> ${second})`);
  check(/^\d+(\.\d+)?$/.test(await cell(page, "/hello", "Median (ms)")), "times are shown in ms");
  await page.waitForFunction(() => /running/i.test(document.getElementById("f-state").textContent), null, { timeout: 10000 });
  check(await page.textContent("#f-users") === "6", "the header shows 6 users");
  check(!(await page.isVisible("#t-workers")) && !(await page.isVisible("#f-workers-box")),
        "no Workers tab or figure on a process that is not a master");
  check(!(await page.isVisible("#open-model")), "no open-model section in a closed-model run");
  await tab(page, "stats", true);

  // The charts draw: lines in each of the three canvases.
  await tab(page, "charts", false);
  await page.waitForTimeout(4500);
  let ink = await chartInk(page);
  check(ink.length === 3 && ink.every((n) => n > 20), `every chart draws its series (${ink} pixels)`);
  const axis = await page.$eval("#charts .chart", (c) => c.querySelector(".u-title").textContent);
  check(axis === "Requests per second", "the first chart is requests per second");
  await page.screenshot({ path: join(shots, "ui-charts.png") });

  for (const t of ["failures", "exceptions", "ratio", "download", "logs"]) await tab(page, t, true);
  check(await page.$$eval("#failures-table tbody tr", (r) => r.length) >= 1 &&
        /500/.test(await page.textContent("#failures-table")), "the failures tab lists the HTTP 500s");
  await tab(page, "exceptions", false);
  await page.waitForFunction(() => /unexpected answer/.test(document.getElementById("exceptions-table").textContent), null, { timeout: 6000 });
  check(/traceback|ui\.lua/.test(await page.textContent("#exceptions-table")), "the exceptions tab shows a traceback");
  await tab(page, "ratio", false);
  await page.waitForFunction(() => /Reader/.test(document.getElementById("ratio-class").textContent), null, { timeout: 6000 });
  const ratio = await page.textContent("#ratio-class");
  check(/\d+\.\d%Reader/.test(ratio) && /\d+\.\d%Writer/.test(ratio) && /%home/.test(ratio), `the ratio tab lists classes and tasks (${ratio.slice(0, 80)})`);

  // Edit: 6 users -> 2.
  await tab(page, "stats", false);
  await page.click("#b-edit");
  await page.waitForSelector("#d-edit[open]");
  await page.fill("#f-edit [name=user_count]", "2");
  await page.click("#f-edit [type=submit]");
  await page.waitForFunction(() => document.getElementById("f-users").textContent === "2", null, { timeout: 15000 });
  check(true, "after the edit the header shows 2 users");

  // Stop.
  await page.click("#b-stop");
  await page.waitForFunction(() => /stopped/i.test(document.getElementById("f-state").textContent), null, { timeout: 15000 });
  check(await page.isVisible("#b-new") && !(await page.isVisible("#b-stop")), "stopped: New test shown, Stop hidden");

  // Download the CSV.
  await tab(page, "download", false);
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("a[href='stats/requests/csv']")]);
  const csv = readFileSync(await dl.path(), "utf8");
  check(csv.startsWith("Type,Name,Request Count,Failure Count,Median Response Time"), `the CSV has Locust's header (${csv.split("\n")[0].slice(0, 60)}...)`);

  // Reset.
  await tab(page, "stats", false);
  await page.click("#b-reset");
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll("#stats-table tbody tr");
    return rows[rows.length - 1].cells[2].textContent === "0";
  }, null, { timeout: 10000 });
  check(true, "after the reset the request count is 0");

  // Keyboard: arrow keys move between tabs.
  await page.focus("#t-stats");
  await page.keyboard.press("ArrowRight");
  check(await page.evaluate(() => document.activeElement.id) === "t-charts" &&
        await page.getAttribute("#t-charts", "aria-selected") === "true", "ArrowRight selects the next tab");

  if (targetUrl) await openModel(page, targetUrl);

  check(errors.length === 0, `no error in the page's console (${errors.join("; ")})`);
  log(`screenshots in ${shots}`);
}

run(main, 180000, true);
