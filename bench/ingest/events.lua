-- Tracker posts for wrk, in one of two mixes (MIX in the environment):
--
--   visits (default)  what the official tracker sends: each visitor (an address and a user
--                     agent kept for the whole visit) posts a pageview, its engagement, a second
--                     pageview and its engagement, and one visitor in three a custom event with
--                     props and revenue between them; 2% of visitors are bots, 2% post for an
--                     unknown site. Many visitors are under way at once, taken in turn, so a
--                     visitor's next post leaves only after its previous one was answered (wrk
--                     keeps at most a few hundred posts in flight) and each engagement finds
--                     its visit.
--   new-visits        the worst case: every post comes from a new address, so every pageview
--                     and custom event opens a visit and every engagement finds none (60%
--                     pageviews, 15% engagement, 20% custom events, 5% for an unknown site,
--                     3% bots).
--
-- The X-Forwarded-For address is the visitor's (footfall trusts it from 127.0.0.1). Counts the
-- answers that stored an event (202 without X-Plausible-Dropped) so the runner can check the
-- store. Set RATE_DELAY_MS to pace each connection (the half-rate run).

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
local mix = os.getenv("MIX") or "visits"
-- Visitors under way at once in the visits mix: more than wrk ever has in flight, so each
-- visitor's previous post is answered before its next is sent.
local VISITORS = 4096
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

local function address()
  return "85." .. math.random(1, 220) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
end

local function user_agent(bots_percent)
  if math.random(100) <= bots_percent then return bot end
  return user_agents[math.random(#user_agents)]
end

local function page_url()
  return "https://example.com" .. pages[math.random(#pages)]
end

local function pageview(url, domain, referrer)
  return '{"n":"pageview","u":"' .. url .. '","d":"' .. domain .. '","r":' .. referrer .. '}'
end

local function engagement(url, domain, referrer)
  return '{"n":"engagement","u":"' .. url .. '","d":"' .. domain .. '","r":' .. referrer ..
    ',"sd":' .. math.random(100) .. ',"e":' .. math.random(60000) .. '}'
end

local function signup(url, domain, referrer)
  return '{"n":"Signup","u":"' .. url .. '","d":"' .. domain .. '","r":' .. referrer ..
    ',"p":{"plan":"pro","source":"hero"},"$":{"amount":"19.99","currency":"EUR"}}'
end

-- The visits mix ------------------------------------------------------------------------

-- A visit's posts in order, as the tracker sends them.
local function new_visit()
  local domain = "example.com"
  if math.random(100) <= 2 then domain = "unknown.example.net" end
  local first, second = page_url(), page_url()
  local referrer = "null"
  if math.random(100) <= 40 then
    referrer = '"' .. referrers[math.random(#referrers)] .. '"'
  else
    first = first .. "?utm_source=newsletter&utm_medium=email"
  end
  local posts = { pageview(first, domain, referrer), engagement(first, domain, referrer) }
  local internal = '"' .. first .. '"'  -- the second page's referrer is the first page
  if math.random(3) == 1 then
    table.insert(posts, signup(first, domain, referrer))
  end
  table.insert(posts, pageview(second, domain, internal))
  table.insert(posts, engagement(second, domain, internal))
  return { posts = posts, next = 1, ip = address(), ua = user_agent(2) }
end

local visitors = {}
local turn = 0

local function visit_request()
  turn = turn % VISITORS + 1
  local visitor = visitors[turn]
  if visitor == nil or visitor.next > #visitor.posts then
    visitor = new_visit()
    visitors[turn] = visitor
  end
  local body = visitor.posts[visitor.next]
  visitor.next = visitor.next + 1
  return visitor.ip, visitor.ua, body
end

-- The new-visits mix --------------------------------------------------------------------

local function lone_request()
  local roll = math.random(100)
  local page = page_url()
  local body
  if roll <= 60 then
    if math.random(100) <= 40 then
      body = pageview(page, "example.com", '"' .. referrers[math.random(#referrers)] .. '"')
    else
      body = pageview(page .. "?utm_source=newsletter&utm_medium=email", "example.com", "null")
    end
  elseif roll <= 75 then
    body = engagement(page, "example.com", "null")
  elseif roll <= 95 then
    body = signup(page, "example.com", "null")
  else
    body = pageview(page, "unknown.example.net", "null")
  end
  return address(), user_agent(3), body
end

function request()
  local ip, ua, body
  if mix == "new-visits" then
    ip, ua, body = lone_request()
  else
    ip, ua, body = visit_request()
  end
  local headers = {
    ["Content-Type"] = "text/plain",
    ["User-Agent"] = ua,
    ["X-Forwarded-For"] = ip,
  }
  return wrk.format("POST", "/api/event", headers, body)
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
