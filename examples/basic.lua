-- basic.lua: a first cicada scenario, a visitor browsing the demo target (cicada-target).
--
-- Run it headless against a local cicada-target:
--   cicada -f examples/basic.lua -H http://127.0.0.1:8080 -u 100 -r 50 -t 15s --headless

-- The cicada module gives user classes, wait times and utilities.
local cicada = require "cicada"

-- A user class: every simulated user of the test is one Visitor, running in its own coroutine.
local Visitor = cicada.user("Visitor", {
  -- Used when -H is not given on the command line.
  host = "http://127.0.0.1:8080",
  -- After each task a visitor pauses for a random 0.5 to 2 seconds, like a person reading.
  wait_time = cicada.between(0.5, 2),
  -- Which methods are tasks, and how often each is picked: here `home` three times as often as
  -- `item`.
  tasks = { home = 3, item = 1 },
})

-- Runs once when a visitor starts, before its first task: fetch a JSON document, as a client
-- would load its configuration, and set up the visitor's own state (`self`).
function Visitor:on_start()
  self.client:get("/json")
  self.items_seen = 0
end

-- A task: one GET request. Its statistics appear under the name "/hello".
function Visitor:home()
  self.client:get("/hello")
end

-- Another task: every item has its own URL, but `name` groups them all into one row of the
-- statistics, "/bytes/[size]", instead of one row per size.
function Visitor:item()
  local size = math.random(100, 2000)
  local r = self.client:get("/bytes/" .. size, { name = "/bytes/[size]" })
  -- A response carries status, ok, headers (lower-case keys), body, elapsed (seconds) and url.
  -- A Lua error in a task is counted in the exceptions table; the visitor goes on.
  if r.ok and #r.body ~= size then
    error("expected " .. size .. " bytes, got " .. #r.body)
  end
  self.items_seen = self.items_seen + 1
end
