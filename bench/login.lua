-- POST /sessions with the right credentials (EMAIL, PASSWORD).
local body = "email=" .. os.getenv("EMAIL"):gsub("@", "%%40") .. "&password=" .. os.getenv("PASSWORD")
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
