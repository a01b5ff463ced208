// A placeholder script: polls /stats/requests and shows the state and the aggregated row.
"use strict";
async function poll() {
  try {
    const r = await fetch("/stats/requests");
    const d = await r.json();
    document.getElementById("state").textContent = d.state + " · " + d.user_count + " users";
    const total = d.stats[d.stats.length - 1];
    document.getElementById("stats").textContent = JSON.stringify(total, null, 2);
  } catch (e) {
    document.getElementById("state").textContent = "disconnected";
  }
}
poll();
setInterval(poll, 2000);
