-- wrk script for bench/gateway.py: the same people search as the Python client sends,
-- and one JSON line at the end with what the bench reads (latencies in microseconds).
-- The key comes on the command line: wrk ... -H "X-Api-Key: KEY" -s bench/people_search.lua
wrk.method = "POST"
wrk.path = "/api/v1/mixed_people/api_search"
wrk.body = '{"person_titles": ["vp of sales"], "per_page": 10}'
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "non2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
