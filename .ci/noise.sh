#!/usr/bin/env bash
# Unrelated keys in the shared Redis, so `make test` proves no test assumes an empty or small
# keyspace (a newcomer's Redis often holds another app's cache).
#   .ci/noise.sh load PREFIX [N]   N keys (default 300000) under PREFIX, sent with redis-cli --pipe
#   .ci/noise.sh unload PREFIX     removes exactly the keys under PREFIX (SCAN MATCH + UNLINK)
# PREFIX must start with `noise:` (e.g. `noise:$$:`). Redis: HEARTH_REDIS_URL, else 127.0.0.1:6379.
set -euo pipefail
export LC_ALL=C # awk's length() must count bytes, as the Redis protocol does

url=${HEARTH_REDIS_URL:-redis://127.0.0.1:6379}

usage() {
  echo "usage: $0 load PREFIX [N] | unload PREFIX   (PREFIX starts with noise:)" >&2
  exit 2
}

# Only a `noise:` prefix without glob characters: `PREFIX*` then matches exactly its keys, and
# no typo can reach anyone else's.
check_prefix() {
  case $1 in
    noise:*) ;;
    *) echo "$0: refusing prefix '$1': it must start with noise:" >&2; exit 2 ;;
  esac
  case $1 in
    *[\*\?\[\]\\]* | *[[:space:]]*) echo "$0: refusing prefix '$1': no glob characters or spaces" >&2; exit 2 ;;
  esac
}

load() {
  local prefix=$1 n=$2 out
  # One command per key: strings, hashes and sets, about half with a TTL of an hour or more (so none
  # vanishes mid-suite), some named like the cache's keys (data, index sets, metadata, locks, jobs).
  out=$(awk -v p="$prefix" -v n="$n" '
    function arg(s) { return "$" length(s) "\r\n" s "\r\n" }
    function cmd(a, k,   i, s) { s = "*" k "\r\n"; for (i = 1; i <= k; i++) s = s arg(a[i]); printf "%s", s }
    function set(key, v, ttl,   a) {
      a[1] = "SET"; a[2] = key; a[3] = v
      if (ttl > 0) { a[4] = "EX"; a[5] = ttl; cmd(a, 5) } else cmd(a, 3)
    }
    function hset(key, f1, v1, f2, v2,   a) { a[1] = "HSET"; a[2] = key; a[3] = f1; a[4] = v1; a[5] = f2; a[6] = v2; cmd(a, 6) }
    function sadd(key, m1, m2,   a) { a[1] = "SADD"; a[2] = key; a[3] = m1; a[4] = m2; cmd(a, 4) }
    function expire(key, ttl,   a) { a[1] = "EXPIRE"; a[2] = key; a[3] = ttl; cmd(a, 3) }
    BEGIN {
      split("Charges,Visits,Cash: Transfer,Cancellations: Same Day,No Shows", m, ",")
      split("Monthly,Weekly,Quarterly", f, ",")
      for (i = 0; i < n; i++) {
        ds = i % 9 + 1; ttl = 3600 + i % 600; kind = i % 16
        if (i < 9) {
          sadd(p "idx:{ds:" ds "}:master", "cache:{ds:" ds "}:m:Visits:p:1:prov:*:freq:Monthly", "x")
        } else if (i < 18) {
          set(p "cache:meta:{ds:" ds "}:last_warm", "[{\"timestamp\":\"2025-01-01T00:00:00.000Z\",\"totalEntries\":1}]", 0)
        } else if (i < 27) {
          set(p "lock:cache:warm:{ds:" ds "}", "job:noise@elsewhere", ttl)
        } else if (kind == 0) {
          set(p "cache:{ds:" ds "}:m:" m[i % 5 + 1] ":p:" i ":prov:*:freq:" f[i % 3 + 1], "[{\"measure_value\":\"" i ".00\"}]", ttl)
        } else if (kind == 1) {
          set(p "cache:{ds:" ds "}:m:" m[i % 5 + 1] ":p:" i ":prov:" i % 7 ":freq:" f[i % 3 + 1], "[]", 0)
        } else if (kind == 2) {
          sadd(p "idx:{ds:" ds "}:m:" m[i % 5 + 1] ":p:" i ":freq:" f[i % 3 + 1], "cache:{ds:" ds "}:m:x:p:" i, "y")
        } else if (kind == 3) {
          hset(p "hearth:jobs:job:n" i, "status", "completed", "progress", "100")
          expire(p "hearth:jobs:job:n" i, ttl)
        } else if (kind == 4) {
          hset(p "session:" i, "user", "u" i, "role", "viewer")
          expire(p "session:" i, ttl)
        } else if (kind == 5) {
          hset(p "user:" i, "name", "n" i, "visits", i)
        } else if (kind == 6) {
          sadd(p "tags:" i, "a", "b" i % 13)
          if (i % 2) expire(p "tags:" i, ttl)
        } else if (kind < 11) {
          set(p "page:" i, "<html>" i "</html>", ttl)
        } else {
          set(p "str:" i, "value-" i, 0)
        }
      }
    }' | redis-cli -u "$url" --pipe 2>&1) || { echo "$out" >&2; return 1; }
  case $out in
    *"errors: 0,"*) ;;
    *) echo "$out" >&2; return 1 ;;
  esac
}

# One SCAN step per call, its keys UNLINKed in the same script (in slices: Lua's unpack has a
# limit); UNLINK answers only for keys that still existed, so a key SCAN returns twice is counted
# once. A single server only, as the test suite uses.
UNLOAD_SCRIPT='
local r = redis.call("SCAN", ARGV[1], "MATCH", ARGV[2], "COUNT", ARGV[3])
local keys, n = r[2], 0
for i = 1, #keys, 1000 do
  n = n + redis.call("UNLINK", unpack(keys, i, math.min(i + 999, #keys)))
end
return {r[1], n}'

unload() {
  local prefix=$1 cursor=0 removed=0 reply
  while :; do
    mapfile -t reply < <(redis-cli -u "$url" EVAL "$UNLOAD_SCRIPT" 0 "$cursor" "$prefix*" 10000)
    if [ ${#reply[@]} -ne 2 ] || [[ ! ${reply[0]} =~ ^[0-9]+$ ]] || [[ ! ${reply[1]} =~ ^[0-9]+$ ]]; then
      echo "$0: unexpected answer from Redis while unloading: ${reply[*]}" >&2
      return 1
    fi
    cursor=${reply[0]} removed=$((removed + reply[1]))
    [ "$cursor" = 0 ] && break
  done
  echo "$removed"
}

[ $# -ge 2 ] || usage
sub=$1 prefix=$2
check_prefix "$prefix"
case $sub in
  load)
    [ $# -le 3 ] || usage
    n=${3:-300000}
    case $n in '' | *[!0-9]*) echo "$0: N must be a whole number, not '$n'" >&2; exit 2 ;; esac
    start=$(date +%s%N)
    load "$prefix" "$n"
    echo "loaded $n noise keys under $prefix in $(( ($(date +%s%N) - start) / 1000000 )) ms"
    ;;
  unload)
    [ $# -eq 2 ] || usage
    start=$(date +%s%N)
    removed=$(unload "$prefix")
    echo "removed $removed noise keys under $prefix in $(( ($(date +%s%N) - start) / 1000000 )) ms"
    ;;
  *) usage ;;
esac
