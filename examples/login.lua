-- login.lua — logging in through an HTML form protected by a CSRF token.
--
-- Each user, once in on_start: GET /login, which answers a form with a hidden csrf_token and
-- sets a `session` cookie; then POST the form (username, password, the token). The server
-- accepts it only when the token belongs to the session, and redirects to /. The tasks then
-- browse as the logged-in user.
--
-- Nothing here handles cookies or redirects: like a browser, each user's session keeps the
-- cookies it is given and sends them back, and follows the redirect after the login (the POST
-- and its redirect count as one request, "POST /login").
--
--   build/cicada-target --port 8080 &
--   build/cicada -f examples/login.lua -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s --headless
local cicada = require "cicada"

local Member = cicada.user("Member", {
  wait_time = cicada.between(0.5, 1.5),
  tasks = { home = 3, profile = 1 },
})

function Member:on_start()
  local form = self.client:get("/login", { name = "/login (form)" })
  local token = form.body:match('name="csrf_token" value="([^"]+)"')
  if not token then error("no CSRF token in GET /login (status " .. form.status .. ")") end

  local r = self.client:post("/login", {
    form = { username = "member" .. math.random(1000), password = "secret", csrf_token = token },
    catch_response = true,              -- decide the outcome here: where did we land?
  })
  if r.ok and #r.history == 1 and r.history[1].status == 302 then
    r:success()
  else
    r:failure("login refused: HTTP " .. (r.history[1] and r.history[1].status or r.status))
  end
end

function Member:home()
  self.client:get("/")
end

function Member:profile()
  -- /cookie/check answers 401 without a Cookie header: it proves the session is sent.
  self.client:get("/cookie/check")
end
