-- websocket_chat.lua: a chat user over WebSocket, against the echo endpoint of the demo target.
--
-- Run it headless against a local cicada-target:
--   cicada -f examples/websocket_chat.lua -H http://127.0.0.1:8080 -u 50 -r 25 -t 15s --headless
--
-- The statistics show the handshake as a "WS" row named "chat", every message sent as "WSS"
-- and received as "WSR" under the same name (their count, and bytes as the average size), and
-- each timed send-and-reply round trip as a "WS" row of its own name ("say").

local cicada = require "cicada"

local Chatter = cicada.user("Chatter", {
  host = "http://127.0.0.1:8080",
  wait_time = cicada.between(0.1, 0.5),
  tasks = { say = 5, ping = 1 },
})

-- One connection per user, opened when it starts: a path on the host becomes ws://HOST/PATH
-- (wss:// for an https host). `name` groups the connection's rows in the statistics.
function Chatter:on_start()
  self.ws = assert(self:websocket("/ws/echo", { name = "chat", timeout = 5 }))
  self.said = 0
end

-- A round trip: the message goes out and the task waits (at most 5 s) for the next message,
-- the echo; the time between is recorded under "say".
function Chatter:say()
  self.said = self.said + 1
  local text = "hello #" .. self.said .. " from a chatter"
  local reply, err = self.ws:request("say", text, 5)
  if not reply then
    -- A failure is already counted; a connection that closed is opened again.
    if not self.ws:is_open() then self.ws = assert(self:websocket("/ws/echo", { name = "chat" })) end
    return
  end
  if reply ~= text then error("the echo differs: " .. reply) end
end

-- Messages can also be sent and received apart; receive returns the message and its type
-- ("text" or "binary"), or nil and why ("timeout" leaves the connection open).
function Chatter:ping()
  local ok = self.ws:send_binary(string.char(1, 2, 3))
  local data, kind = self.ws:receive(5)
  if ok and kind ~= "binary" then error("expected a binary echo") end
  self.ws:ping("still there?", 5) -- seconds until the pong, or nil and why
end

-- A clean goodbye: a close frame with a code and reason; the server answers with its own.
function Chatter:on_stop()
  if self.ws:is_open() then self.ws:close(1000, "bye") end
end
