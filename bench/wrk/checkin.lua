-- POST a check-in per request: a new event id, an attendee from a pool of 100,000 badges
-- (repeat scans), a category, a country and a desk. The same body goes to the project's
-- POST /v1/checkins and to the minimal endpoint. BENCH_SESSION names the session.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local session = os.getenv("BENCH_SESSION")
local categories = {"general", "general", "general", "general", "general", "general",
  "professional", "professional", "professional", "exhibitor", "media", "vip", "delegate"}
local countries = {"CN", "CN", "CN", "CN", "CN", "CN", "CN", "CN", "HK", "MO", "TW", "US",
  "DE", "JP", "KR", "FR", "GB", "SG", "RU", "IN", "BR", "IT", "AU", "TH"}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end

function init(args)
  math.randomseed(os.time() * 100 + (number or 0))
end

local function uuid4()
  local hex = {}
  for i = 1, 32 do
    hex[i] = string.format("%x", math.random(0, 15))
  end
  hex[13] = "4"
  hex[17] = string.format("%x", 8 + math.random(0, 3))
  local s = table.concat(hex)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20)
    .. "-" .. s:sub(21, 32)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  local body = string.format(
    '{"session_id":"%s","event_id":"%s","attendee_id":"A%06d","category":"%s",'
      .. '"country":"%s","desk_id":"desk-%02d"}',
    session, uuid4(), math.random(0, 99999), categories[math.random(#categories)],
    countries[math.random(#countries)], math.random(0, 39))
  return wrk.format(nil, nil, nil, body)
end
