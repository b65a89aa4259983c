-- wrk script of `bench`: POSTs GraphQL requests round-robin over a targets file and reports
-- one JSON line. Environment: TARGETS (file of `path<TAB>token<TAB>body` lines) and THREADS
-- (wrk's -t). A response counts as an error unless it is HTTP 200 without an "errors"
-- member.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  targets = {}
  for line in io.lines(os.getenv("TARGETS")) do
    local path, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if path then
      local headers = { ["Content-Type"] = "application/json" }
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      table.insert(targets, wrk.format("POST", path, headers, body))
    end
  end
  -- Each thread starts at its own offset and steps by the thread count, so together the
  -- threads go round-robin over every target.
  nthreads = tonumber(os.getenv("THREADS") or "1")
  index = id
  bad = 0
end

function request()
  local r = targets[(index % #targets) + 1]
  index = index + nthreads
  return r
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    bad = bad + 1
    if bad <= 3 then
      -- A sample of what went wrong, for the bench to show.
      io.stderr:write(string.format("error response %d: %s\n", status, body:sub(1, 300)))
    end
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + bad_total
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"errors":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f}\n',
    summary.requests - bad_total, errors, seconds, (summary.requests - bad_total) / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
