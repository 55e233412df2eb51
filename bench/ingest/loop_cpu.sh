#!/bin/bash
# CPU of footfall's web-loop thread per request under a wrk load (WAL_SYNC=group unless set).
#   bench/ingest/loop_cpu.sh [srcdir]    # srcdir: e.g. a `git worktree` of older code + /src
# Prints req/s, the loop thread's CPU µs per request (and how busy it was), and the whole
# process's CPU µs per request, from /proc/<pid>/task/<tid>/stat before and after the run.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${1:-$ROOT/src}
D=$(mktemp -d /tmp/footfall-loop-cpu.XXXX)
export DATA_DIR=$D WAL_SYNC=${WAL_SYNC:-group} LOG_LEVEL=warning HTTP_PORT=${HTTP_PORT:-8911} PYTHONPATH=$SRC
cd "$ROOT"
.venv/bin/footfall migrate >/dev/null 2>&1
.venv/bin/footfall site create example.com >/dev/null 2>&1
.venv/bin/footfall serve & PID=$!
for _ in $(seq 60); do curl -s -o /dev/null "127.0.0.1:$HTTP_PORT/api/health" && break; sleep 0.5; done
URL=http://127.0.0.1:$HTTP_PORT/api/event
wrk -t1 -c50 -d3s -s bench/ingest/events.lua "$URL" >/dev/null  # warm-up
l0=$(awk '{print $14+$15}' /proc/$PID/task/$PID/stat); p0=$(awk '{print $14+$15}' /proc/$PID/stat)
out=$(wrk -t1 -c50 -d"${DUR:-12}"s -s bench/ingest/events.lua "$URL")
l1=$(awk '{print $14+$15}' /proc/$PID/task/$PID/stat); p1=$(awk '{print $14+$15}' /proc/$PID/stat)
rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
python3 -c "r=$rps;d=${DUR:-12}; print(f'{r:8.0f} req/s  loop {($l1-$l0)*1e4/(r*d):5.0f} µs/req ({($l1-$l0)/d:.0f}% busy)  process {($p1-$p0)*1e4/(r*d):5.0f} µs/req')"
kill -INT $PID; wait $PID 2>/dev/null
rm -rf "$D"
