-- GET of a page (PAGE, /ui/account by default) with the session cookie of one fixed token (TOKEN)
-- and, as a browser that has shown a page before holds it, the CSRF cookie (CSRF) when given.
local token = os.getenv("TOKEN")
local csrf = os.getenv("CSRF")
local page = os.getenv("PAGE") or "/ui/account"
local cookie = "session_id=" .. token
if csrf then cookie = cookie .. "; latchkey_csrf=" .. csrf end

request = function()
  return wrk.format("GET", page, { ["Cookie"] = cookie })
end
