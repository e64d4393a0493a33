-- GET of a page (PAGE, /ui/account by default) with the session cookie of one fixed token (TOKEN)
-- and, as a browser that has shown a page before holds it, the CSRF cookie (CSRF) when given; the
-- script's first argument, when given, is the Accept-Language header.
local token = os.getenv("TOKEN")
local csrf = os.getenv("CSRF")
local page = os.getenv("PAGE") or "/ui/account"
local cookie = "session_id=" .. token
if csrf then cookie = cookie .. "; latchkey_csrf=" .. csrf end
local headers = { ["Cookie"] = cookie }

init = function(args)
  if args[1] then headers["Accept-Language"] = args[1] end
end

request = function()
  return wrk.format("GET", page, headers)
end
