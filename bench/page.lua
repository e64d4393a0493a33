-- GET of a page (PAGE, /ui/account by default) with the session cookie of one fixed token (TOKEN).
local token = os.getenv("TOKEN")
local page = os.getenv("PAGE") or "/ui/account"

request = function()
  return wrk.format("GET", page, { ["Cookie"] = "session_id=" .. token })
end
