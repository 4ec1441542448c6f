#!/usr/bin/env python3
"""Load test of the local API with wrk on loopback (docs/benchmarks.md).

Starts `edgenode serve --demo` (release build), then in the same run measures with wrk:
  1. GET /health (the baseline: routing, HTTP and logging without the domain),
  2. GET /v1/availability for one service and one day (with a device token),
  3. POST /v1/appointments, each request booking a different free start,
  4. POST /v1/sales, each request a checkout paid in the same request (issue 16: cash with change,
     card, a tip now and then), against the booking run's p99,
and the daemon's resident memory idle and under load. Prints a ratio against the baseline.

Usage: swift build -c release --product edgenode && scripts/bench-api.py [--duration 10] [--connections 32]
"""
import argparse, datetime, json, os, re, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def run_wrk(args, url, script=None, duration=10, connections=32, pid=None):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        command += ["-s", script]
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output = subprocess.run(command + [url], capture_output=True, text=True, env={**os.environ, **args}).stdout
    stop.set()
    sampler.join()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def percentile(name):
        match = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)", output)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    mean = re.search(r"Latency\s+([\d.]+)(us|ms|s)", output)
    mean_ms = float(mean.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[mean.group(2)]
    total = int(re.search(r"(\d+) requests in", output).group(1))
    return {"rate": rate, "p50": percentile("50"), "p99": percentile("99"), "requests": total,
            "errors": int(non2xx.group(1)) if non2xx else 0, "mean_ms": mean_ms, "peak_rss_kib": peak[0], "raw": output}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/edgenode"))
    parser.add_argument("--port", type=int, default=18471)
    options = parser.parse_args()

    daemon = subprocess.Popen([options.binary, "serve", "--demo", "--port", str(options.port), "--log-level", "warning"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = ""
    while "API: http" not in log:
        line = daemon.stdout.readline()
        if not line:
            sys.exit("the daemon did not start:\n" + log)
        log += line
    threading.Thread(target=lambda: [None for _ in daemon.stdout], daemon=True).start()
    token = re.search(r"front desk\s+(\S+)", log).group(1)
    base = f"http://127.0.0.1:{options.port}"
    try:
        time.sleep(1)
        idle = rss_kib(daemon.pid)
        services = get(f"{base}/v1/services", token)["items"]
        service = next(s for s in services if s["capacity"] == 1 and not s["resources"])
        tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()

        # One start per staff member and day (the day's first offered start, so no booking moves
        # another's grid), from day 15 on, beyond the demo's own appointments. The run books one,
        # cancels it as soon as it is confirmed, and books the next: a steady mix of both writes.
        starts = []
        seen = set()
        for offering in [s for s in services if s["capacity"] == 1 and not s["resources"]]:
            day = datetime.date.today() + datetime.timedelta(days=15)
            for _ in range(6):
                answer = get(f"{base}/v1/availability?service={offering['id']}&date={day.isoformat()}&days=7", token)
                for member in answer["staff"]:
                    for start in member["starts"]:
                        if (member["staff"], start[:10]) not in seen:
                            seen.add((member["staff"], start[:10]))
                            starts.append((member["staff"], start, offering["id"]))
                day += datetime.timedelta(days=7)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write("local slots = {\n" + ",\n".join(f'{{"{staff}", "{start}", "{offering}"}}' for staff, start, offering in starts) + "\n}\n")
            lua.write(f"""
local counter = 0
local thread_id = 0
local threads = 0
local cancels = {{}}
created = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) thread_id = id end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  if #cancels > 0 then
    local path = table.remove(cancels, 1)
    return wrk.format("POST", path, nil, '{{"by":"shop","reason":"load test"}}')
  end
  local index = counter * 2 + thread_id + 1
  counter = counter + 1
  local slot = slots[((index - 1) % #slots) + 1]
  return wrk.format("POST", "/v1/appointments", nil,
    '{{"services":[{{"service":"' .. slot[3] .. '","staff":"' .. slot[1] .. '"}}],"start":"' .. slot[2] .. '","guest":{{"name":"Load test"}}}}')
end
response = function(status, headers, body)
  if status == 201 then
    created = created + 1
    local id = string.match(body, '"id":"([%w%-]+)"')
    if id then table.insert(cancels, "/v1/appointments/" .. id .. "/cancel") end
  end
end
""")
            booking_script = lua.name
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            auth_script = lua.name
        staff_ids = [member["id"] for member in get(f"{base}/v1/staff", token)["items"]]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(f"""
local counter = 0
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  counter = counter + 1
  local price = 500000 + (counter % 7) * 100000
  local tip = ""
  local total = price
  if counter % 5 == 0 then
    tip = ',"tips":[{{"staff":"{staff_ids[0]}","amount_minor":50000}}]'
    total = price + 50000
  end
  local payment
  if counter % 2 == 0 then
    payment = '{{"method":"cash","amount_minor":' .. total .. ',"tendered_minor":' .. (total + 200000) .. '}}'
  else
    payment = '{{"method":"card","amount_minor":' .. total .. ',"card_last4":"4242","approval_code":"A1"}}'
  end
  return wrk.format("POST", "/v1/sales", nil,
    '{{"lines":[{{"name":"Shampoo","quantity":1,"unit_price_minor":' .. price .. '}}]' .. tip .. ',"payments":[' .. payment .. ']}}')
end
""")
            checkout_script = lua.name

        health = run_wrk({}, f"{base}/health", duration=options.duration, connections=options.connections, pid=daemon.pid)
        availability = run_wrk({}, f"{base}/v1/availability?service={service['id']}&date={tomorrow}", auth_script,
                               duration=options.duration, connections=options.connections, pid=daemon.pid)
        booking = run_wrk({}, base, booking_script, duration=10, connections=8, pid=daemon.pid)
        checkout = run_wrk({}, base, checkout_script, duration=10, connections=8, pid=daemon.pid)
        calm = run_wrk({}, f"{base}/v1/availability?service={service['id']}&date={tomorrow}", auth_script,
                       duration=options.duration, connections=4, pid=daemon.pid)
        after = rss_kib(daemon.pid)
        print(f"slots prepared for booking: {len(starts)}")
        for name, result in [("GET /health (baseline)", health), (f"GET /v1/availability c={options.connections}", availability),
                             ("GET /v1/availability c=4", calm), ("POST book+cancel c=8", booking),
                             ("POST checkout+pay c=8", checkout)]:
            print(f"{name:26s} {result['rate']:9.0f} req/s  p50 {result['p50']:7.2f} ms  p99 {result['p99']:7.2f} ms  "
                  f"non-2xx {result['errors']}/{result['requests']}  peak RSS {result['peak_rss_kib'] / 1024:.1f} MiB")
        print(f"availability / health throughput: {availability['rate'] / health['rate']:.3f}; p99 ratio {availability['p99'] / health['p99']:.2f}")
        succeeded = booking['requests'] - booking['errors']
        print(f"booking run ({len(starts)} starts, each booked then cancelled): {succeeded} writes succeeded "
              f"in 10 s: about {succeeded / 20:.0f} bookings/s plus as many cancellations/s; "
              f"{booking['errors']} refused (a start re-booked before its cancellation landed)")
        print(f"checkout with payment / booking: p99 ratio {checkout['p99'] / booking['p99']:.2f} (goal ≤ 1.5), "
              f"p50 ratio {checkout['p50'] / booking['p50']:.2f}")
        print(f"RSS idle {idle / 1024:.1f} MiB, after load {after / 1024:.1f} MiB, "
              f"peak {max(health['peak_rss_kib'], availability['peak_rss_kib'], booking['peak_rss_kib'], calm['peak_rss_kib'], checkout['peak_rss_kib']) / 1024:.1f} MiB")
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
