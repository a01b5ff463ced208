-- tags.lua — choosing a subset of tasks from the command line with tags.
--
-- Tasks carry tags; `-T smoke` runs only the tasks tagged smoke, `-E write` runs everything but
-- the tasks tagged write. A class's (or a group's) tags apply to all of its tasks: every task of
-- Admin is tagged admin. Try:
--
--   build/cicada-target --port 8080 &
--   build/cicada -f examples/tags.lua -H http://127.0.0.1:8080 -u 10 -t 20s --headless -T smoke
--   build/cicada -f examples/tags.lua -H http://127.0.0.1:8080 -u 10 -t 20s --headless -E write,admin
--   build/cicada -f examples/tags.lua --show-task-ratio -T read
local cicada = require "cicada"

local Shopper = cicada.user("Shopper", {
  wait_time = cicada.between(0.05, 0.2),
  tasks = {
    home = cicada.tag({ "smoke", "read" }, 3),       -- the helper: tags, then weight
    search = { weight = 2, tags = { "read" } },      -- the long form
    buy = { weight = 1, tags = { "write" } },
  },
})
function Shopper:home() self.client:get("/hello", { name = "home" }) end
function Shopper:search() self.client:get("/json", { params = { q = "lamp" }, name = "search" }) end
function Shopper:buy() self.client:post("/items", { json = { name = "lamp" }, name = "buy" }) end

local Admin = cicada.user("Admin", {
  tags = { "admin" },
  fixed_count = 1,
  wait_time = cicada.constant(0.5),
  tasks = { audit = 1 },
})
function Admin:audit() self.client:get("/items", { name = "audit" }) end
