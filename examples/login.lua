-- login.lua — logging in through an HTML form protected by a CSRF token.
--
-- Each user, once in on_start: GET /login, which answers a form with a hidden csrf_token and a
-- `session` cookie; then POST the form (username, password, the token) with that cookie. The
-- server accepts it only when the token belongs to the session, answering 302 to / with a new
-- session cookie. The tasks then browse as the logged-in user.
--
-- Cookies: cicada's HTTP client does not keep cookies yet, so this scenario carries the session
-- itself: it reads `set-cookie` from r.headers and sends it back in a `Cookie` header (set on
-- self.client.headers, so every later request of this user sends it too).
--
--   build/cicada-target --port 8080 &
--   build/cicada -f examples/login.lua -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s --headless
local cicada = require "cicada"

local Member = cicada.user("Member", {
  wait_time = cicada.between(0.5, 1.5),
  tasks = { home = 3, profile = 1 },
})

-- "session=abc; Path=/; HttpOnly" -> "session=abc" (nil when the response set no cookie).
local function session_cookie(r)
  local set = r.headers["set-cookie"]
  return set and set:match("^%s*([^;,]+)")
end

function Member:on_start()
  local form = self.client:get("/login", { name = "/login (form)" })
  local token = form.body:match('name="csrf_token" value="([^"]+)"')
  local cookie = session_cookie(form)
  if not token or not cookie then error("no CSRF token or session cookie in GET /login") end

  local r = self.client:post("/login", {
    form = { username = "member" .. math.random(1000), password = "secret", csrf_token = token },
    headers = { Cookie = cookie },
    catch_response = true,              -- a 302 is the success here; anything else is not
  })
  if r.status == 302 or r.status == 200 then
    r:success()
    self.client.headers["Cookie"] = session_cookie(r) or cookie
  else
    r:failure("login refused: HTTP " .. r.status)
  end
end

function Member:home()
  self.client:get("/")
end

function Member:profile()
  -- /cookie/check answers 401 without a Cookie header: it proves the session is sent.
  self.client:get("/cookie/check")
end
