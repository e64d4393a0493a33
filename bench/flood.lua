-- POST /sessions with the right password, as each email of EMAILS_FILE in turn (one per line),
-- so that the per-email throttle does not answer the flood. done() prints one line:
--   flood <requests> <answered 200> <answered 503> <other statuses> <socket errors> <share within LIMIT_MS>
-- where the share is the largest percentile of the latency at or below LIMIT_MS.
-- With RETRY_AFTER=1 the clients honour Retry-After: after a 503 the next request waits as long as
-- it says (clients that log in as people do, not a flood).
local emails = {}
local honour = os.getenv("RETRY_AFTER") == "1"
local wait_ms = 0
local index = 0
counts = { ok = 0, shed = 0, other = 0 }
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("EMAILS_FILE")) do
    if #line > 0 then emails[#emails + 1] = line:gsub("@", "%%40") end
  end
  index = math.random(#emails)
end

request = function()
  index = index % #emails + 1
  local body = "email=" .. emails[index] .. "&password=" .. os.getenv("PASSWORD")
  return wrk.format("POST", "/sessions", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

response = function(status, headers, body)
  if status == 200 then counts.ok = counts.ok + 1
  elseif status == 503 then
    counts.shed = counts.shed + 1
    if honour then wait_ms = (tonumber(headers["Retry-After"]) or 1) * 1000 end
  else counts.other = counts.other + 1 end
end

function delay()
  local ms = wait_ms
  wait_ms = 0
  return ms
end

function done(summary, latency, requests)
  local ok, shed, other = 0, 0, 0
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    ok, shed, other = ok + c.ok, shed + c.shed, other + c.other
  end
  local limit = tonumber(os.getenv("LIMIT_MS")) * 1000
  local share = 0
  for p = 100, 0, -0.05 do
    if latency:percentile(p) <= limit then share = p / 100 break end
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("flood %d %d %d %d %d %.4f\n", summary.requests, ok, shed, other, errors, share))
end
