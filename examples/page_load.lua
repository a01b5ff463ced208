-- page_load.lua: a browser-like page load. Each visitor fetches a page, then the page's assets
-- all at once (client:batch), as a browser does over up to six connections to one host, and
-- finally two API calls side by side (cicada.gather).
--
-- Run it headless against a local cicada-target:
--   cicada -f examples/page_load.lua -H http://127.0.0.1:8080 -u 50 -r 10 -t 30s --headless

local cicada = require "cicada"

local Browser = cicada.user("Browser", {
  host = "http://127.0.0.1:8080",
  wait_time = cicada.between(1, 3),
  tasks = { page = 1 },
  -- The connections a visitor opens at most to one host while its requests run at once: six,
  -- as browsers do over HTTP/1.1 (this is the default, written out to show where it goes).
  connections_per_host = 6,
})

-- The assets of the page: what the demo target serves stands in for images, a compressed
-- style sheet, a slow script and a font. `name` groups the rows of the statistics.
local ASSETS = {
  { "GET", "/bytes/20000", { name = "image" } },
  { "GET", "/bytes/35000", { name = "image" } },
  { "GET", "/bytes/8000", { name = "image" } },
  { "GET", "/gzip", { name = "style.css" } },
  { "GET", "/delay/40", { name = "app.js" } },
  { "GET", "/bytes/50000", { name = "font" } },
  { "GET", "/deflate", { name = "vendor.css" } },
}

function Browser:page()
  -- The page itself: its links are followed below, as a browser follows them.
  local page = self.client:get("/", { name = "page" })
  if not page.ok then return end

  -- Its assets, concurrently: the responses come back in the order asked for, each request
  -- counted on its own row with its own response time.
  local assets = self.client:batch(ASSETS)
  for i, r in ipairs(assets) do
    if not r.ok then error("asset " .. i .. " failed: " .. tostring(r.error or r.status)) end
  end

  -- Two API calls at once, each in its own piece of the task; gather returns what each piece
  -- returned once both have answered.
  local items, hello = cicada.gather(
    function() return #self.client:get("/json", { name = "api: data" }):json().items end,
    function() return self.client:get("/hello", { name = "api: greeting" }).body end)
  if type(items) ~= "number" or hello == "" then error("unexpected API answers") end
end
