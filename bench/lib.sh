# Shared by bench/compare and bench/profile (sourced, not run): one nginx pinned to a CPU on a
# free loopback port, and a cleanup that stops every process the script started, by PID.
#
# The sourcing script sets -euo pipefail and then calls start_nginx; it adds the PID of every
# process it starts in the background to `pids`, so that the EXIT trap stops it. nginx serves
# HTTP/1.1 on $port and cleartext HTTP/2 (prior knowledge, h2c) on $h2port, the same /hello.
# shellcheck shell=bash

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

# nginx (one worker) runs on server_cpu, the load generator on load_cpu: each gets a whole core.
# shellcheck disable=SC2034  # load_cpu is for the sourcing script
if (( $(nproc) >= 2 )); then server_cpu=0 load_cpu=1; else
    log "only one CPU: server and generator share CPU 0, numbers will be low"
    server_cpu=0 load_cpu=0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cicada-bench-XXXXXX")
pids=()

# Stops every process this script started, by PID: SIGTERM, then SIGKILL after 3 s.
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 30); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        (( alive )) || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- nginx ------------------------------------------------------------------------------------

# A port below the kernel's ephemeral range (so no outgoing connection holds it) that nothing
# listens on.
free_port() {
    local low port
    low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    for _ in $(seq 50); do
        port=$((10000 + RANDOM % (low - 10000)))
        (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
    die "no free port found"
}

# multi_accept: the worker takes every pending connection each time; without it, once busy it
# accepts one a loop turn, and connections made while others already load it (cicada's ramp of
# 10,000 users) wait seconds in the accept queue.
write_nginx_conf() {
    mkdir -p "$work/nginx/tmp"
    cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 12000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port backlog=16384;
    location /hello { return 200 "Hello, World!"; }
    location /session {
        add_header Set-Cookie "session=4f2a9c; Path=/";
        default_type application/json;
        return 200 '{"id":42,"name":"lamp","tags":["a","b"],"price":12.5,"stock":{"n":3}}';
    }
  }
  server {
    listen unix:$work/nginx/status.sock;
    location = /nginx_status { stub_status; }
  }
  server {
    listen 127.0.0.1:$h2port http2 backlog=16384;
    location /hello { return 200 "Hello, World!"; }
  }
}
EOF
}

# Starts nginx on two free ports ($port, $h2port); tries others if one was taken meanwhile.
start_nginx() {
    local pid
    for _ in 1 2 3; do
        port=$(free_port)
        h2port=$(free_port)
        [[ $h2port != "$port" ]] || continue
        write_nginx_conf
        taskset -c "$server_cpu" /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" \
            -e "$work/nginx/error.log" -g 'daemon off;' >"$work/nginx/stdout.log" 2>&1 &
        pid=$!
        pids+=("$pid")
        for _ in $(seq 100); do
            [[ $(curl -s "http://127.0.0.1:$port/hello" 2>/dev/null) == "Hello, World!" &&
                $(curl -s --http2-prior-knowledge "http://127.0.0.1:$h2port/hello" 2>/dev/null) == \
                "Hello, World!" ]] && return
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    cat "$work/nginx/error.log" >&2
    die "nginx did not start"
}

# nginx's stub_status, asked on a Unix socket of its own: over TCP the question would wait in
# the load's accept queue and take an ephemeral port beside 10,000 busy ones.
nginx_status() {
    curl -s -m 5 --unix-socket "$work/nginx/status.sock" http://nginx/nginx_status
}

# Connections nginx holds open right now (its stub_status, minus the asking connection).
nginx_connections() {
    local n
    n=$(nginx_status | awk '/^Active connections/ {print $3}')
    echo $(( ${n:-1} - 1 ))
}

# Requests nginx has served so far, from its stub_status (the asking request included).
nginx_requests() {
    nginx_status | awk 'NR == 3 {print $3}'
}

# ---- measuring helpers ------------------------------------------------------------------------

# A number field of the "total" object of cicada's JSON report (the first such key after it).
json_total() {
    tr -d '\n' <"$1" | grep -o '"total"[[:space:]]*:.*' |
        grep -o "\"$2\"[[:space:]]*:[[:space:]]*[0-9.eE+-]*" | head -1 | sed 's/.*:[[:space:]]*//'
}

# A number field that appears once in the whole JSON report (such as duration_s).
json_field() {
    tr -d '\n' <"$1" | grep -o "\"$2\"[[:space:]]*:[[:space:]]*[0-9.eE+-]*" | head -1 |
        sed 's/.*:[[:space:]]*//'
}

# A number field of the row METHOD NAME of the JSON report's "stats" (json_row FILE METHOD NAME
# FIELD); the report writes each row's "method" before its "name".
json_row() {
    tr -d '\n' <"$1" | sed 's/"method"/\n&/g' |
        grep -E "^\"method\"[[:space:]]*:[[:space:]]*\"$2\"[[:space:]]*,[[:space:]]*\"name\"[[:space:]]*:[[:space:]]*\"$3\"" |
        head -1 | grep -o "\"$4\"[[:space:]]*:[[:space:]]*[0-9.eE+-]*" | head -1 | sed 's/.*:[[:space:]]*//'
}

