#!/bin/bash
# CPU of `footfall serve` per request under a wrk load, by thread (WAL_SYNC=group unless set).
#   bench/ingest/loop_cpu.sh [srcdir]    # srcdir: e.g. a `git worktree` of older code + /src
#   DUR=30 bench/ingest/loop_cpu.sh      # seconds of load (default 12)
# Prints req/s, then CPU µs per request for the web loop's thread (footfall-main), footfall's
# other Python threads (WAL syncer, flusher, ...), and the embedded engine's own threads
# (ThreadPool: inserts; MergeMutate: background merges), from /proc/<pid>/task/*/stat
# before and after the run, with each thread's user and kernel (sys) share. The web loop's thread is
# the one bound by the interpreter lock. Python's threads all carry the process's name to the
# kernel; with py-spy in .venv (`pip install py-spy`) they are named as in Python
# (footfall-wal-sync, footfall-flusher, ...) from a `py-spy dump` taken during the warm-up.
# MIX=new-visits selects events.lua's other mix (default: visits).
# C=200 loads with 200 connections (default 50).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${1:-$ROOT/src}
DUR=${DUR:-12}
D=$(mktemp -d /tmp/footfall-loop-cpu.XXXX)
export DATA_DIR=$D WAL_SYNC=${WAL_SYNC:-group} LOG_LEVEL=warning HTTP_PORT=${HTTP_PORT:-8911} PYTHONPATH=$SRC
cd "$ROOT"
.venv/bin/footfall migrate >/dev/null 2>&1
.venv/bin/footfall site create example.com >/dev/null 2>&1
.venv/bin/footfall serve & PID=$!
for _ in $(seq 60); do curl -s -o /dev/null "127.0.0.1:$HTTP_PORT/api/health" && break; sleep 0.5; done
URL=http://127.0.0.1:$HTTP_PORT/api/event
wrk -t1 -c50 -d3s -s bench/ingest/events.lua "$URL" >/dev/null & WARM=$!  # warm-up
sleep 1
: >"$D/names"
if [ -x .venv/bin/py-spy ]; then  # "Thread 1234 (idle): "footfall-flusher"" -> "1234 footfall-flusher"
  .venv/bin/py-spy dump --pid $PID 2>/dev/null | sed -n 's/^Thread \([0-9]*\) ([a-z]*): "\(.*\)"$/\1 \2/p' | tr ' ' '\n' |
    paste - - | awk '{gsub(/ /, "_", $2); print $1, $2}' >"$D/names"
fi
wait $WARM
snapshot() {
  for task in /proc/$PID/task/*; do
    tid=$(basename "$task")
    name=$(awk -v t="$tid" '$1 == t {print $2}' "$D/names")
    echo "$tid ${name:-$(tr ' ' _ <"$task/comm")} $(awk '{print $14, $15}' "$task/stat")"
  done
}
snapshot >"$D/before"
out=$(wrk -t1 -c"${C:-50}" -d"${DUR}"s -s bench/ingest/events.lua "$URL")
snapshot >"$D/after"
rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
python3 - "$D/before" "$D/after" "$rps" "$PID" "$DUR" <<'PY'
import collections, sys
def read(path):
    return {tid: (name, int(user), int(system)) for tid, name, user, system in (line.split() for line in open(path))}
before, after = read(sys.argv[1]), read(sys.argv[2])
rate, pid, seconds = float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
user, system = collections.Counter(), collections.Counter()
for tid, (name, u, s) in after.items():
    name += "-main" if tid == pid else ""
    _, u0, s0 = before.get(tid, (name, 0, 0))
    user[name] += u - u0
    system[name] += s - s0
per_request = 1e4 / (rate * seconds)  # clock ticks (1/100 s) -> µs per request
print(f"{rate:8.0f} req/s")
for name, _ in (user + system).most_common():
    u, s = user[name], system[name]
    if u + s:
        print(
            f"  {name:18s} {(u + s) * per_request:6.1f} µs/req  (user {u * per_request:5.1f}, "
            f"sys {s * per_request:5.1f}; {(u + s) / seconds:.0f}% of a core)"
        )
print(f"  {'total':18s} {sum((user + system).values()) * per_request:6.1f} µs/req")
PY
kill -INT $PID; wait $PID 2>/dev/null
rm -rf "$D"
