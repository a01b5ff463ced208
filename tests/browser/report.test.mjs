// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core.
// Runs cicada headless against cicada-target for a few seconds with --html, opens the report,
// and checks the response-time chart's name selector: it offers Aggregated and each request
// name, and choosing a name redraws the chart with that name's p50/p95/p99.
//
//   node tests/browser/report.test.mjs --cicada build/cicada --target build/cicada-target \
//        --modules build/npm/node_modules [--shots DIR]
//
// Exit 0: passed; 1: failed; 77: skipped (no chromium here), which CTest reports as skipped.
import { join } from "node:path";
import { args, check, freePort, log, openPage, run, setup, start, waitHttp } from "./harness.mjs";

const { dir, shots } = setup("cicada-report-");

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

  const page = await openPage({ viewport: { width: 1280, height: 1400 } });
  const errors = page.errors;
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

run(main, 120000);
