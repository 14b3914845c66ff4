# Sourced by the run and test scripts: make sure a Redis answers at HEARTH_REDIS_URL (default
# redis://127.0.0.1:6379). If none does and redis-server is installed, start a private one on a
# free port with its files under target/, export its URL, and stop it when the script exits.

hearth_redis_answers() {
  local url=$1 hostport host port
  hostport=${url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
  host=${hostport%:*}; port=${hostport##*:}
  [ "$host" = "$hostport" ] && port=6379
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(timeout 2 redis-cli -u "$url" ping 2>/dev/null)" = PONG ]
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG" 2>/dev/null
  fi
}

hearth_ensure_redis() {
  local url=${HEARTH_REDIS_URL:-redis://127.0.0.1:6379}
  if hearth_redis_answers "$url"; then
    export HEARTH_REDIS_URL=$url
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "No Redis answers at $url and redis-server is not installed." >&2
    echo "Start one (apt-get install redis-server, or docker run -p 6379:6379 redis:7) or set HEARTH_REDIS_URL." >&2
    return 1
  fi
  local port dir
  for port in $(seq 16379 16479); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  done
  dir="$PWD/target/redis-$port"
  mkdir -p "$dir"
  echo "No Redis at $url: starting a private one on 127.0.0.1:$port (files in $dir)"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --logfile "$dir/redis.log" --daemonize yes --pidfile "$dir/redis.pid"
  HEARTH_PRIVATE_REDIS_PID_FILE="$dir/redis.pid"
  trap 'hearth_stop_private_redis' EXIT
  export HEARTH_REDIS_URL="redis://127.0.0.1:$port"
  for _ in $(seq 1 50); do hearth_redis_answers "$HEARTH_REDIS_URL" && return 0; sleep 0.1; done
  echo "The private Redis did not start; see $dir/redis.log" >&2
  return 1
}

hearth_stop_private_redis() {
  if [ -n "${HEARTH_PRIVATE_REDIS_PID_FILE:-}" ] && [ -f "$HEARTH_PRIVATE_REDIS_PID_FILE" ]; then
    kill "$(cat "$HEARTH_PRIVATE_REDIS_PID_FILE")" 2>/dev/null || true
    echo "Stopped the private Redis."
  fi
}
