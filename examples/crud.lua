-- crud.lua — a REST API's whole life cycle: create, read, update, delete, and read again.
--
-- Each task creates an item with a JSON body (POST /items answers 201 and the item with its
-- "id"), reads it back and checks the fields, replaces it (PUT), deletes it (DELETE answers 204)
-- and finally reads it once more, where a 404 is the *expected* answer: catch_response turns
-- that 404 into a success, and turns a 200 with wrong content into a failure. URLs holding ids
-- are grouped under one statistics row each with `name`.
--
--   build/cicada-target --port 8080 &
--   build/cicada -f examples/crud.lua -H http://127.0.0.1:8080 -u 50 -r 25 -t 30s --headless
local cicada = require "cicada"

local Client = cicada.user("ApiClient", {
  wait_time = cicada.between(0.1, 0.5),
  headers = { Accept = "application/json" },
  tasks = { lifecycle = 1, list = 1 },
})

function Client:lifecycle()
  local price = math.random(1, 100)
  local created = self.client:post("/items", { json = { name = "lamp", price = price } })
  if created.status ~= 201 then return end          -- counted as a failure already if >= 400
  local id = created:json().id

  local r = self.client:get("/items/" .. id, { name = "/items/[id]", catch_response = true })
  local item = r.ok and r:json()
  if item and item.name == "lamp" and item.price == price then
    r:success()
  else
    r:failure("item " .. id .. " does not read back as created")
  end

  self.client:put("/items/" .. id, { json = { name = "lamp", price = price + 1 },
                                    name = "/items/[id]" })
  self.client:delete("/items/" .. id, { name = "/items/[id]" })

  r = self.client:get("/items/" .. id, { name = "/items/[id] (deleted)", catch_response = true })
  if r.status == 404 then r:success() else r:failure("deleted item still served") end
end

function Client:list()
  self.client:get("/items")
end
