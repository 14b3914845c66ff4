#!/usr/bin/env bash
# The console's HTTP API under load while a 1M-row warm and its cutover run (issue 14, point 4):
# 200 connections polling the warming status and 16 running cached queries, driven by wrk
# (Debian's `wrk`), first with nothing else running, then during a full warm of the 355-practice
# bench source (999,680 rows, 68,160 entries); and the stats endpoint with 50 sources.
# Needs the release binary and the bench tables (run `hearth bench warm` once); BENCHMARKS.md
# has the figures. Uses port 3300, the `bench:load:` key prefix and registry ids 3001-3048, and
# removes all three afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
pg=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
port=3300
base=http://127.0.0.1:$port
secs=${LOAD_SECONDS:-20}
command -v wrk >/dev/null || { echo "load.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x target/release/hearth ] || { echo "load.sh: build the release binary first (.ci/build)" >&2; exit 1; }

# 48 more registry entries over the 87-practice table: with 87 and 355, 50 sources.
psql "$pg" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO bench.chart_data_sources (data_source_id, data_source_name, data_source_description, table_name, schema_name)
SELECT g, 'Load ' || g, 'load.sh copy', 'agg_app_measures_87', 'bench' FROM generate_series(3001, 3048) g
ON CONFLICT (data_source_id) DO NOTHING;
INSERT INTO bench.chart_data_source_columns (data_source_id, column_name, display_name, data_type, is_filterable,
  is_groupable, is_measure, is_dimension, is_date_field, is_measure_type, is_time_period, sort_order)
SELECT g, c.column_name, c.display_name, c.data_type, c.is_filterable, c.is_groupable, c.is_measure, c.is_dimension,
  c.is_date_field, c.is_measure_type, c.is_time_period, c.sort_order
FROM generate_series(3001, 3048) g, bench.chart_data_source_columns c
WHERE c.data_source_id = 87 AND NOT EXISTS (SELECT 1 FROM bench.chart_data_source_columns x WHERE x.data_source_id = g);
SQL

work=$(mktemp -d)
HEARTH_BIND=127.0.0.1:$port HEARTH_KEY_PREFIX=bench:load: HEARTH_SOURCES="registry:$pg" HEARTH_REGISTRY_SCHEMA=bench \
  HEARTH_ALLOWED_SCHEMAS=bench HEARTH_MIN_REWARM_SECS=0 HEARTH_RATE_WARM_PER_HOUR=0 HEARTH_LOG=warn \
  HEARTH_DATA_DIR="$work" target/release/hearth >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  redis-cli --scan --pattern 'bench:load:*' | xargs -r -d '\n' -n 1000 redis-cli unlink >/dev/null
  psql "$pg" -q -c "DELETE FROM bench.chart_data_sources WHERE data_source_id BETWEEN 3001 AND 3048" || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done

# Dev mode: loopback only; a write states its origin like the console does.
warm() {
  curl -sf -X POST -H 'content-type: application/json' -H "origin: $base" -H 'sec-fetch-site: same-origin' \
    -d "{\"datasourceId\":355,\"force\":true,\"full\":true}" "$base/api/admin/analytics/cache/warm" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["jobId"])'
}
status_of() {
  curl -sf "$base/api/admin/analytics/cache/jobs/$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["status"])'
}
wait_done() {
  while :; do
    s=$(status_of "$1")
    case "$s" in completed) return 0 ;; failed | cancelled) echo "load.sh: job $1 $s" >&2; return 1 ;; esac
    sleep 0.5
  done
}

cat >"$work/query.lua" <<'LUA'
local i = 0
local measures = { "Charges", "Payments", "Visits", "Cancellations" }
request = function()
  i = i + 1
  local path = string.format("/api/analytics/cache/query?datasourceId=355&measure=%s&frequency=Monthly&practice=%d",
    measures[(i % #measures) + 1], 1001 + (i % 355))
  return wrk.format("GET", path)
end
LUA

load() {
  local label=$1
  wrk -t1 -c200 -d"${secs}s" --latency "$base/api/admin/analytics/cache/warming/status" >"$work/status.txt" &
  local pollers=$!
  wrk -t1 -c16 -d"${secs}s" --latency -s "$work/query.lua" "$base/api/analytics/cache/query" >"$work/query.txt"
  wait "$pollers"
  for what in status query; do
    python3 - "$label" "$what" "$work/$what.txt" <<'PY'
import re, sys
label, what, path = sys.argv[1:]
t = open(path).read()
def ms(tag):
    m = re.search(r"^\s*" + tag + r"\s+([\d.]+)(us|ms|s)\s*$", t, re.M)
    if not m: return "?"
    v, u = float(m.group(1)), m.group(2)
    return "%.2f" % (v / 1000 if u == "us" else v * 1000 if u == "s" else v)
reqs = re.search(r"(\d+) requests in", t).group(1)
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
sock = re.search(r"Socket errors: (.*)", t)
print(f"| {label} | {what} | {reqs} | {rps} | {ms('50%')} | {ms('99%')} | {non2xx.group(1) if non2xx else 0} | {sock.group(1) if sock else 'none'} |")
PY
  done
}

echo "first warm of source 355 (so queries hit)"
wait_done "$(warm)"
echo "| while | load | requests | req/s | p50 ms | p99 ms | non-2xx | socket errors |"
echo "|---|---|---|---|---|---|---|---|"
load "idle"
job=$(warm)
load "full warm of 1M rows"
wait_done "$job"
curl -sf "$base/api/admin/analytics/cache/jobs/$job" |
  python3 -c 'import json, sys; d = json.load(sys.stdin)["data"]; print("the warm during the load:", d.get("status"), d.get("rowsProcessed"), "rows in", d.get("duration"), "(duration field),", d.get("warmKind"))'

echo "stats with 50 sources (10 connections, ${secs} s):"
n=$(curl -sf "$base/api/admin/analytics/cache/stats" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"]["datasources"]))')
echo "sources in the stats: $n"
wrk -t1 -c10 -d"${secs}s" --latency "$base/api/admin/analytics/cache/stats" | grep -E 'Latency|50%|99%|Requests/sec|Non-2xx|Socket'
