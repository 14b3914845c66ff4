#!/usr/bin/env bash
# Where a re-warm's PING stall comes from (BENCHMARKS.md, issue 12): `hearth bench warm` at 355
# practices with 0 % and 1 % changed, watched by a PING probe in a process of its own at real-time
# priority (redis-cli --latency-history under SCHED_FIFO), once with redis-server at normal
# priority and once at real-time priority, so the warm and PostgreSQL cannot take its core.
# Needs root (chrt), the release binary and a seeded bench schema (run `hearth bench warm` once).
# Prints, per warm: the cutover, the in-process probe's longest PING, Redis's own longest event,
# and the real-time probe's longest PING inside that warm's time window.
set -euo pipefail
cd "$(dirname "$0")/../.."
url=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
pid=$(pidof redis-server | awk '{print $1}')
out=$(mktemp -d)
restore() { chrt -a -o -p 0 "$pid" >/dev/null 2>&1 || true; pkill -f 'redis-cli --latency-history' || true; rm -rf "$out"; }
trap restore EXIT
# Each line stamped with the time it was written (the probe's stdout is line-buffered for this).
stamp() { python3 -u -c 'import sys, time
for line in sys.stdin: print("%.3f" % time.time(), line, end="", flush=True)'; }

for mode in normal realtime; do
  [ "$mode" = realtime ] && chrt -a -f -p 50 "$pid"
  chrt -f 60 stdbuf -oL redis-cli --latency-history -i 0.2 2>&1 | stamp >"$out/probe" &
  sleep 1
  target/release/hearth bench warm --url "$url" --practices 355 --no-seed true --change 0,1 2>&1 | stamp >"$out/bench"
  pkill -f 'redis-cli --latency-history' || true
  sleep 0.5
  chrt -a -o -p 0 "$pid"
  python3 - "$mode" "$out" <<'PY'
import json, sys
mode, out = sys.argv[1], sys.argv[2]
# redis-cli --latency-history, not on a terminal: "min max avg samples" per line, per 0.2 s window.
probe = []
for line in open(f"{out}/probe"):
    parts = line.split()
    if len(parts) >= 5 and parts[2].isdigit():
        probe.append((float(parts[0]), int(parts[2])))
start = None
for line in open(f"{out}/bench"):
    at, text = line.rstrip("\n").split(" ", 1)
    at = float(at)
    if ":" in text and "{" in text:
        run, body = text.split(":", 1)
        d = json.loads(body)
        # Skip the first 0.5 s: a window still open from the previous warm's cutover.
        window = [m for (t, m) in probe if start is not None and start + 0.5 < t <= at]
        print(f"{mode:8} {run.strip():12} cutover {d['cutoverMs']:7.2f} ms | in-process PING {d['longestPingStallMs']:6.1f} ms"
              f" | Redis's longest event {d.get('redisLongestEventMs')} ms ({d.get('redisLongestEvent')})"
              f" | real-time probe {max(window) if window else '-'} ms")
    start = at
PY
done
