-- ui.lua — the load behind the browser test of the web UI: two classes (so the start form offers
-- a choice), a few names, some failures (HTTP 500) and an exception with a traceback.
local cicada = require "cicada"

local Reader = cicada.user("Reader", {
  weight = 3,
  wait_time = cicada.between(0.05, 0.15),
  tasks = { home = 4, item = 2, broken = 1 },
})
function Reader:home() self.client:get("/hello") end
function Reader:item() self.client:get("/bytes/" .. math.random(100, 900), { name = "/bytes/[size]" }) end
function Reader:broken() self.client:get("/status/500") end

local Writer = cicada.user("Writer", {
  weight = 1,
  wait_time = cicada.between(0.05, 0.15),
  tasks = { echo = 5, check = 1 },
})
function Writer:echo() self.client:post("/echo", { body = "hello" }) end
function Writer:check()
  local r = self.client:get("/json")
  if math.random() < 0.5 then error("unexpected answer: " .. r.status) end
end
