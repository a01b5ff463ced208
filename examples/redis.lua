-- redis.lua: users speaking Redis's protocol (RESP) over cicada's TCP sockets. Each command is
-- timed and counted in the statistics under type "redis" with the command as its name.
--
-- Run it against a local redis-server:
--   cicada -f examples/redis.lua -H redis://127.0.0.1:6379 -u 50 -r 10 -t 30s --headless

local cicada = require "cicada"

-- RESP, the protocol ------------------------------------------------------------------------

-- A command is an array of bulk strings: *<count>\r\n then $<length>\r\n<bytes>\r\n each.
local function encode(args)
  local parts = { "*" .. #args .. "\r\n" }
  for i = 1, #args do
    local a = tostring(args[i])
    parts[#parts + 1] = "$" .. #a .. "\r\n" .. a .. "\r\n"
  end
  return table.concat(parts)
end

local NULL = setmetatable({}, { __tostring = function() return "(nil)" end })
local read_reply

-- A bulk string: $<length>\r\n<bytes>\r\n, or $-1\r\n for a missing value.
local function read_bulk(sock, len)
  if len < 0 then return NULL end
  local data, err = sock:receive(len + 2)
  if not data then return nil, err end
  return data:sub(1, len)
end

local function read_array(sock, count)
  if count < 0 then return NULL end
  local items = {}
  for i = 1, count do
    local v, err = read_reply(sock)
    if v == nil then return nil, err end
    items[i] = v
  end
  return items
end

-- Reads one reply: a string, a number, a table (array) or NULL; or nil and the error text,
-- with `true` as a third value when the server answered with an error reply (-ERR ...).
function read_reply(sock)
  local line, err = sock:receive()
  if not line then return nil, err end
  local kind, rest = line:sub(1, 1), line:sub(2)
  if kind == "+" then return rest end
  if kind == "-" then return nil, rest, true end
  if kind == ":" then return tonumber(rest) end
  if kind == "$" then return read_bulk(sock, tonumber(rest) or -1) end
  if kind == "*" then return read_array(sock, tonumber(rest) or -1) end
  return nil, "protocol error: unexpected reply " .. line
end

-- The user ----------------------------------------------------------------------------------

local Redis = cicada.user("RedisUser", {
  host = "redis://127.0.0.1:6379",            -- -H redis://host:port overrides it
  wait_time = cicada.between(0.01, 0.05),
  tasks = { ping = 1, set_and_get = 3 },
})

-- "redis://host:port" (or "redis://[::1]:port") -> host, port.
local function parse_host(url)
  local host, port = url:match("^redis://%[([^%]]+)%]:?(%d*)/?$")
  if not host then host, port = url:match("^redis://([^:/]+):?(%d*)/?$") end
  if not host then error("the host must look like redis://host:port, not " .. url, 0) end
  return host, tonumber(port) or 6379
end

local users = 0

function Redis:on_start()
  self.redis_host, self.redis_port = parse_host(self.host)
  users = users + 1
  self.key = string.format("cicada:%08x:%d", math.random(0, 0x7fffffff), users)
end

-- The user's connection, opened on first use and again after a failure. A failure to connect
-- that is cicada's own (out of file descriptors, say) comes with kind "generator".
function Redis:connection()
  if self.sock then return self.sock end
  local sock = cicada.tcp()
  sock:settimeout(5)
  local ok, err, kind = sock:connect(self.redis_host, self.redis_port)
  if not ok then return nil, err, kind end
  self.sock = sock
  return sock
end

-- Sends a command, reads its reply. A transport failure closes the connection.
function Redis:exchange(args)
  local sock, err, kind = self:connection()
  if not sock then return nil, err, kind end
  local sent
  sent, err = sock:send(encode(args))
  local value, server_error
  if sent then value, err, server_error = read_reply(sock) end
  if value == nil and not server_error then
    sock:close()
    self.sock = nil
  end
  return value, err
end

-- Runs one command and records it: its time, the reply's length, and the error when it failed
-- or when check(value) finds the reply wrong (a command never sent for a generator error is
-- counted as one).
function Redis:call(name, args, check)
  local start = cicada.time()
  local value, err, kind = self:exchange(args)
  local elapsed = (cicada.time() - start) * 1000
  if value ~= nil and check then err = check(value) end
  cicada.record { type = "redis", name = name, response_time = elapsed,
                  length = type(value) == "string" and #value or 0, error = err,
                  generator_error = kind == "generator" }
  return value
end

function Redis:ping()
  self:call("PING", { "PING" }, function(v)
    if v ~= "PONG" then return "PING answered " .. tostring(v) end
  end)
end

function Redis:set_and_get()
  local value = tostring(math.random(1, 1e9))
  self:call("SET", { "SET", self.key, value }, function(v)
    if v ~= "OK" then return "SET answered " .. tostring(v) end
  end)
  self:call("GET", { "GET", self.key }, function(v)
    if v ~= value then return "GET returned " .. tostring(v) .. ", not " .. value end
  end)
end

function Redis:on_stop()
  if self.sock then self.sock:close() end
end
