-- shape.lua — a load profile in stages instead of -u/-r.
--
-- cicada.stages lists the stages; each holds its user count for its duration, moving there at
-- its rate. Here: a short warm-up with 5 users, a peak of 20, a cool-down with 5, then the test
-- ends by itself (the last stage over, the shape returns nil). Durations take 30, "30s", "5m",
-- "1h30m"; this demo is short so that it runs in seconds. For a profile that a table cannot
-- express, use cicada.shape(function(run_time) ... return users, rate end) instead.
--
--   build/cicada-target --port 8080 &
--   build/cicada -f examples/shape.lua -H http://127.0.0.1:8080 --headless
local cicada = require "cicada"

cicada.stages {
  { duration = 1, users = 5, rate = 10 },   -- warm-up
  { duration = "2s", users = 20, rate = 30 }, -- peak
  { duration = 1, users = 5, rate = 30 },   -- cool-down
}

local Visitor = cicada.user("Visitor", {
  wait_time = cicada.between(0.1, 0.3),
  tasks = { page = 4, api = 1 },
})
function Visitor:page() self.client:get("/hello") end
function Visitor:api() self.client:get("/json") end
