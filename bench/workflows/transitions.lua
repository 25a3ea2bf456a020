-- wrk script: POST {"transition":"tick"} to /v1/workflows/instances/<id>/transitions, cycling
-- through the instance ids listed one a line in $WF_IDS (one id: every request hits one instance).
local ids = {}
for line in io.lines(os.getenv("WF_IDS")) do
  if #line > 0 then ids[#ids + 1] = line end
end
local n = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"transition":"tick"}'

request = function()
  n = n + 1
  return wrk.format(nil, "/v1/workflows/instances/" .. ids[(n % #ids) + 1] .. "/transitions")
end

dofile(os.getenv("BENCH_REPORT"))
