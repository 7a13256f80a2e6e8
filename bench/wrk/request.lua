-- wrk script shared by every workload and target, configured through the environment:
--   BENCH_METHOD       GET (default) or POST
--   BENCH_BODY_FILE    request body, sent as is (binary safe)
--   BENCH_HEADERS      extra headers, one "Name: value" per line
--   BENCH_TOKENS_FILE  secrets, one per line: each request picks one at random (Bearer)
--   BENCH_STATUSES     "1": count answers per HTTP status (costs a little Lua per response)
--   BENCH_OUT          where done() writes its JSON summary
wrk.method = os.getenv("BENCH_METHOD") or "GET"

local bodyFile = os.getenv("BENCH_BODY_FILE")
if bodyFile and bodyFile ~= "" then
  local f = assert(io.open(bodyFile, "rb"))
  wrk.body = f:read("*all")
  f:close()
end

local headers = os.getenv("BENCH_HEADERS")
if headers then
  for line in headers:gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then wrk.headers[k] = v end
  end
end

local tokensFile = os.getenv("BENCH_TOKENS_FILE")
if tokensFile and tokensFile ~= "" then
  local tokens = {}
  for l in io.lines(tokensFile) do
    if l ~= "" then tokens[#tokens + 1] = "Bearer " .. l end
  end
  math.randomseed(os.time())
  request = function()
    wrk.headers["Authorization"] = tokens[math.random(#tokens)]
    return wrk.format()
  end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

if os.getenv("BENCH_STATUSES") == "1" then
  statuses = {}
  response = function(status)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for code, n in pairs(s) do counts[code] = (counts[code] or 0) + n end
    end
  end
  local parts = {}
  for code, n in pairs(counts) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d},"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ",")))
  out:close()
end
