-- data.lua: users that log in with accounts read from a CSV file, each account used once.
--
-- cicada.data.csv reads examples/data/accounts.csv once for the whole process (whatever the
-- number of threads) and hands its rows out to users; with mode "each_once" every account goes
-- to exactly one user. The login follows the form flow of cicada-target's /login: GET the form
-- (a session cookie and a hidden CSRF token), then POST the credentials with the token; the
-- session keeps the cookie and sends it back by itself.
--
-- Run it against a local cicada-target, with at most as many users as accounts (50):
--   cicada -f examples/data.lua -H http://127.0.0.1:8080 -u 50 -r 25 -t 20s --headless

local cicada = require "cicada"

-- The path is relative to this file's directory. The header row names the columns, so each
-- row is a table: row.username, row.password, row.display_name (quoted in the file when it
-- holds a comma or quotes; the row has the plain text).
local accounts = cicada.data.csv("data/accounts.csv", { mode = "each_once" })

local Member = cicada.user("Member", {
  host = "http://127.0.0.1:8080",
  wait_time = cicada.between(0.5, 1.5),
  tasks = { profile = 3, home = 1 },
})

function Member:on_start()
  local account = accounts:next()    -- nil once every account has been handed out
  if not account then return end     -- more users than accounts: this one browses anonymously
  local page = self.client:get("/login")   -- the session cookie goes into the user's jar
  local token = page.body:match('name="csrf_token" value="(%x+)"')
  if not token then error("no login form at /login (status " .. page.status .. ")") end
  local r = self.client:post("/login", {
    form = { username = account.username, password = account.password, csrf_token = token },
  })
  -- The server answers 302 to / on success; the redirect is followed (r.history holds the 302).
  if not (r.ok and r.history[1] and r.history[1].status == 302) then
    error(account.username .. " could not log in: HTTP " .. (r.history[1] or r).status)
  end
  self.account = account             -- the row is this user's own table
end

-- A logged-in member's page: the session cookie (kept by the user's session) goes with it.
function Member:profile()
  if not self.account then return self:home() end
  self.client:get("/cookie/check", { name = "/profile" })
end

function Member:home()
  self.client:get("/hello")
end
