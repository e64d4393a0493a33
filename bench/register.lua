-- POST /users with a new address on every request.
local counter = 0
local prefix = tostring(math.random(1, 1000000000))

setup = function(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end

request = function()
  counter = counter + 1
  local body = "email=r" .. prefix .. "-" .. (tid or "0") .. "-" .. counter .. "%40bench.latchkey.test&password=bench-password-1"
  return wrk.format("POST", "/users", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
