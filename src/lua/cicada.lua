-- The scenario library (`require "cicada"`): user classes, wait times, the HTTP client object
-- and the loop every simulated user runs. The engine passes its core functions as `...`.
local core = ...

local yield, random, floor = coroutine.yield, math.random, math.floor
local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error
local setmetatable, xpcall, traceback = setmetatable, xpcall, debug.traceback
local send, now = core.send, core.now

local M = { _VERSION = core.version }
local classes = {}        -- user classes in declaration order, and by name

-- Wait times ---------------------------------------------------------------------------------

--- Waits a random time between min and max seconds after each task.
function M.between(min, max)
  if type(min) ~= "number" or type(max) ~= "number" or min < 0 or max < min then
    error("between(min, max): expected 0 <= min <= max, got " .. tostring(min) .. ", " .. tostring(max), 2)
  end
  local span = max - min
  return function() return min + random() * span end
end

--- Waits the same time after each task.
function M.constant(seconds)
  if type(seconds) ~= "number" or seconds < 0 then
    error("constant(seconds): expected a number >= 0, got " .. tostring(seconds), 2)
  end
  return function() return seconds end
end

--- Makes each task start `seconds` after the previous one started (when the task is shorter).
function M.constant_pacing(seconds)
  if type(seconds) ~= "number" or seconds < 0 then
    error("constant_pacing(seconds): expected a number >= 0, got " .. tostring(seconds), 2)
  end
  return function(self)
    local left = seconds - (now() - self._task_started)
    return left > 0 and left or 0
  end
end

--- Runs at most `rate` tasks per second per user.
function M.constant_throughput(rate)
  if type(rate) ~= "number" or rate <= 0 then
    error("constant_throughput(rate): expected a number > 0, got " .. tostring(rate), 2)
  end
  return M.constant_pacing(1 / rate)
end

-- Utilities ----------------------------------------------------------------------------------

--- Suspends the running user for `seconds` without blocking anything else.
function M.sleep(seconds)
  core.sleep(seconds)
  yield()
end

--- Monotonic time in seconds (for measuring; not wall-clock time).
M.time = now
M.json = { encode = core.json_encode, decode = core.json_decode, null = core.null }
M.tcp = core.tcp            -- raw TCP/TLS sockets for any protocol (see docs/scenarios.md)
M.data = core.data          -- data files shared by every user of the process

