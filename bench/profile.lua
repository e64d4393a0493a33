-- GET /profile with a session cookie: one fixed token (TOKEN), or a random token per request
-- from a file of tokens, one per line (the script's argument after `--`, or TOKENS_FILE).
local tokens = {}
local fixed = os.getenv("TOKEN")

function init(args)
  local file = args[1] or os.getenv("TOKENS_FILE")
  if file then
    for line in io.lines(file) do
      if #line > 0 then tokens[#tokens + 1] = line end
    end
  end
  math.randomseed(os.time())
end

request = function()
  local token = fixed
  if #tokens > 0 then token = tokens[math.random(#tokens)] end
  return wrk.format("GET", "/profile", { ["Cookie"] = "session_id=" .. token })
end
