-- A realistic mix of tracker posts for wrk: pageviews with and without referrers and UTM
-- tags, custom events with props, engagement pings, a few bots; many visitors (the
-- X-Forwarded-For address varies; footfall trusts it from 127.0.0.1). Counts the answers
-- that stored an event (202 without X-Plausible-Dropped) so the runner can check the store.
-- Set RATE_DELAY_MS in the environment to pace each connection (the half-rate run).

local user_agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
}
local bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
local pages = { "/", "/pricing", "/blog", "/blog/launch", "/docs", "/docs/install", "/about", "/contact" }
local referrers = {
  "https://www.google.com/", "https://www.google.de/", "https://duckduckgo.com/", "https://t.co/x1",
  "https://news.ycombinator.com/", "https://www.reddit.com/r/selfhosted/", "https://blog.example.org/post",
}

local delay_ms = tonumber(os.getenv("RATE_DELAY_MS") or "0")
accepted = 0
answered = 0
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
threads = {}

function init(args)
  math.randomseed(os.time() + id * 7919)
end

local function body()
  local roll = math.random(100)
  local page = "https://example.com" .. pages[math.random(#pages)]
  if roll <= 60 then
    if math.random(100) <= 40 then
      return '{"n":"pageview","u":"' .. page .. '","d":"example.com","r":"' .. referrers[math.random(#referrers)] .. '"}'
    end
    return '{"n":"pageview","u":"' .. page .. '?utm_source=newsletter&utm_medium=email","d":"example.com","r":null}'
  elseif roll <= 75 then
    return '{"n":"engagement","u":"' .. page .. '","d":"example.com","sd":' .. math.random(100) .. ',"e":' .. math.random(60000) .. '}'
  elseif roll <= 95 then
    return '{"n":"Signup","u":"' .. page .. '","d":"example.com","p":{"plan":"pro","source":"hero"},"$":{"amount":"19.99","currency":"EUR"}}'
  end
  return '{"n":"pageview","u":"' .. page .. '","d":"unknown.example.net"}'
end

function request()
  local ua = user_agents[math.random(#user_agents)]
  if math.random(100) <= 3 then ua = bot end
  local ip = "85." .. math.random(1, 220) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  local headers = {
    ["Content-Type"] = "text/plain",
    ["User-Agent"] = ua,
    ["X-Forwarded-For"] = ip,
  }
  return wrk.format("POST", "/api/event", headers, body())
end

function delay()
  return delay_ms
end

function response(status, headers, body)
  answered = answered + 1
  if status == 202 and headers["x-plausible-dropped"] == nil and headers["X-Plausible-Dropped"] == nil then
    accepted = accepted + 1
  end
end

function done(summary, latency, requests)
  local total_accepted, total_answered = 0, 0
  for _, thread in ipairs(threads) do
    total_accepted = total_accepted + thread:get("accepted")
    total_answered = total_answered + thread:get("answered")
  end
  io.write(string.format("RESULT accepted=%d answered=%d requests=%d errors=%d p50_us=%d p99_us=%d\n",
    total_accepted, total_answered, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
