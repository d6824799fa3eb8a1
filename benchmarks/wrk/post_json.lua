-- POST one fixed JSON body with a bearer key on every request.
--
--   wrk -t2 -c10 -d10s --latency -s benchmarks/wrk/post_json.lua \
--       http://127.0.0.1:PORT/v1/tasks -- API_KEY '{"views": {"front": "TOKEN"}}'
--
-- args[1]: the API key; args[2]: the request body (bench_api.py passes both).
-- No response() hook: it would make wrk parse every body and cost CPU the server needs.

function init(args)
   if #args < 2 then
      error("usage: wrk ... -s post_json.lua URL -- API_KEY JSON_BODY")
   end
   wrk.method = "POST"
   wrk.body = args[2]
   wrk.headers["Authorization"] = "Bearer " .. args[1]
   wrk.headers["Content-Type"] = "application/json"
end
