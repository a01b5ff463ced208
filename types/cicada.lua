---@meta cicada
-- Type definitions of the cicada scenario library for lua-language-server (LuaCATS).
-- Not loaded at run time: the library itself is built into the cicada binary.
-- Use: add this folder to "workspace.library" in .luarc.json (see docs/scenarios.md).

---@class cicada
---@field _VERSION string the cicada version
---@field events cicada.Events the events scenario code can listen to
---@field json cicada.Json JSON encoding and decoding
---@field tcp fun(): cicada.Socket creates a TCP (or TLS) client socket for the running user
---@field websocket fun(url: string, opts?: cicada.WebSocketOptions): cicada.WebSocket|nil, string?, integer? opens a ws:// or wss:// connection
---@field data cicada.Data test data files shared by every user of the process
---@field random cicada.Random random helpers
local cicada = {}

---A wait-time function: returns the seconds a user waits after each task.
---@alias cicada.WaitTime fun(self: cicada.User): number

---@class cicada.TaskSpec
---@field weight? integer how often the task is picked, relative to the others (default 1)
---@field tags? string[] tags for -T/--tags and -E/--exclude-tags
---@field fn? fun(self: cicada.User) the task, when it is not the method of the same name
---@field [1]? fun(self: cicada.User)|cicada.Group the task or group, as the first element

---A task: a method name with a weight, an inline function, a group, or the long form.
---@alias cicada.Task integer|string|fun(self: cicada.User)|cicada.Group|cicada.TaskSpec

---@class cicada.ClassDefinition
---@field weight? number relative share of users among the classes run (default 1)
---@field fixed_count? integer exactly this many users, started before weighted ones
---@field host? string base URL of relative request paths; -H/--host overrides it
---@field wait_time? cicada.WaitTime the wait after each task (default cicada.constant(0))
---@field tasks? table<string|integer, cicada.Task> task name -> weight, function, group or spec
---@field tags? string[] tags applied to every task of the class
---@field headers? table<string, string> default headers of every request
---@field insecure? boolean skip TLS certificate verification
---@field connections_per_host? integer connections a user opens at most to one host for concurrent requests (default 6)
---@field abstract? boolean a base class that never runs itself
---@field extends? cicada.UserClass the class to inherit fields, tasks and methods from
---@field on_start? fun(self: cicada.User) runs once when a user starts
---@field on_stop? fun(self: cicada.User) runs once when a user stops

---@class cicada.UserClass: cicada.ClassDefinition
---@field name string

---A simulated user: `self` in tasks, on_start and on_stop. Store per-user state on it.
---@class cicada.User
---@field client cicada.Client the user's own HTTP session
---@field host string? the effective host (-H, else the class's host)
local User = {}

---Leaves the current task group; with reschedule, the parent's next task starts at once.
---@param reschedule? boolean
function User:interrupt(reschedule) end

---Stops this user (its on_stop runs).
function User:stop() end

---Opens a WebSocket connection: a full ws(s):// URL, or a path on the user's host.
---@param url string
---@param opts? cicada.WebSocketOptions
---@return cicada.WebSocket|nil ws
---@return string? err
---@return integer? status the HTTP status of the answer (0: none came)
function User:websocket(url, opts) end

---@class cicada.GroupDefinition
---@field weight? integer the group's weight as a task of its parent (default 1)
---@field tasks table<string|integer, cicada.Task> the group's tasks (methods of the group)
---@field wait_time? cicada.WaitTime the wait between the group's tasks (default: the parent's)
---@field tags? string[] tags applied to every task of the group
---@field on_start? fun(self: cicada.User) runs each time a user enters the group
---@field on_stop? fun(self: cicada.User) runs each time a user leaves the group

---@class cicada.Group: cicada.GroupDefinition

---Declares a user class; add task methods to the returned table.
---@param name string
---@param definition cicada.ClassDefinition
---@return cicada.UserClass
function cicada.user(name, definition) end

