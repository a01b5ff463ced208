-- The scenario library (`require "cicada"`): user classes, task groups, wait times, events,
-- load shapes, the HTTP client object and the loop every simulated user runs. The engine
-- passes its core functions as `...`; see docs/scenarios.md for the user's view.
local core = ...

local yield, random, floor = coroutine.yield, math.random, math.floor
local type, pairs, ipairs, tostring, error, next = type, pairs, ipairs, tostring, error, next
local select, unpack = select, unpack
local setmetatable, getmetatable, xpcall, traceback = setmetatable, getmetatable, xpcall, debug.traceback
local send, now, stopping, core_wait = core.send, core.now, core.stopping, core.wait
local table_new = require "table.new"
-- The loop's usual wait, called through the FFI so that LuaJIT compiles the call into the
-- loop's trace (a C function would end the trace there): (user handle, seconds) -> 0 go on,
-- 1 yield, 2 stop. Without the FFI, the same through core.wait.
local has_ffi, ffi = pcall(require, "ffi")
local ffi_wait = has_ffi and ffi.cast("int (*)(void *, double)", core.ffi_wait) or function(_, s)
  local go = core_wait(s)
  return go and 1 or go == false and 2 or 0
end
local concat, sort = table.concat, table.sort

local M = { _VERSION = core.version }
local classes = {}        -- user classes in declaration order, and by name

-- The wait functions made by the library that the user loop need not protect: for each, the
-- seconds it always returns (constant), or true (between). The loop calls them directly (or
-- not at all) and skips reading the clock for them, since only pacing uses a task's start.
local known_waits = setmetatable({}, { __mode = "k" })

-- Control signals: raised as error objects by interrupt(), stop_user() and reschedule(), they
-- unwind the user's code up to the loop that handles them; they are never counted as errors.
local INTERRUPT, INTERRUPT_NOW, STOP_USER, RESCHEDULE = {}, {}, {}, {}
local signals = { [INTERRUPT] = true, [INTERRUPT_NOW] = true, [STOP_USER] = true, [RESCHEDULE] = true }

local function check_number(v, what, min)
  if type(v) ~= "number" or v < min or v ~= v then
    error(what .. ": expected a number >= " .. min .. ", got " .. tostring(v), 3)
  end
end

-- Wait times ---------------------------------------------------------------------------------

--- Waits a random time between min and max seconds after each task.
function M.between(min, max)
  check_number(min, "between(min, max)", 0)
  check_number(max, "between(min, max)", min)
  local span = max - min
  local fn = function() return min + random() * span end
  known_waits[fn] = true
  return fn
end

--- Waits the same time after each task.
function M.constant(seconds)
  check_number(seconds, "constant(seconds)", 0)
  local fn = function() return seconds end
  known_waits[fn] = seconds
  return fn
end

--- Makes each task start `seconds` after the previous one started (when the task is shorter).
--- This is a schedule: a task that starts late (the one before it ran longer) has its
--- requests measured from when it should have started, and their service times beside.
function M.constant_pacing(seconds)
  check_number(seconds, "constant_pacing(seconds)", 0)
  local set_lag = core.set_lag
  return function(self)
    local left = seconds - (now() - self._task_started)
    set_lag(left < 0 and -left or 0)
    return left > 0 and left or 0
  end
end

--- Runs at most `rate` tasks per second per user.
function M.constant_throughput(rate)
  check_number(rate, "constant_throughput(rate)", 0)
  if rate == 0 then error("constant_throughput(rate): rate must be > 0", 2) end
  return M.constant_pacing(1 / rate)
end

-- Events -------------------------------------------------------------------------------------

local Event = {}
Event.__index = Event

