-- http2_api.lua: an API client over HTTP/2. Each user keeps one connection to the host and sends
-- every request on it as a stream: single calls, and now and then ten calls at once
-- (client:batch), which are ten concurrent streams on that one connection.
--
-- Run it against a server that speaks HTTP/2 in the clear (nginx: `listen 8080 http2;`):
--   cicada -f examples/http2_api.lua -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s --headless
-- Over https:// HTTP/2 is offered in the TLS handshake by default: drop the `http2` field.

local cicada = require "cicada"

local Api = cicada.user("ApiClient", {
  -- The server is known to speak HTTP/2 on this port: no negotiation in the clear.
  http2 = "prior-knowledge",
  wait_time = cicada.between(0.1, 0.3),
  tasks = { hello = 3, burst = 1 },
})

function Api:hello()
  local r = self.client:get("/hello", { name = "hello" })
  if r.ok and r.protocol ~= "HTTP/2" then error("expected HTTP/2, got " .. r.protocol) end
end

-- Ten slow calls at once: over HTTP/2 they take about as long as one.
function Api:burst()
  local calls = {}
  for i = 1, 10 do calls[i] = { "GET", "/delay/50", { name = "burst call" } } end
  local t0 = cicada.time()
  local rs = self.client:batch(calls)
  for _, r in ipairs(rs) do
    if not r.ok then return end -- counted as a failure already
  end
  cicada.record { type = "BATCH", name = "ten calls", response_time = (cicada.time() - t0) * 1000 }
end