---A nested group of tasks (Locust's TaskSet): runs until a task calls self:interrupt().
---@param definition cicada.GroupDefinition
---@return cicada.Group
function cicada.group(definition) end

---A group whose tasks run in the declared order, over and over (SequentialTaskSet).
---@param definition cicada.GroupDefinition
---@return cicada.Group
function cicada.sequence(definition) end

---Attaches tags to a task: tasks = { index = cicada.tag({"web"}, 3) }.
---@param tags string[]
---@param task integer|fun(self: cicada.User)|cicada.Group
---@return cicada.TaskSpec
function cicada.tag(tags, task) end

---@param min number seconds
---@param max number seconds
---@return cicada.WaitTime
function cicada.between(min, max) end

---@param seconds number
---@return cicada.WaitTime
function cicada.constant(seconds) end

---Each task starts `seconds` after the previous one started.
---@param seconds number
---@return cicada.WaitTime
function cicada.constant_pacing(seconds) end

---At most `rate` tasks per second per user.
---@param rate number
---@return cicada.WaitTime
function cicada.constant_throughput(rate) end

---Suspends the running user without blocking others.
---@param seconds number
function cicada.sleep(seconds) end

---Monotonic time in seconds.
---@return number
function cicada.time() end

---Runs the functions concurrently as pieces of the running user; returns what each returned
---(its first value), in order, once all have ended. The first error of a piece is raised
---once every piece has ended.
---@param ... fun(): any
---@return any ...
function cicada.gather(...) end

---A group of pieces of the running user's task, started with go and waited for with wait.
---@class cicada.Waitgroup
local Waitgroup = {}

---Starts fn(...) as a piece, at once, until it first waits.
---@param fn fun(...): any
---@return cicada.Waitgroup
function Waitgroup:go(fn, ...) end

---Waits for every piece started; returns what each returned (its first value), in order.
---@return any ...
function Waitgroup:wait() end

---@return cicada.Waitgroup
function cicada.waitgroup() end

---Ends the current task; the next starts without waiting (Locust's RescheduleTask).
function cicada.reschedule() end

---Stops the running user; its on_stop runs (Locust's StopUser).
function cicada.stop_user() end

---Stops the whole test; the final reports are written.
---@param reason? string
function cicada.stop_test(reason) end

---Registers the handler of custom messages of `type` (one per type: registering again
---replaces it). It runs with the message's data and the sender's node id ("local" in a local
---run); on a worker in every engine thread's Lua state, on the master in the runner's.
---@param type string
---@param fn fun(data: any, from: string?)
function cicada.on_message(type, fn) end

---Sends a custom message (Locust's runner.send_message): from a worker to the master; from the
---master to every worker, or to the worker whose node id is `to`. data is any JSON-able value.
---@param type string
---@param data any
---@param to? string
function cicada.send_message(type, data, to) end

---@class cicada.Measurement
---@field type string the request type column ("redis", "GET", ...)
---@field name string the request name
---@field response_time number milliseconds
---@field length? integer bytes
---@field error? string a failure message; nil for a success

---Counts a measured request of any protocol in the statistics (events.request.fire).
---@param m cicada.Measurement
function cicada.record(m) end

---Declares a CI threshold checked at the end (like --check-<metric>); a breach exits with 3.
---@param metric string "fail-ratio", "avg-response-time", "rps" or "pNN" (e.g. "p95")
---@param spec string|number "[NAME=]VALUE", e.g. "200ms", "1%", "/api=1s"
function cicada.threshold(metric, spec) end

---A load shape: called once a second with the run time; returns users, spawn rate and,
---optionally, the class names new users may be; nil ends the test.
---@param fn fun(run_time: number): integer?, number?, string[]?
function cicada.shape(fn) end

---@class cicada.Stage
---@field duration number|string how long the stage lasts (seconds, or "1m30s")
---@field users integer the user count of the stage
---@field rate? number the spawn rate towards it (default 1)
---@field classes? string[] the classes new users may be

---A load shape made of stages, each held for its duration.
---@param stages cicada.Stage[]
function cicada.stages(stages) end

---@class cicada.RequestOptions
---@field params? table<string, string|number> query parameters, encoded and appended
---@field headers? table<string, string> request headers
---@field body? string the request body
---@field json? any a value sent as a JSON body (Content-Type: application/json)
---@field form? table<string, string|number> a form-encoded body
---@field auth? string[] { user, password } for HTTP basic authentication
---@field name? string the statistics row (default: the path and query)
---@field timeout? number seconds for the whole request
---@field connect_timeout? number seconds to connect
---@field insecure? boolean skip TLS certificate verification
---@field catch_response? boolean the script decides the outcome with success()/failure()
---@field allow_redirects? boolean follow redirects (default true)
---@field connections_per_host? integer connections to the host the user may use at once (default: the class's)

---@class cicada.Response
---@field status integer HTTP status; 0 when the request failed before a response
---@field ok boolean a response with status < 400
---@field body string
---@field headers table<string, string> lower-case names
---@field trailers table<string, string> the fields sent after the body (lower-case names; empty when none)
---@field elapsed number seconds from sending to the last byte
---@field url string the absolute URL (the final one after redirects)
---@field error string? the transport failure, if any
---@field name string the statistics row
---@field history cicada.Response[] the redirects followed, oldest first
local Response = {}

---The body decoded from JSON; raises a clear error when it is not JSON.
---@return any
function Response:json() end

---With catch_response: count this request as a success.
function Response:success() end

---With catch_response: count this request as a failure with message.
---@param message string
function Response:failure(message) end

---@class cicada.Client
---@field headers table<string, string> default headers of this user's requests
local Client = {}

---@param method string
---@param url string a path (relative to the host) or an absolute URL
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:request(method, url, opts) end

---@param url string
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:get(url, opts) end

---@param url string
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:post(url, opts) end

---@param url string
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:put(url, opts) end

---@param url string
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:patch(url, opts) end

---@param url string
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:delete(url, opts) end

---@param url string
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:head(url, opts) end

---@param url string
---@param opts? cicada.RequestOptions
---@return cicada.Response
function Client:options(url, opts) end

---One request of a batch: a URL (a GET), { method, url [, options] }, or
---{ method = , url = , <options> }.
---@alias cicada.BatchRequest string|table

---Sends the requests concurrently; returns their responses in order once all have answered.
---@param requests cicada.BatchRequest[]
---@param opts? { connections_per_host?: integer }
---@return cicada.Response[]
function Client:batch(requests, opts) end

---Counts every request made inside fn under one name.
---@param name string
---@param fn fun()
function Client:rename(name, fn) end

---@class cicada.Event
local Event = {}

---Adds a listener; returns it.
---@param fn function
---@return function
function Event:add(fn) end

---@param fn function
function Event:remove(fn) end

---@param ... any
function Event:fire(...) end

---@class cicada.RequestEvent
---@field request_type string
---@field name string
---@field response_time number milliseconds
---@field response_length integer
---@field exception string? the failure, if any
---@field response cicada.Response? for HTTP requests
---@field url string? for HTTP requests

---@class cicada.Events
---@field init cicada.Event once per Lua state, after the scenario loaded
---@field test_start cicada.Event once, when the test starts
---@field test_stop cicada.Event once, when every user stopped
---@field spawning_complete cicada.Event fn(user_count) once every user of a ramp runs
---@field request cicada.Event fn(cicada.RequestEvent) after every request
---@field user_error cicada.Event fn(user, message, traceback) when a task raises
---@field quitting cicada.Event once, after the final reports

---@class cicada.Json
---@field null lightuserdata JSON null
local Json = {}

---@param value any
---@return string
function Json.encode(value) end

---@param text string
---@return any
function Json.decode(text) end

---@class cicada.SocketOptions
---@field timeout? number seconds
---@field tls? boolean
---@field insecure? boolean
---@field server_name? string

---@class cicada.Socket
local Socket = {}

---@param host string
---@param port integer
---@param opts? cicada.SocketOptions
---@return true|nil ok
---@return string? err
function Socket:connect(host, port, opts) end

---@param seconds number
function Socket:settimeout(seconds) end

---@param data string
---@return integer|nil bytes
---@return string? err
function Socket:send(data) end

---A line without CR LF (no argument or "*l"), n bytes (a number), or everything until the
---peer closes ("*a").
---@param pattern? integer|string
---@return string|nil data
---@return string? err
function Socket:receive(pattern) end

---Data up to, not including, the delimiter.
---@param delimiter string
---@return string|nil data
---@return string? err
function Socket:receiveuntil(delimiter) end

function Socket:close() end

---@class cicada.WebSocketOptions
---@field name? string the statistics name (default: the URL)
---@field headers? table<string, string> extra headers of the upgrade request
---@field protocols? string|string[] subprotocols offered, in order
---@field timeout? number seconds to connect and shake hands
---@field insecure? boolean skip certificate verification
---@field max_message? integer bytes a received message may have (default 16 MiB)

---@class cicada.WebSocket
local WebSocket = {}

---@param text string
---@return true|nil ok
---@return string? err
function WebSocket:send(text) end

---@param bytes string
---@return true|nil ok
---@return string? err
function WebSocket:send_binary(bytes) end

---The next message and its type; nil, "timeout"; nil, "closed", code, reason; or nil, err.
---@param timeout? number seconds
---@return string|nil message
---@return string kind_or_err "text", "binary", or why none came
---@return integer? code
---@return string? reason
function WebSocket:receive(timeout) end

---Sends text, waits for the next message and records the round trip as a WS request `name`.
---@param name string
---@param text string
---@param timeout? number
---@return string|nil reply
---@return string kind_or_err
function WebSocket:request(name, text, timeout) end

---@param data? string at most 125 bytes
---@param timeout? number
---@return number|nil seconds until the pong
---@return string? err
function WebSocket:ping(data, timeout) end

---@param code? integer default 1000
---@param reason? string
---@param timeout? number default 5
---@return integer|nil code the server's
---@return string? reason_or_err
function WebSocket:close(code, reason, timeout) end

---@return string protocol the chosen subprotocol, "" for none
function WebSocket:protocol() end

---@return boolean
function WebSocket:is_open() end

---@class cicada.DataOptions
---@field mode? "round_robin"|"random"|"each_once"
---@field header? boolean the first row names the columns (default true)

---@class cicada.DataSet
local DataSet = {}

---The next row (a table keyed by column name, or an array); nil once "each_once" ran out.
---@return table|nil
function DataSet:next() end

---@return integer
function DataSet:count() end

---@class cicada.Data
local Data = {}

---Loads a CSV file once per process (path relative to the scenario).
---@param path string
---@param opts? cicada.DataOptions
---@return cicada.DataSet
function Data.csv(path, opts) end

---@class cicada.Random
local Random = {}

---@param a integer
---@param b integer
---@return integer
function Random.int(a, b) end

---@generic T
---@param list T[]
---@return T
function Random.choice(list) end

---@param n integer
---@return string
function Random.string(n) end

return cicada
