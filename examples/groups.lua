-- groups.lua — task groups (Locust's TaskSet) and sequences (SequentialTaskSet).
--
-- A Reader mostly browses at the top level. Now and then it enters the Forum group: there it
-- reads threads until its `leave` task calls self:interrupt(), which returns to the top level.
-- Inside the forum, the Reply sequence runs its steps strictly in order — open the thread,
-- write, send — then interrupts back to the forum. Groups can hold groups, to any depth; inside
-- any of them `self` is still the user, with its own client and state.
--
--   build/cicada-target --port 8080 &
--   build/cicada -f examples/groups.lua -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s --headless
local cicada = require "cicada"

local Reply = cicada.sequence { tasks = { "open", "write", "send", "done" } }
function Reply:open() self.client:get("/json", { name = "reply: open" }) end
function Reply:write() self.draft = "hello from user " .. tostring(self):sub(-6) end
function Reply:send() self.client:post("/echo", { form = { text = self.draft }, name = "reply: send" }) end
function Reply:done() self:interrupt() end          -- back to the forum

local Forum = cicada.group {
  tasks = { read = 4, reply = Reply, leave = 1 },
  on_start = function(self) self.client:get("/", { name = "forum: enter" }) end,
}
function Forum:read()
  self.client:get("/bytes/" .. math.random(100, 2000), { name = "forum: read" })
end
function Forum:leave() self:interrupt() end         -- back to the top level

local Reader = cicada.user("Reader", {
  wait_time = cicada.between(0.05, 0.2),
  tasks = { browse = 3, forum = Forum },
})
function Reader:browse() self.client:get("/hello") end
