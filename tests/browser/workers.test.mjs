// The web UI of a master, in a real browser: a cicada master with its web UI and two cicada
// workers on 127.0.0.1. The Workers tab and figure appear, the table lists both workers running
// their users; one worker is killed: after 3 s without its heartbeat its row is marked missing,
// the figure and the tab's badge say so, and the other worker runs every user.
//
//   node tests/browser/workers.test.mjs --cicada build/cicada --target build/cicada-target \
//        --modules build/npm/node_modules [--shots docs/img]
//
// Exit 0: passed; 1: failed; 77: skipped (no chromium here).
import { join } from "node:path";
import { args, check, freePort, log, openPage, run, setup, start, waitHttp } from "./harness.mjs";

const { shots } = setup("cicada-workers-");

// The Workers table's rows: { id, state, users, cpu, memory, missing }.
function rows(page) {
  return page.$$eval("#workers-table tbody tr", (trs) => trs.filter((tr) => tr.cells.length === 5).map((tr) => ({
    id: tr.cells[0].textContent, state: tr.cells[1].textContent, users: Number(tr.cells[2].textContent),
    cpu: tr.cells[3].textContent, memory: tr.cells[4].textContent, missing: tr.classList.contains("missing")
  })));
}

async function main() {
  const [tport, mport, wport] = [await freePort(), await freePort(), await freePort()];
  const targetUrl = `http://127.0.0.1:${tport}`;
  start(args.target, ["--port", String(tport)], "cicada-target");
  await waitHttp(`${targetUrl}/hello`, 10000);
  start(args.cicada, ["-f", "ui.lua", "--master", "--master-bind-host", "127.0.0.1",
                      "--master-bind-port", String(mport), "--web-host", "127.0.0.1",
                      "--web-port", String(wport), "-H", targetUrl, "-u", "6", "-r", "6",
                      "--expect-workers", "2", "--autostart"], "master");
  const url = `http://127.0.0.1:${wport}/`;
  await waitHttp(url, 10000);
  const workers = ["w1", "w2"].map((name) => start(args.cicada, ["-f", "ui.lua", "--worker",
    "--master-port", String(mport), "--threads", "1"], name));
  log(`UI at ${url}`);

  const page = await openPage({ viewport: { width: 1280, height: 560 } });
  await page.goto(url);
  await page.waitForSelector("#t-workers:not([hidden])", { timeout: 10000 });
  check(await page.isVisible("#f-workers-box"), "a master shows the Workers figure");
  await page.waitForFunction(() => document.getElementById("f-workers").textContent === "2", null, { timeout: 15000 });
  check(true, "the header counts 2 workers");

  await page.click("#t-workers");
  await page.waitForSelector("#p-workers:not([hidden])");
  await page.waitForFunction(() => {
    const r = Array.from(document.querySelectorAll("#workers-table tbody tr"));
    return r.length === 2 && r.every((tr) => tr.cells[1].textContent === "running" && Number(tr.cells[2].textContent) === 3);
  }, null, { timeout: 15000 });
  let list = await rows(page);
  check(list.every((w) => /_[0-9a-f]{32}$/.test(w.id)), `the node ids are Locust's (${list.map((w) => w.id)})`);
  check(list.every((w) => /^\d+\.\d %$/.test(w.cpu) && /^\d+\.\d MB$/.test(w.memory) && w.memory !== "0.0 MB"),
        `CPU and memory shown (${list.map((w) => w.cpu + " " + w.memory)})`);
  check(list[0].id < list[1].id, "sorted by id");

  // One worker dies without a word: missing after 3 s of silence, its users go to the other.
  workers[0].kill("SIGKILL");
  const killed = Date.now();
  await page.waitForFunction(() => document.querySelector("#workers-table tr.missing") !== null, null, { timeout: 10000 });
  log(`marked missing after ${((Date.now() - killed) / 1000).toFixed(1)} s`);
  check(/missing/.test(await page.textContent("#workers-table tr.missing")), "the missing worker's row says missing");
  check(await page.textContent("#n-missing") === "1", "the tab's badge counts 1 missing worker");
  check(await page.textContent("#f-workers") === "1", "the header counts 1 worker");
  await page.waitForFunction(() => Array.from(document.querySelectorAll("#workers-table tbody tr"))
    .some((tr) => !tr.classList.contains("missing") && Number(tr.cells[2].textContent) === 6), null, { timeout: 10000 });
  check(true, "the live worker runs all 6 users");
  await page.screenshot({ path: join(shots, "ui-workers.png") });

  // The arrow keys reach the Workers tab, the last one.
  await page.focus("#t-logs");
  await page.keyboard.press("ArrowRight");
  check(await page.evaluate(() => document.activeElement.id) === "t-workers", "ArrowRight from Logs reaches Workers");
  check(page.errors.length === 0, `no error in the page's console (${page.errors.join("; ")})`);
}

run(main, 120000, true);
