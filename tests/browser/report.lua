-- The HTML report's browser test: two request names with response times far apart (a 30 ms
-- delay and an immediate answer), so that each name's chart differs from the other's.
local cicada = require 'cicada'
local U = cicada.user('Reader', { wait_time = cicada.between(0.01, 0.03),
                                  tasks = { slow = 1, fast = 1 } })
function U:slow() self.client:get('/delay/30', { name = '/delay/30' }) end
function U:fast() self.client:get('/hello') end