--- Counts a measured request of any protocol in the statistics (Locust's events.request.fire):
--- { type =, name =, response_time = milliseconds, length = bytes, error = nil or text }.
M.record = function(t) core.record(t.type, t.name, t.response_time, t.length or 0, t.error) end

-- HTTP client --------------------------------------------------------------------------------

local Response = {}
local response_get = {}

function response_get.headers(r)
  local h = core.parse_headers(r._raw)
  r.headers = h
  return h
end

function response_get.url(r)
  local u = core.full_url(r._target)
  r.url = u
  return u
end

Response.__index = function(r, k)
  local get = response_get[k]
  if get then return get(r) end
  return Response[k]
end

--- Decodes the body as JSON; raises a clear error when it is not JSON.
function Response:json()
  local ok, v = pcall(core.json_decode, self.body)
  if not ok then error("response body is not valid JSON: " .. tostring(v), 2) end
  return v
end

local Client = {}
Client.__index = Client

--- Sends a request and waits for its response (the user yields; other users run meanwhile).
function Client:request(method, url, opts)
  local name, failed = send(method, url, opts)
  if failed then
    return setmetatable({ status = 0, body = "", elapsed = 0, error = failed, _raw = "",
                          ok = false, name = name, _target = url }, Response)
  end
  local status, body, elapsed, err, raw = yield()
  return setmetatable({
    status = status, body = body, elapsed = elapsed, error = err, _raw = raw,
    ok = err == nil and status < 400, name = name, _target = url,
  }, Response)
end

for _, m in ipairs { "get", "post", "put", "patch", "delete", "head", "options" } do
  local method = m:upper()
  Client[m] = function(self, url, opts) return self:request(method, url, opts) end
end

local client = setmetatable({}, Client)   -- the session is the running user's, kept in C

-- User classes -------------------------------------------------------------------------------

local function check_class(name, def)
  if type(name) ~= "string" or name == "" then
    error("cicada.user(name, definition): name must be a non-empty string", 3)
  end
  if classes[name] then error("user class '" .. name .. "' is defined twice", 3) end
  if def ~= nil and type(def) ~= "table" then
    error("cicada.user('" .. name .. "', definition): definition must be a table", 3)
  end
  def = def or {}
  if def.weight ~= nil and (type(def.weight) ~= "number" or def.weight < 0) then
    error("user class '" .. name .. "': weight must be a number >= 0", 3)
  end
  if def.wait_time ~= nil and type(def.wait_time) ~= "function" then
    error("user class '" .. name .. "': wait_time must be a function (e.g. cicada.between(1, 2))", 3)
  end
  return def
end

--- Declares a user class. `definition` holds weight, host, wait_time, tasks, on_start,
--- on_stop; task methods may be added to the returned table afterwards.
function M.user(name, def)
  def = check_class(name, def)
  def.name = name
  classes[#classes + 1] = def
  classes[name] = def
  def.__index = def
  return def
end

-- Turns a class's `tasks` into a list in which each task appears `weight` times (as Locust
-- does), so picking one is a single random index.
local function task_entry(class, key, spec)
  local fn, weight = nil, 1
  if type(spec) == "number" then
    fn, weight = class[key], spec
  elseif type(spec) == "function" then
    fn = spec
  elseif type(spec) == "table" then
    fn, weight = spec[1] or spec.fn or class[key], spec.weight or 1
  end
  if type(fn) ~= "function" then
    error("user class '" .. class.name .. "': task '" .. tostring(key) ..
      "' is not a function (define function " .. class.name .. ":" .. tostring(key) .. "(), or give one)", 0)
  end
  if type(weight) ~= "number" or weight < 0 or weight ~= floor(weight) then
    error("user class '" .. class.name .. "': task '" .. tostring(key) .. "' weight must be a whole number >= 0", 0)
  end
  return fn, weight
end

local function prepare(class)
  local tasks = class.tasks
  if type(tasks) ~= "table" or next(tasks) == nil then
    error("user class '" .. class.name .. "' has no tasks (set tasks = { method_name = weight, ... })", 0)
  end
  local keys = {}
  for k, v in pairs(tasks) do
    if type(k) == "number" then keys[#keys + 1] = { v, 1 } else keys[#keys + 1] = { k, v } end
  end
  table.sort(keys, function(a, b) return tostring(a[1]) < tostring(b[1]) end)
  local list, names, weights = {}, {}, {}
  for _, kv in ipairs(keys) do
    local fn, w = task_entry(class, kv[1], kv[2])
    for _ = 1, w do list[#list + 1] = fn end
    names[#names + 1], weights[#weights + 1] = tostring(kv[1]), w
  end
  if #list == 0 then error("user class '" .. class.name .. "': every task has weight 0", 0) end
  class._list, class._task_names, class._task_weights = list, names, weights
  class.wait_time = class.wait_time or M.constant(0)
end

-- Called by the engine once the scenario has loaded: validates every class and returns
-- their descriptions { name, weight, host }.
function M._prepare()
  if #classes == 0 then error("the scenario defines no user class (use cicada.user)", 0) end
  local out = {}
  for i, class in ipairs(classes) do
    prepare(class)
    out[i] = { name = class.name, weight = class.weight or 1, host = class.host,
               fixed_count = class.fixed_count or 0, insecure = class.insecure and 1 or 0 }
  end
  return out
end

-- The user loop ------------------------------------------------------------------------------

local function on_error(e)
  return { msg = tostring(e), tb = traceback(tostring(e), 2) }
end

local function protected(fn, self)
  local ok, e = xpcall(fn, on_error, self)
  if not ok then core.exception(e.msg, e.tb) end
end

-- The body of a user's coroutine: on_start, then tasks picked by weight with waits between,
-- until the engine stops the user.
function M._run(class_index)
  local class = classes[class_index]
  local self = setmetatable({ client = client, host = core.host(), _task_started = now() }, class)
  core.set_self(self)
  if class.on_start then protected(class.on_start, self) end
  local list, n, wait = class._list, #class._list, class.wait_time
  while not core.stopping() do
    self._task_started = now()
    protected(list[random(n)], self)
    if core.stopping() then break end
    local ok, w = xpcall(wait, on_error, self)
    if not ok then core.exception(w.msg, w.tb); w = 1 end
    if type(w) ~= "number" then
      core.exception("wait_time of '" .. class.name .. "' returned " .. type(w) .. ", not seconds", "")
      w = 1
    end
    -- Even a zero wait lets the loop turn (as Locust's gevent.sleep(0)): a task that never
    -- waits on I/O, such as socket calls answered at once, must not starve the other users.
    core.wait(w > 0 and w or 0); yield()
  end
  if class.on_stop then protected(class.on_stop, self) end
end

-- Runs on_stop for a user whose coroutine was abandoned (stopped while waiting).
function M._stop(class_index, self)
  local class = classes[class_index]
  if class.on_stop then protected(class.on_stop, self) end
end

return M