# Errors raised by the scenario's tasks in the JSON report: the sum of the counts of its
# "exceptions", the list the report writes just before "user_count".
json_exceptions() {
    tr -d '\n' <"$1" |
        awk '{ i = index($0, "\"exceptions\""); j = index($0, "\"user_count\""); if (i && j > i) print substr($0, i, j - i) }' |
        { grep -o '"count"[[:space:]]*:[[:space:]]*[0-9]*' || true; } | awk -F: '{ s += $2 } END { print s + 0 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
per_req_us() { awk -v c="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", c * 1e6 / n; else print "nan" }'; }

# Sets wrk_reqs, wrk_secs and wrk_errs from wrk's output in $work/NAME.out ("123 requests in
# 5.00s", "Socket errors: ...").
# shellcheck disable=SC2034  # the variables are for the caller
wrk_counts() {
    local line
    line=$(grep -oE '[0-9]+ requests in [0-9.]+[a-z]+' "$work/$1.out") ||
        { cat "$work/$1.out" "$work/$1.err" >&2; die "no request count in wrk's output"; }
    wrk_reqs=$(awk '{print $1}' <<<"$line")
    wrk_secs=$(awk '{ d = $4 + 0; if ($4 ~ /ms$/) d /= 1000; if ($4 ~ /m$/) d *= 60; print d }' <<<"$line")
    wrk_errs=$(grep -oE 'Socket errors:.*|Non-2xx.*' "$work/$1.out" | tr '\n' ' ' || true)
}

# Sets h2l_reqs (requests done), h2l_secs, h2l_failed, h2l_errored and h2l_timeout from h2load's
# output in $work/NAME.out ("finished in 5.00s, ...", "requests: 9 total, 10 started, 9 done,
# 9 succeeded, 0 failed, 0 errored, 0 timeout"). h2load's "failed" includes "errored" and
# non-2xx/3xx answers; requests still in flight when -D ends are started but not done.
# shellcheck disable=SC2034  # the variables are for the caller
h2load_counts() {
    local line fin
    if ! line=$(grep -m1 -E '^requests: [0-9]+ total' "$work/$1.out") ||
        ! fin=$(grep -m1 -oE '^finished in [0-9.]+[a-z]+' "$work/$1.out"); then
        cat "$work/$1.out" "$work/$1.err" >&2
        die "no request count in h2load's output"
    fi
    read -r h2l_reqs h2l_failed h2l_errored h2l_timeout < <(tr -d ',' <<<"$line" | awk '{
        for (i = 2; i < NF; i++) v[$(i + 1)] = $i
        print v["done"] + 0, v["failed"] + 0, v["errored"] + 0, v["timeout"] + 0 }')
    h2l_secs=$(awk '{ d = $3 + 0; if ($3 ~ /ms$/) d /= 1000; if ($3 ~ /us$/) d /= 1e6; print d }' <<<"$fin")
}

# strace_run NAME CMD...: runs CMD under `strace -f -c` (every thread) on the load CPU. strace
# makes each system call many times slower, so only the counts mean anything here, not the speed.
# Start-up system calls (loading, threads, the report) are counted too: a few hundred against
# tens of thousands of requests.
strace_run() {
    local name=$1
    shift
    taskset -c "$load_cpu" timeout --foreground -s KILL 120 \
        strace -f -c -o "$work/$name.strace" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
        log "$name exited with status $?"
}

# syscall_mix NAME REQS: "total calls per request" then the calls made at least 0.01 times per
# request, most frequent first ("read 1.00 writev 1.00 ...").
syscall_mix() {
    awk -v n="$2" '
        $NF == "total" { total = $4 }
        $1 ~ /^[0-9.]+$/ && $NF != "total" { calls[$NF] = $4 }
        END {
            printf "%.2f", total / n
            for (c in calls) if (calls[c] / n >= 0.01) printf "\n%s %.2f", c, calls[c] / n
        }' "$work/$1.strace" | { read -r t; echo "$t"; sort -k2 -gr | tr '\n' ' '; }
}

# ---- measuring and summing up -------------------------------------------------------------

# measure NAME CMD...: runs CMD with stdout/stderr in $work/NAME.{out,err} and its CPU seconds
# (user + system, all threads) in $work/NAME.cpu. A hard limit of 120 s bounds it; --foreground
# keeps CMD in our process group so that Ctrl-C reaches it.
measure() {
    local name=$1
    shift
    (
        rc=0
        timeout --foreground -s KILL 120 "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
        times >"$work/$name.times"
        exit "$rc"
    ) || log "$name exited with status $?"
    # `times` prints two lines, the shell's own and its children's: "0m1.234s 0m0.567s".
    tail -1 "$work/$name.times" | awk '{
        split($1, u, "m"); split($2, s, "m"); sub("s", "", u[2]); sub("s", "", s[2]);
        printf "%.3f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' >"$work/$name.cpu"
}

per_sec() { awk -v n="$1" -v d="$2" 'BEGIN { if (d > 0) printf "%.0f", n / d; else print "nan" }'; }

# median V...: the median of the values (the mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf (m >= 1000 ? "%.0f" : "%.2f"), m }'
}

# spread V...: "min-max" of the values.
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

# summary V...: "median (min-max)".
summary() { printf '%s (%s)' "$(median "$@")" "$(spread "$@")"; }

# The plain GET task of the benchmark, in $work/hello.lua: every user requests /hello, no wait.
write_hello() {
    cat >"$work/hello.lua" <<'LUA'
local cicada = require "cicada"
local U = cicada.user("Hammer", { wait_time = cicada.constant(0), tasks = { hello = 1 } })
function U:hello() self.client:get("/hello") end
LUA
}