--- Adds a listener; returns it, so that it can be removed.
function Event:add(fn)
  if type(fn) ~= "function" then error("events." .. self.name .. ":add(fn): fn must be a function", 2) end
  self[#self + 1] = fn
  self._active = true
  return fn
end

function Event:remove(fn)
  for i = #self, 1, -1 do if self[i] == fn then table.remove(self, i) end end
  self._active = self[1] ~= nil
end

local function listener_error(e)
  return tostring(e) .. "\n" .. traceback("", 2):sub(2)
end

--- Calls every listener with the arguments; a failing listener is reported and the others run.
function Event:fire(...)
  for i = 1, #self do
    local ok, err = xpcall(self[i], listener_error, ...)
    if not ok then
      core.exception("error in a listener of events." .. self.name .. ": " .. err:match("^[^\n]*"), err)
    end
  end
end

M.events = {}
for _, name in ipairs { "init", "test_start", "test_stop", "request", "spawning_complete",
                        "user_error", "quitting" } do
  -- _active (whether the event has listeners) is what the hot path tests: a present field is
  -- read at once, where a missing one ([1] of an empty event) goes through the metatable.
  M.events[name] = setmetatable({ name = name, _active = false }, Event)
end
local request_event, user_error_event = M.events.request, M.events.user_error

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

-- WebSocket connections (see docs/scenarios.md). Their statistics rows (the handshake, the
-- messages, the round trips) are recorded in C; when the request event has listeners, the rows
-- an operation recorded fire it once the operation is over, as an HTTP request's does.
local ws_rows = core.websocket_rows

local function fire_ws(ws, keep, ...)
  local rows = ws_rows(ws)
  for i = 1, #rows do
    local row = rows[i]
    request_event:fire { request_type = row[1], name = row[2], response_time = row[3],
                         response_length = row[4], exception = row[5] }
  end
  return ...
end

-- keep (a round trip's name among them) stays referenced while its row is read.
for _, m in ipairs { "send", "send_binary", "receive", "request", "ping", "close" } do
  local f = core.websocket_methods[m]
  core.websocket_methods[m] = function(ws, a, b, c)
    if not request_event._active then return f(ws, a, b, c) end
    return fire_ws(ws, a, f(ws, a, b, c))
  end
end

local function websocket(url, opts)
  if not request_event._active then return core.websocket(url, opts) end
  local ws, err, status, failed = core.websocket(url, opts, true)
  if ws or failed then fire_ws(ws or failed, nil) end
  if ws then return ws end
  return nil, err, status
end
M.websocket = websocket
M.data = core.data          -- data files shared by every user of the process
M.random = core.random

--- Records a measured request of any protocol in the statistics (Locust's
--- events.request.fire): { type =, name =, response_time = ms, length = bytes, error = text }.
--- With generator_error = true, a request that could not be sent for a local reason (the
--- third result of a failed sock:connect is "generator"): counted apart, with its error, as
--- a generator error rather than a request, and no request event fires.
function M.record(r)
  if type(r) ~= "table" or type(r.type) ~= "string" or type(r.name) ~= "string"
      or type(r.response_time) ~= "number" then
    error("record{ type = string, name = string, response_time = ms [, length, error] }", 2)
  end
  local err = r.error
  if err ~= nil and err ~= false then err = tostring(err) else err = nil end
  if r.generator_error then
    if err == nil then error("record: generator_error needs the error text (error =)", 2) end
    core.record(r.type, r.name, r.response_time, 0, err, true)
    return
  end
  core.record(r.type, r.name, r.response_time, r.length or 0, err)
  if request_event._active then
    request_event:fire { request_type = r.type, name = r.name, response_time = r.response_time,
                         response_length = r.length or 0, exception = err }
  end
end

--- Stops the running user (its on_stop runs); Locust's StopUser.
function M.stop_user() error(STOP_USER, 0) end
--- Ends the current task and starts the next one at once, without waiting.
function M.reschedule() error(RESCHEDULE, 0) end
--- Stops the whole test (every user's on_stop runs, then the final report).
function M.stop_test(reason) core.stop_test(reason and tostring(reason) or "stopped by the scenario") end

-- Custom messages ----------------------------------------------------------------------------
-- Locust's runner.send_message / register_message between the master's scenario code and the
-- workers'. Data travels as JSON text inside the process and as msgpack on the wire.

-- The protocol's own types: a handler of one would never run, and a send would confuse the peer.
local PROTOCOL_TYPES = {}
for _, t in ipairs { "client_ready", "ack", "heartbeat", "spawn", "spawning", "spawning_complete",
                     "stats", "stop", "client_stopped", "quit", "reconnect", "exception",
                     "locustfile", "logs", "update_user_class" } do
  PROTOCOL_TYPES[t] = true
end

local function check_message_type(fname, msg_type)
  if type(msg_type) ~= "string" or msg_type == "" then
    error(fname .. ": the message type must be a non-empty string", 3)
  end
  if PROTOCOL_TYPES[msg_type] then
    error(fname .. ": '" .. msg_type .. "' is a message type of Locust's protocol; choose another", 3)
  end
end

local message_handlers = {}

--- Registers fn(data, from) as the handler of messages of msg_type (one per type: a second
--- registration replaces the first, as Locust 2.12's register_message).
function M.on_message(msg_type, fn)
  check_message_type("on_message(type, fn)", msg_type)
  if type(fn) ~= "function" then error("on_message(type, fn): fn must be a function", 2) end
  message_handlers[msg_type] = fn
end

--- Sends a message: from a worker to the master; from the master to every worker, or to the
--- worker whose node id is `to`. data is any JSON-able value (nil included).
function M.send_message(msg_type, data, to)
  check_message_type("send_message(type, data [, to])", msg_type)
  if to ~= nil and type(to) ~= "string" then
    error("send_message(type, data [, to]): to must be a worker's node id (a string) or nil", 2)
  end
  local ok, json = pcall(core.json_encode, data)
  if not ok then error("send_message('" .. msg_type .. "'): data cannot travel as JSON: " .. tostring(json), 2) end
  core.send_message(msg_type, json, to)
end

--- Runs the handler of a message that arrived; false when no handler takes its type.
local unhandled_said = {}
function M._message(msg_type, json, from)
  local fn = message_handlers[msg_type]
  if not fn then
    -- Said once per type: a peer repeating a message nobody handles would flood the log.
    if unhandled_said[msg_type] then return true end
    unhandled_said[msg_type] = true
    return false
  end
  local data = core.json_decode(json)
  if data == core.null then data = nil end
  local ok, err = xpcall(fn, listener_error, data, from)
  if not ok then
    core.exception("error in the message handler of '" .. msg_type .. "': " .. err:match("^[^\n]*"), err)
  end
  return true
end

--- Declares a CI threshold, checked at the end of the run like --check-<metric> (a breach
--- exits with code 3): cicada.threshold("p95", "200ms"), cicada.threshold("fail-ratio", "1%"),
--- cicada.threshold("p99", "/api/items=1s").
M._thresholds = {}
function M.threshold(metric, spec)
  if type(metric) ~= "string" or (type(spec) ~= "string" and type(spec) ~= "number") then
    error("cicada.threshold(metric, spec): e.g. cicada.threshold(\"p95\", \"200ms\")", 2)
  end
  M._thresholds[#M._thresholds + 1] = { metric, tostring(spec) }
end

-- HTTP client --------------------------------------------------------------------------------

local Response = {}
local response_get = {}

-- A table of a flat { name, value, ... } array of fields, as core.parse_headers returns it.
local function fields_table(flat)
  local t = table_new(0, #flat / 2)
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- A function that returns a new table of the fields of a flat array each time it is called:
-- its table constructor holds them all as constants, so that LuaJIT makes each table as one
-- copy of a template (the TDUP instruction) instead of inserting the fields one by one.
local function fields_constructor(flat)
  local parts = {}
  for i = 1, #flat, 2 do
    parts[#parts + 1] = string.format("[%q] = %q", flat[i], flat[i + 1])
  end
  return assert(load("return function() return { " .. concat(parts, ", ") .. " } end",
                     "=headers"))()
end

-- The responses of a load often carry the very same headers (the same string): the last ones
-- parsed are kept as a flat array and copied into each response's table. Once the same block
-- has served HEADERS_TEMPLATE_AFTER responses (a Date header changes it once a second), the
-- copy is made by a constructor compiled for it, which costs a few hundred responses' copies
-- once and saves most of each copy from then on.
local HEADERS_TEMPLATE_AFTER = 256
local last_raw, last_headers, last_uses, last_constructor = nil, {}, 0, nil
function response_get.headers(r)
  local raw = r._raw
  if raw ~= last_raw then
    last_headers = core.parse_headers(raw)
    last_raw, last_uses, last_constructor = raw, 0, nil
  end
  local h
  if last_constructor then
    h = last_constructor()
  else
    last_uses = last_uses + 1
    if last_uses >= HEADERS_TEMPLATE_AFTER then last_constructor = fields_constructor(last_headers) end
    h = fields_table(last_headers)
  end
  r.headers = h
  return h
end

-- The fields after the body (RFC 9110 trailers), apart from the headers: {} when none came.
function response_get.trailers(r)
  local t = fields_table(core.parse_headers(r._raw, true))
  r.trailers = t
  return t
end

function response_get.url(r)
  local u = core.full_url(r._target)
  r.url = u
  return u
end

-- Only a redirected response has a history: the others make theirs on first use.
function response_get.history(r)
  local h = {}
  r.history = h
  return h
end

-- "HTTP/2" or "HTTP/1.1": an HTTP/2 response carries _h2, so that the usual one costs nothing.
function response_get.protocol(r)
  return r._h2 and "HTTP/2" or "HTTP/1.1"
end

function response_get.error(r)
  if r.status == 0 then return r._failure end
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

-- With catch_response, the script decides the outcome: success() or failure(message), the last
-- call winning (as in Locust, where the outcome is read when the `with` block ends). The
-- response is recorded when its task ends (settle), decided or as it stands.
local function record(r, err)
  core.record(r._method, r.name, r.elapsed * 1000, #r.body, err)
  if request_event._active then
    request_event:fire { request_type = r._method, name = r.name, response_time = r.elapsed * 1000,
                         response_length = #r.body, exception = err, response = r, url = r.url }
  end
end

function Response:success()
  self._decided = true
  self._verdict = nil
end

function Response:failure(message)
  self._decided = true
  self._verdict = message ~= nil and tostring(message) or "failure"
end

local Client = {}
Client.__index = Client

local function fire_request(method, name, r, err)
  request_event:fire { request_type = method, name = name, response_time = r.elapsed * 1000,
                       response_length = #r.body, exception = err, response = r, url = r.url }
end

-- A response holds eight fields, the size of the smallest hash part that fits them: headers,
-- url, error and history are derived on first use (see response_get), so that a response
-- costs one small table.
local function new_response(status, body, elapsed, failure, raw, name, target)
  return setmetatable({ status = status, body = body, elapsed = elapsed, ok = failure == nil,
                        name = name, _failure = failure, _raw = raw, _target = target }, Response)
end

-- An answer that came after its user was stopped at once: the engine awaits the requests in
-- flight to count them, but resumes nobody, so their request event fires here, outside the
-- user, with what a resumed request would have had (but a redirect's history).
core.set_late(function(protocol, a, name, url, status, body, elapsed, failure, raw, _, _, h2)
  if not request_event._active then return end
  if protocol == "websocket" then
    fire_ws(a, nil)
    return
  end
  local r = new_response(status, body, elapsed, failure, raw, name, url)
  if h2 then r._h2 = true end
  fire_request(a, name, r, failure)
end)

local function new_redirected(status, body, elapsed, failure, raw, name, target, history)
  local r = new_response(status, body, elapsed, failure, raw, name, target)
  r.history = history
  return r
end

-- The options of a redirect's next hop: 303 (and 301/302 after a POST) become a GET without
-- a body, as browsers and Python requests do.
local function next_hop(method, status, opts)
  if status == 303 and method ~= "HEAD" or (status == 301 or status == 302) and method == "POST" then
    local o = {}
    for k, v in pairs(opts or {}) do
      if k ~= "body" and k ~= "json" and k ~= "form" then o[k] = v end
    end
    return "GET", o
  end
  return method, opts
end

-- Follows redirects from the response that sent the user to `location`; returns the last.
local function follow(client, method, url, opts, name, status, body, elapsed, failure, raw, location)
  local history, current, h2 = {}, core.full_url(url), nil
  if opts and opts.params then   -- the query they made is in the URL redirected from
    local o = {}
    for k, v in pairs(opts) do if k ~= "params" then o[k] = v end end
    opts = o
  end
  while location do
    history[#history + 1] = new_response(status, body, elapsed, failure, raw, name, current)
    method, opts = next_hop(method, status, opts)
    current = core.resolve_url(current, location)
    local _, unsent = send(method, current, opts, client.headers, name, true)
    if unsent then return new_redirected(0, "", elapsed, unsent, "", name, current, history) end
    status, body, elapsed, failure, raw, location, _, h2 = yield()
  end
  local r = new_redirected(status, body, elapsed, failure, raw, name, current, history)
  if h2 then r._h2 = true end
  return r
end

--- Sends a request and waits for its response (the user yields; other users run meanwhile).
function Client:request(method, url, opts)
  local user = self._user
  local catch = opts and opts.catch_response
  if user._rename and not (opts and opts.name) then
    opts = opts or {}
    opts.name = user._rename
  end
  local name, unsent, generator = send(method, url, opts, self.headers)
  local r
  if unsent then
    r = new_response(0, "", 0, unsent, "", name, url)
  else
    local status, body, elapsed, failure, raw, location, h2
    status, body, elapsed, failure, raw, location, generator, h2 = yield()
    if location then
      r = follow(self, method, url, opts, name, status, body, elapsed, failure, raw, location)
    elseif failure == nil then -- the usual case, built here: ok is a constant of the template
      r = setmetatable({ status = status, body = body, elapsed = elapsed, ok = true, name = name,
                         _raw = raw, _target = url }, Response)
    else
      r = new_response(status, body, elapsed, failure, raw, name, url)
    end
    if h2 then r._h2 = true end
  end
  if generator then -- counted apart already: neither a request nor the script's to decide
    r.generator_error = true
    return r
  end
  if catch then
    r._method = method
    local pending = user._pending
    pending[#pending + 1] = r
    return r
  end
  if request_event._active then fire_request(method, name, r, r._failure) end
  return r
end

for _, m in ipairs { "get", "post", "put", "patch", "delete", "head", "options" } do
  local method = m:upper()
  Client[m] = function(self, url, opts) return self:request(method, url, opts) end
end

-- One request of a batch as (method, url, opts): "/path" (a GET), { method, url [, opts] },
-- or { method = , url = , <options> }.
local function batch_item(spec, i)
  if type(spec) == "string" then return "GET", spec, nil end
  if type(spec) ~= "table" then
    error("client:batch(requests): request " .. i .. " must be a URL or a table, not " .. type(spec), 3)
  end
  if spec[1] ~= nil then
    if type(spec[1]) ~= "string" or type(spec[2]) ~= "string" then
      error("client:batch(requests): request " .. i .. " must be { method, url [, options] }", 3)
    end
    return spec[1], spec[2], spec[3]
  end
  if type(spec.url) ~= "string" then
    error("client:batch(requests): request " .. i .. " has no url", 3)
  end
  local opts
  for k, v in pairs(spec) do
    if k ~= "method" and k ~= "url" then
      opts = opts or {}
      opts[k] = v
    end
  end
  return spec.method or "GET", spec.url, opts
end

--- Sends the requests concurrently and returns their responses in the same order, once all
--- have answered. Each request is a request of its own: counted, timed from when it goes on
--- a connection, redirected and decoded as by client:request. Over HTTP/1.1 a user opens at
--- most connections_per_host connections to one host (the class's, 6 by default; opts may
--- say otherwise for this batch); the requests beyond wait for one of them to be free.
function Client:batch(reqs, opts)
  if type(reqs) ~= "table" then error("client:batch(requests [, options]): requests must be a list", 2) end
  local per_host = opts and opts.connections_per_host
  local g = M.waitgroup()
  for i = 1, #reqs do
    local method, url, o = batch_item(reqs[i], i)
    if per_host and not (o and o.connections_per_host) then
      local copy = { connections_per_host = per_host }
      for k, v in pairs(o or {}) do copy[k] = v end
      o = copy
    end
    g:go(self.request, self, method, url, o)
  end
  return g:_collect()
end

--- The user's cookies as { name = value } (a copy), and a way to forget them all.
function Client:cookies() return core.cookies() end
function Client:clear_cookies() core.clear_cookies() end

--- Counts every request made inside fn under one name (Locust's rename_request).
function Client:rename(name, fn)
  local user = self._user
  local previous = user._rename
  user._rename = name
  local ok, e = pcall(fn)
  user._rename = previous
  if not ok then error(e, 0) end
end

-- Records the catch_response responses of a task that ended: as decided last, else as they
-- stand.
local function settle(user)
  local pending = user._pending
  for i = 1, #pending do
    local r = pending[i]
    pending[i] = nil
    if r._decided then record(r, r._verdict) else record(r, r._failure) end
  end
end

-- User classes and task groups ---------------------------------------------------------------

-- What every user can do, whatever its class: the root of every class's method lookup.
local UserBase = {}
UserBase.__index = UserBase

--- Leaves the current task group; with reschedule, the parent's next task starts at once.
function UserBase:interrupt(reschedule) error(reschedule and INTERRUPT_NOW or INTERRUPT, 0) end
function UserBase:stop() error(STOP_USER, 0) end

--- Opens a WebSocket connection: url as cicada.websocket takes it, or a path ("/chat") on the
--- user's host, its http(s) scheme turned into ws(s).
function UserBase:websocket(url, opts)
  if type(url) == "string" and url:sub(1, 1) == "/" then
    local host = self.host
    if type(host) ~= "string" or host == "" then
      error("self:websocket(" .. url .. "): a path needs a host (-H or the class's host)", 2)
    end
    url = host:gsub("^http", "ws", 1):gsub("/+$", "") .. url
  end
  return websocket(url, opts)
end

local function class_error(def, msg)
  error("user class '" .. tostring(def.name) .. "': " .. msg, 4) -- at the cicada.user() call
end

local function check_definition(name, def)
  if type(name) ~= "string" or name == "" then
    error("cicada.user(name, definition): name must be a non-empty string", 3)
  end
  local other = classes[name] and classes[name]._file
  if other and other ~= M._file then
    error("user class '" .. name .. "' is defined in both " .. other .. " and " .. tostring(M._file), 3)
  end
  if classes[name] then error("user class '" .. name .. "' is defined twice", 3) end
  if def ~= nil and type(def) ~= "table" then
    error("cicada.user('" .. name .. "', definition): definition must be a table", 3)
  end
  def = def or {}
  def.name = name
  if def.weight ~= nil and (type(def.weight) ~= "number" or def.weight < 0) then
    class_error(def, "weight must be a number >= 0")
  end
  if def.fixed_count ~= nil and (type(def.fixed_count) ~= "number" or def.fixed_count < 0
      or def.fixed_count ~= floor(def.fixed_count)) then
    class_error(def, "fixed_count must be a whole number >= 0")
  end
  if def.wait_time ~= nil and type(def.wait_time) ~= "function" then
    class_error(def, "wait_time must be a function (e.g. cicada.between(1, 2))")
  end
  if def.extends ~= nil and (type(def.extends) ~= "table" or not def.extends._is_class) then
    class_error(def, "extends must be a class made by cicada.user")
  end
  local t = def.timeout
  if t ~= nil and t ~= false and (type(t) ~= "number" or not (t >= 0)) then
    class_error(def, "timeout must be a number of seconds >= 0 (0 or false: no limit), not " ..
                     tostring(t))
  end
  local ph = def.connections_per_host
  if ph ~= nil and (type(ph) ~= "number" or ph < 1 or ph > 1000 or ph ~= floor(ph)) then
    class_error(def, "connections_per_host must be a whole number from 1 to 1000, not " .. tostring(ph))
  end
  local h2 = def.http2
  if h2 ~= nil and type(h2) ~= "boolean" and h2 ~= "prior-knowledge" then
    class_error(def, 'http2 must be true, false or "prior-knowledge", not ' .. tostring(h2))
  end
  local mb = def.max_body
  if mb ~= nil and mb ~= false and (type(mb) ~= "number" or not (mb >= 0 and mb <= 1e15)
      or mb ~= floor(mb)) then
    class_error(def, "max_body must be a whole number of bytes >= 0 (false: no limit), not " ..
                     tostring(mb))
  end
  return def
end

--- Declares a user class. `definition` holds weight, fixed_count, host, wait_time, tasks,
--- headers, on_start, on_stop, abstract and extends (a base class to inherit from); task
--- methods may be added to the returned table afterwards.
function M.user(name, def)
  def = check_definition(name, def)
  def._is_class = true
  def._file = M._file -- the -f file defining it, when -f names several
  def.__index = def
  setmetatable(def, { __index = def.extends or UserBase })
  if rawget(def, "abstract") == nil then def.abstract = false end
  classes[#classes + 1] = def
  classes[name] = def
  return def
end

local function make_group(def, sequential)
  if type(def) ~= "table" then error("a task group is defined by a table", 3) end
  if def.wait_time ~= nil and type(def.wait_time) ~= "function" then
    error("task group: wait_time must be a function", 3)
  end
  def._is_group, def._sequential = true, sequential
  return def
end

--- A nested group of tasks (Locust's TaskSet): once picked, the user runs the group's tasks
--- until one of them calls self:interrupt().
function M.group(def) return make_group(def, false) end

--- A group whose tasks run in the order declared, over and over (SequentialTaskSet).
function M.sequence(def) return make_group(def, true) end

--- Attaches tags to a task or group: tasks = { index = cicada.tag({"web"}, 3) }.
function M.tag(tags, task)
  return { weight = type(task) == "number" and task or nil, tags = tags,
           type(task) ~= "number" and task or nil }
end

-- Task preparation: tasks declared in many forms become flat lists of entries in which each
-- task appears `weight` times (so picking is one random index), filtered by -T/-E tags.

local include_tags, exclude_tags = {}, {}
local has_include = false
for t in (core.tags or ""):gmatch("[^,%s]+") do include_tags[t], has_include = true, true end
for t in (core.exclude_tags or ""):gmatch("[^,%s]+") do exclude_tags[t] = true end

local function tag_set(parent, tags)
  if not tags then return parent end
  local set = {}
  for t in pairs(parent) do set[t] = true end
  for _, t in ipairs(tags) do set[t] = true end
  return set
end

local function tags_allow(set)
  for t in pairs(set) do if exclude_tags[t] then return false end end
  if not has_include then return true end
  for t in pairs(set) do if include_tags[t] then return true end end
  return false
end

-- Resolves one declared task into (target, weight, tags): target is a function or a group.
local function resolve_task(owner, key, spec, where)
  local target, weight, tags = nil, 1, nil
  if type(spec) == "number" then
    target, weight = owner[key], spec
  elseif type(spec) == "function" then
    target = spec
  elseif type(spec) == "string" then
    target = owner[spec]
    key = spec
  elseif type(spec) == "table" and spec._is_group then
    target, weight, tags = spec, spec.weight or 1, spec.tags
  elseif type(spec) == "table" then
    target = spec[1] or spec.fn or owner[key]
    weight, tags = spec.weight or 1, spec.tags
  end
  if type(target) ~= "function" and not (type(target) == "table" and target._is_group) then
    error(where .. ": task '" .. tostring(key) .. "' is not a function or group (define " ..
          "function " .. where:match("'(.*)'") .. ":" .. tostring(key) .. "(), or give one)", 0)
  end
  if type(weight) ~= "number" or weight < 0 or weight ~= floor(weight) then
    error(where .. ": task '" .. tostring(key) .. "' weight must be a whole number >= 0", 0)
  end
  return target, weight, tags, tostring(key)
end

local prepare_node

-- Lists a node's tasks in a stable order: array entries in order, then named ones by name.
local function declared(node, where)
  local tasks = node.tasks
  if type(tasks) ~= "table" or next(tasks) == nil then
    error(where .. " has no tasks (set tasks = { method_name = weight, ... })", 0)
  end
  local out, named = {}, {}
  for i, spec in ipairs(tasks) do out[#out + 1] = { i, spec } end
  for k, spec in pairs(tasks) do
    if type(k) ~= "number" then named[#named + 1] = { k, spec } end
  end
  sort(named, function(a, b) return tostring(a[1]) < tostring(b[1]) end)
  for _, kv in ipairs(named) do out[#out + 1] = kv end
  return out
end

-- Builds node's prepared form: { _list, _entries, _sequential, wait_time, ... }. Groups are
-- copied per place of use, since the tags they inherit may differ.
function prepare_node(owner, node, inherited, wait_time, where, depth)
  if depth > 20 then error(where .. ": task groups nested too deep (a cycle?)", 0) end
  local prepared = { _list = {}, _entries = {}, _sequential = node._sequential,
                     wait_time = node.wait_time or wait_time, _node = node }
  for _, kv in ipairs(declared(node, where)) do
    local target, weight, tags, name = resolve_task(owner, kv[1], kv[2], where)
    local set = tag_set(inherited, tags)
    if type(target) == "table" then
      local sub = prepare_node(target, target, tag_set(set, target.tags), prepared.wait_time,
                               where .. " group '" .. name .. "'", depth + 1)
      if #sub._list > 0 then target = sub else target = nil end
    elseif not tags_allow(set) then
      target = nil
    end
    if target and weight > 0 then
      local list = prepared._list
      for _ = 1, (node._sequential and 1 or weight) do list[#list + 1] = target end
      prepared._entries[#prepared._entries + 1] = { name = name, weight = weight, target = target }
    end
  end
  return prepared
end

-- --equal-weights, as Locust's assign_equal_weights(): every task function reachable from the
-- class (through groups and sequences, which are dissolved) once, each equally likely.
local function flatten(root)
  local flat = { _list = {}, _entries = {}, wait_time = root.wait_time, _node = root._node }
  local seen = {}
  local function walk(node)
    for _, e in ipairs(node._entries) do
      if type(e.target) == "table" then
        walk(e.target)
      elseif not seen[e.target] then
        seen[e.target] = true
        flat._list[#flat._list + 1] = e.target
        flat._entries[#flat._entries + 1] = { name = e.name, weight = 1, target = e.target }
      end
    end
  end
  walk(root)
  return flat
end

-- --config-users, as Locust 2.21's update_user_class(): per class, its settings replace the
-- class's fields (weight, fixed_count, host, or any other the class reads as self.<key>), and
-- "tasks" keeps only the named tasks of the class's own list.
local function read_config_users()
  local text = core.config_users
  if text == nil or text == "" then return {} end
  if not text:match("^%s*[%[{]") then
    local f, err = io.open(text, "r")
    if not f then error("--config-users: cannot read " .. tostring(err), 0) end
    text = f:read("*a")
    f:close()
  end
  local ok, cfg = pcall(core.json_decode, text)
  if not ok or type(cfg) ~= "table" then
    error("--config-users: not a JSON object or array: " .. tostring(cfg), 0)
  end
  if cfg.user_class_name ~= nil then cfg = { cfg } end
  return cfg
end

local function check_setting(where, key, v)
  local count = key == "fixed_count" or key == "weight"
  if count and (type(v) ~= "number" or v < 0 or v ~= floor(v)) then
    error(where .. ": " .. key .. " must be a whole number >= 0", 0)
  elseif key == "host" and type(v) ~= "string" then
    error(where .. ": host must be a string", 0)
  elseif key == "tasks" and (type(v) ~= "table" or (next(v) ~= nil and #v == 0)) then
    error(where .. ": tasks must be an array of task names", 0)
  end
end

-- Applies the settings to the classes in list; returns {class = {task name = true}} for the
-- classes whose tasks were narrowed.
local function apply_config_users(list)
  local by_name, keep = {}, {}
  for _, class in ipairs(list) do by_name[class.name] = class end
  for i, c in ipairs(read_config_users()) do
    local where = "--config-users entry " .. i
    if type(c) ~= "table" or type(c.user_class_name) ~= "string" then
      error(where .. ": user_class_name is missing", 0)
    end
    local class = by_name[c.user_class_name]
    if not class then error(where .. ": unknown user class '" .. c.user_class_name .. "' (see --list)", 0) end
    where = where .. " (" .. class.name .. ")"
    for key, v in pairs(c) do
      check_setting(where, key, v)
      if key == "tasks" then
        keep[class] = {}
        for _, name in ipairs(v) do keep[class][tostring(name)] = true end
      elseif key ~= "user_class_name" then
        class[key] = v
      end
    end
  end
  return keep
end

-- The names a class's own task list declares (as -l shows them).
local function task_names(class, where)
  local names = {}
  for _, kv in ipairs(declared(class, where)) do
    names[type(kv[2]) == "string" and kv[2] or tostring(kv[1])] = true
  end
  return names
end

-- Keeps root's tasks named in want (the class's own list, before --equal-weights dissolves it).
local function narrow(root, class, want, where)
  local known = task_names(class, where)
  for name in pairs(want) do
    if not known[name] then error("--config-users: " .. where .. " has no task '" .. name .. "'", 0) end
  end
  local out = { _list = {}, _entries = {}, _sequential = root._sequential,
                wait_time = root.wait_time, _node = root._node }
  for _, e in ipairs(root._entries) do
    if want[e.name] then
      out._entries[#out._entries + 1] = e
      for _ = 1, (root._sequential and 1 or e.weight) do out._list[#out._list + 1] = e.target end
    end
  end
  return out
end

-- The open model's settings of a class: whether its users run on arrivals, its own rate, its
-- backlog (a class's own, else --arrival-backlog, else 100000 arrivals).
local function open_settings(class, where)
  local rate, backlog = class.arrival_rate, class.arrival_backlog
  if rate ~= nil and (type(rate) ~= "number" or rate < 0 or rate ~= rate) then
    error(where .. ": arrival_rate must be a number of iterations per second >= 0", 0)
  end
  if backlog ~= nil and (type(backlog) ~= "number" or backlog < 0 or backlog ~= floor(backlog)) then
    error(where .. ": arrival_backlog must be a whole number >= 0", 0)
  end
  if backlog == nil then backlog = core.arrival_backlog >= 0 and core.arrival_backlog or 100000 end
  class._open = rate ~= nil or core.arrival_rate > 0 or M._open_shape == true
  return class._open and 1 or 0, rate, backlog
end

local function prepare_class(class, want)
  local where = "user class '" .. class.name .. "'"
  if class.host ~= nil and type(class.host) ~= "string" then error(where .. ": host must be a string", 0) end
  local root = prepare_node(class, class, tag_set({}, class.tags), class.wait_time or M.constant(0), where, 0)
  if want then root = narrow(root, class, want, where) end
  if core.equal_weights then root = flatten(root) end
  class._root = root
  class._runnable = #root._list > 0
end

local function runnable_classes()
  local out = {}
  for _, class in ipairs(classes) do
    if not rawget(class, "abstract") then out[#out + 1] = class end
  end
  return out
end

-- Called by the engine once the scenario has loaded: validates every class and returns the
-- descriptions of those that can run.
function M._prepare()
  local list = runnable_classes()
  if #list == 0 then error("the scenario defines no user class to run (use cicada.user)", 0) end
  local out, keep = {}, apply_config_users(list)
  for _, class in ipairs(list) do
    prepare_class(class, keep[class])
    local weight = core.equal_weights and 1 or class.weight or 1
    local open, rate, backlog = open_settings(class, "user class '" .. class.name .. "'")
    out[#out + 1] = { name = class.name, weight = weight, host = class.host, open = open,
                      arrival_rate = rate, arrival_backlog = backlog,
                      fixed_count = class.fixed_count or 0, insecure = class.insecure and 1 or 0,
                      timeout = class.timeout == false and 0 or class.timeout,
                      max_body = class.max_body == false and math.huge or class.max_body,
                      per_host = class.connections_per_host,
                      http2 = class.http2 == nil and -1 or class.http2 == false and 1
                              or class.http2 == "prior-knowledge" and 2 or 0,
                      runnable = class._runnable and 1 or 0 }
  end
  M._runnable = list
  return out
end

-- Task ratios (for --show-task-ratio and the web UI): per class, the share of each task.
local function ratio_lines(node, share, indent, lines)
  local total = 0
  for _, e in ipairs(node._entries) do total = total + e.weight end
  for _, e in ipairs(node._entries) do
    local r = node._sequential and share / #node._entries or share * e.weight / total
    lines[#lines + 1] = string.format("%s%6.1f%%  %s", indent, r * 100, e.name)
    if type(e.target) == "table" then ratio_lines(e.target, r, indent .. "    ", lines) end
  end
end

local function class_weight(class)
  return core.equal_weights and 1 or class.weight or 1
end

function M._task_ratio(selected)
  local lines, total = {}, 0
  for _, class in ipairs(M._runnable) do
    if selected[class.name] then total = total + class_weight(class) end
  end
  for _, class in ipairs(M._runnable) do
    if selected[class.name] then
      local share = total > 0 and class_weight(class) / total or 0
      lines[#lines + 1] = string.format("%6.1f%%  %s", share * 100, class.name)
      ratio_lines(class._root, 1, "    ", lines)
    end
  end
  return concat(lines, "\n")
end

-- Locust's /tasks document and --show-task-ratio-json: {"per_class": {class: {"ratio", "tasks":
-- {task: {"ratio", "tasks"?}}}}, "total": the same with every ratio a share of the whole load}.
-- Within per_class, a group's tasks are shares of the group, as Locust nests them.
local function ratio_tree(node, share, total)
  local out, sum = {}, 0
  for _, e in ipairs(node._entries) do sum = sum + e.weight end
  for _, e in ipairs(node._entries) do
    local r = node._sequential and share / #node._entries or share * e.weight / sum
    local d = out[e.name] or { ratio = 0 }
    d.ratio = d.ratio + r
    if type(e.target) == "table" then d.tasks = ratio_tree(e.target, total and r or 1, total) end
    out[e.name] = d
  end
  return out
end

-- counts: {class = users running} (the web UI's /tasks), or {class = true} for the classes
-- selected (--show-task-ratio-json). A class's ratio is its share of the users running, or of
-- the class weights while none runs.
function M._task_ratio_json(counts)
  local users, weights = 0, 0
  for _, class in ipairs(M._runnable) do
    local n = counts[class.name]
    if n then
      if type(n) == "number" then users = users + n end
      weights = weights + class_weight(class)
    end
  end
  local per_class, total = {}, {}
  for _, class in ipairs(M._runnable) do
    local n = counts[class.name]
    if n then
      local share = users > 0 and (type(n) == "number" and n or 0) / users
        or (weights > 0 and class_weight(class) / weights or 0)
      per_class[class.name] = { ratio = share, tasks = ratio_tree(class._root, 1, false) }
      total[class.name] = { ratio = share, tasks = ratio_tree(class._root, share, true) }
    end
  end
  return core.json_encode({ per_class = per_class, total = total })
end

function M._list_classes()
  local lines = {}
  for _, class in ipairs(M._runnable) do
    local names = {}
    for _, e in ipairs(class._root._entries) do names[#names + 1] = e.name end
    lines[#lines + 1] = class.name .. ": " .. concat(names, ", ")
  end
  return concat(lines, "\n")
end

-- Load shapes --------------------------------------------------------------------------------

local shape_fn

--- Drives the user count over time: fn(run_time_seconds) returns users, spawn_rate[, classes]
--- or nil to end the test; called once a second by the runner.
function M.shape(fn)
  if type(fn) ~= "function" then error("cicada.shape(fn): fn must be a function", 2) end
  if shape_fn then error("a load shape is already defined", 2) end
  shape_fn = fn
end

--- A shape from a list of stages, each held for its duration (seconds or "1m30s"):
--- { { duration = 60, users = 100, rate = 10 [, classes = {...}] }, ... }.
function M.stages(list)
  if type(list) ~= "table" or #list == 0 then error("cicada.stages(list): expected a non-empty list of stages", 2) end
  local ends, t = {}, 0
  for i, s in ipairs(list) do
    local d = type(s.duration) == "string" and core.duration(s.duration) or s.duration
    if type(d) ~= "number" or d <= 0 then error("stage " .. i .. ": duration must be > 0", 2) end
    if type(s.users) ~= "number" or s.users < 0 then error("stage " .. i .. ": users must be >= 0", 2) end
    if s.rate ~= nil and (type(s.rate) ~= "number" or s.rate <= 0) then error("stage " .. i .. ": rate must be > 0", 2) end
    local ar = s.arrival_rate
    if ar ~= nil and (type(ar) ~= "number" or ar < 0 or ar ~= ar) then error("stage " .. i .. ": arrival_rate must be >= 0", 2) end
    if ar ~= nil then M._open_shape = true end
    t = t + d
    ends[i] = t
  end
  M.shape(function(run_time)
    for i, s in ipairs(list) do
      if run_time < ends[i] then return s.users, s.rate or 1, s.classes, i, #list, s.arrival_rate end
    end
    return nil
  end)
end

function M._shape_tick(run_time)
  return shape_fn(run_time)
end

function M._has_shape() return shape_fn ~= nil end

function M._fire(name, ...) M.events[name]:fire(...) end

-- The user loop ------------------------------------------------------------------------------

-- The frame of the library's task loop in a traceback (set once run_tasks is defined): the
-- user's part of a traceback ends there, or at the xpcall that called the user's function.
local loop_frame

local function clean_traceback(level)
  local tb = traceback("", level + 1):sub(2)
  local cut = tb:find("\n%s*%[C%]: in function 'xpcall'")
  local loop = loop_frame and tb:find(loop_frame, 1, true)
  if loop and (not cut or loop < cut) then cut = tb:sub(1, loop):match("()\n[^\n]*$") end
  return cut and tb:sub(1, cut - 1) or tb
end

local function on_error(e)
  if signals[e] then return e end
  if type(e) == "table" and e._piece then return e end -- a piece's, raised again by its waiter
  local msg = tostring(e)
  return { msg = msg, tb = clean_traceback(2) }
end

-- Pieces: parts of a task run concurrently by one user ------------------------------------
-- Each piece is a coroutine of the user's own (core.go runs it at once until it first waits);
-- a waitgroup counts its pieces and keeps what each returned, and wait() yields until the
-- last one has ended (core.join wakes the waiter each time one of its pieces ends). An error
-- in a piece does not stop the others: wait() lets all of them end, then raises the first
-- error, with the piece's own message and traceback, in the task that waited.

local go, join = core.go, core.join

local function piece_error(e)
  if signals[e] or (type(e) == "table" and e._piece) then return e end
  return { _piece = true, msg = tostring(e), tb = clean_traceback(2) }
end

local function run_piece(g, i, fn, ...)
  local ok, r = xpcall(fn, piece_error, ...)
  if ok then
    g._results[i] = r
  elseif g._err == nil then
    g._err = r
  end
  g._left = g._left - 1
end

local Waitgroup = {}
Waitgroup.__index = Waitgroup

--- A group of pieces to wait for: g:go(fn, ...) starts fn(...) concurrently with the caller;
--- g:wait() returns what each returned (its first value), in the order they were started.
function M.waitgroup()
  return setmetatable({ _n = 0, _left = 0, _results = {} }, Waitgroup)
end

function Waitgroup:go(fn, ...)
  if type(fn) ~= "function" then error("waitgroup:go(fn, ...): fn must be a function", 2) end
  local i = self._n + 1
  self._n, self._left = i, self._left + 1
  go(run_piece, self, i, fn, ...)
  return self
end

-- Waits for every piece; returns their results as a list (n of them) and empties the group.
function Waitgroup:_collect()
  while self._left > 0 do
    if not join() then
      error("waitgroup:wait(): wait where the pieces were started (they are not this piece's)", 3)
    end
    yield()
  end
  local results, err = self._results, self._err
  self._n, self._results, self._err = 0, {}, nil
  if err ~= nil then error(err, 0) end
  return results
end

function Waitgroup:wait()
  local n = self._n
  return unpack(self:_collect(), 1, n)
end

--- Runs the functions concurrently, as pieces of the running user, and returns what each
--- returned (its first value), in order, once all have ended.
function M.gather(...)
  local g = M.waitgroup()
  for i = 1, select("#", ...) do g:go((select(i, ...))) end
  return g:wait()
end

local function report(self, e)
  core.exception(e.msg, e.tb)
  if user_error_event._active then user_error_event:fire(self, e.msg, e.tb) end
end

-- Runs fn(self); returns a control signal, or nil when fn returned or raised an error (which
-- is counted).
-- What run_fn returns for a function that failed with e.
local function failed(self, e)
  if signals[e] then return e end
  report(self, e)
  return nil
end

local function run_fn(fn, self)
  local ok, e = xpcall(fn, on_error, self)
  if self._pending[1] then settle(self) end
  if ok then return nil end
  return failed(self, e)
end

-- Runs an on_start: as run_fn, but an error (reported) returns STOP_USER, as in Locust: the
-- user (or group) must not go on without what on_start should have done, such as a login.
local function run_start(fn, self)
  local ok, e = xpcall(fn, on_error, self)
  if self._pending[1] then settle(self) end
  if ok then return nil end
  return failed(self, e) or STOP_USER
end

-- The seconds wait_time asks for after a task (1 when it fails), or nil when it raised a
-- control signal (no wait then).
local function wait_seconds(self, wait_time, known)
  if known == true then return wait_time(self) end
  local ok, w = xpcall(wait_time, on_error, self)
  if not ok then
    if signals[w] then return nil end
    report(self, w)
    return 1
  elseif type(w) ~= "number" or w ~= w then
    report(self, { msg = "wait_time returned " .. type(w) .. ", not seconds", tb = "" })
    return 1
  end
  return w
end

-- Waits between two tasks; returns whether the user must stop. `known` is known_waits[wait]:
-- a constant wait is not even called. core.wait checks for a stop, arms the wait and says
-- whether to yield: a zero wait yields only when the task never did (as Locust's
-- gevent.sleep(0)), so that tasks answered at once cannot starve the other users, while the
-- usual task, which waited on I/O, goes straight on with no more than this one C call.
local function do_wait(self, wait_time, known)
  local w = known
  if type(w) ~= "number" then
    w = wait_seconds(self, wait_time, known)
    if w == nil then return stopping() end
  end
  local go = core_wait(w)
  if go then
    yield()
    return stopping()
  end
  return go == false
end

local run_node
-- What after_task and run_tasks return to say how the node's loop goes on: CONTINUE with the
-- next task, DONE (the user stops; run_node returns nil), or a signal for run_node to return.
local CONTINUE, DONE = {}, {}

local function run_group(self, group)
  local node = group._node
  local sig
  local start_failed
  if node.on_start then
    sig = run_start(node.on_start, self)
    start_failed = sig == STOP_USER
  end
  if sig == nil then sig = run_node(self, group, true) end
  if node.on_stop and (sig ~= STOP_USER or start_failed) then
    local s = run_fn(node.on_stop, self)
    if s == STOP_USER then sig = s end
  end
  return sig
end

-- What follows a task that ended with sig (nil, or the control signal it raised): the signal
-- handled, then the wait. st is the node's loop state (see run_node).
local function after_task(self, sig, in_group, st)
  if sig ~= nil then
    if sig == STOP_USER then return sig end
    if sig == INTERRUPT or sig == INTERRUPT_NOW then
      if in_group then return sig end
      report(self, { msg = "interrupt() called outside a task group", tb = "" })
      sig = nil
    end
  end
  if sig == RESCHEDULE then
    if stopping() then return DONE end
  elseif do_wait(self, st.wait, st.known) then
    return DONE
  end
  return CONTINUE
end

-- Runs the node's tasks with waits between them until after_task says otherwise, and returns
-- what it said. Unlike run_fn, it does not protect each task: LuaJIT cannot compile a return
-- into a pcall frame, and after each response the user resumes inside its task, so one xpcall
-- per task kept the whole path from the response to the next request in the interpreter. A
-- task that raises unwinds out of here instead; run_node handles it and calls again.
local function run_tasks(self, node, in_group, st)
  local list, n, seq, known, fixed = node._list, #node._list, node._sequential, st.known, st.fixed
  local wait_due = false
  while true do
    -- The wait after the previous task, when it is do_wait's usual case (inlined). It is made
    -- here, at the head of the loop, rather than after the task: the loop's compiled trace
    -- starts here, whereas the code that follows a task's return is often left to the
    -- interpreter (a task whose last call was compiled as a trace of its own returns into it),
    -- where an FFI call costs as much as the rest of the loop.
    if wait_due then
      wait_due = false
      local go = ffi_wait(self._handle, fixed)
      if go == 1 then
        yield()
        if stopping() then return DONE end
      elseif go == 2 then
        return DONE
      end
    end
    local k
    if seq then
      k = st.i % n + 1
      st.i = k
    elseif n == 1 then
      k = 1
    else
      k = random(n)
    end
    if not known then self._task_started = now() end
    local sig
    local task = list[k]
    if type(task) == "table" then
      sig = run_group(self, task)
      if sig == INTERRUPT then sig = nil elseif sig == INTERRUPT_NOW then sig = RESCHEDULE end
    else
      -- Called as list[k], not through a local: a traceback then shows the task as
      -- "function <file:line>", as when xpcall called it, not under a name of this loop.
      list[k](self)
      if self._pending[1] then settle(self) end
    end
    if sig == nil and fixed then
      wait_due = true
    else
      local r = after_task(self, sig, in_group, st)
      if r ~= CONTINUE then return r end
    end
  end
end

do
  local info = debug.getinfo(run_tasks, "S")
  loop_frame = info.short_src .. ":" .. info.linedefined .. ">"
end

-- Runs a class's or group's tasks until the user stops, or (in a group) until interrupted.
-- Returns the signal that ended it.
function run_node(self, node, in_group)
  local known = known_waits[node.wait_time]
  -- The loop's state, kept here so that it survives a task that raises: the position in a
  -- sequence, and the wait.
  local st = { i = 0, wait = node.wait_time, known = known,
               fixed = type(known) == "number" and known }
  if stopping() then return nil end
  while true do
    local ok, r = xpcall(run_tasks, on_error, self, node, in_group, st)
    if not ok then -- a task raised r: handled as run_fn does, then the loop goes on
      if self._pending[1] then settle(self) end
      r = after_task(self, failed(self, r), in_group, st)
    end
    if r == DONE then return nil end
    if r ~= CONTINUE then return r end
  end
end

-- The open model's loop: each arrival runs one task (chosen by the weights, or the next of a
-- sequence) on this user, which then waits for the next arrival. A task that raises is
-- counted as in the closed model; its user goes on.
local function run_arrivals(self, node)
  local list, n, seq, i = node._list, #node._list, node._sequential, 0
  local arrival = core.arrival
  while true do
    local go = arrival()
    if go then
      yield()
      if stopping() then return end
    elseif go == false then
      return
    end
    local k
    if seq then
      i = i % n + 1
      k = i
    elseif n == 1 then
      k = 1
    else
      k = random(n)
    end
    self._task_started = now()
    local task, sig = list[k], nil
    if type(task) == "table" then
      sig = run_group(self, task)
    else
      sig = run_fn(task, self)
    end
    if sig == STOP_USER then return end
  end
end

local function new_user(class)
  -- _rename is false rather than absent: every request reads it, and a missing field would be
  -- looked up through the class and UserBase each time.
  -- _pending has an array part so that the check after each task finds its empty slot at
  -- once.
  local self = setmetatable({ host = core.host(), _task_started = now(), _pending = table_new(2, 0),
                              _rename = false }, class)
  local headers = {}
  for k, v in pairs(class.headers or {}) do headers[k] = v end
  self.client = setmetatable({ _user = self, headers = headers }, Client)
  return self
end

-- The body of a user's coroutine: on_start, then its tasks with waits between, until the
-- engine stops the user or the user stops itself; then on_stop.
function M._run(class_index)
  local class = M._runnable[class_index]
  local self = new_user(class)
  core.set_self(self)
  -- A cdata pointer: the JIT does not convert a light userdata to void *.
  self._handle = has_ffi and ffi.cast("void *", core.user_handle()) or false
  local sig
  if class.on_start then sig = run_start(class.on_start, self) end
  if sig ~= STOP_USER then
    if class._open then run_arrivals(self, class._root) else run_node(self, class._root, false) end
  end
  if class.on_stop then run_fn(class.on_stop, self) end
end

-- Runs on_stop for a user whose coroutine was abandoned (stopped while waiting).
function M._stop(class_index, self)
  local class = M._runnable[class_index]
  if self._pending[1] then settle(self) end
  if class.on_stop then run_fn(class.on_stop, self) end
end

return M
