-- wrk script: POST a new contact (a unique email each time) to /contacts.
local n = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1000000))

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- bench/events/run.sh serves its three rows from one Worker: this header picks the row.
wrk.headers["x-bench-row"] = os.getenv("BENCH_ROW") or "on"

request = function()
  n = n + 1
  local body = '{"first_name":"Bench","last_name":"Writer","email":"w' .. prefix .. "-" .. n .. '@bench.example"}'
  return wrk.format(nil, "/contacts", nil, body)
end

dofile(os.getenv("BENCH_REPORT"))
