#!/bin/bash
# CPU of `footfall serve` per request under a wrk load, by thread (WAL_SYNC=group unless set).
#   bench/ingest/loop_cpu.sh [srcdir]    # srcdir: e.g. a `git worktree` of older code + /src
#   DUR=30 bench/ingest/loop_cpu.sh      # seconds of load (default 12)
# Prints req/s, then CPU µs per request for the web loop's thread (footfall-main), footfall's
# other Python threads (WAL syncer, flusher, ...), and the embedded engine's own threads
# (ThreadPool: inserts; MergeMutate: background merges), from /proc/<pid>/task/*/stat
# before and after the run. The web loop's thread is the one bound by the interpreter lock.
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
wrk -t1 -c50 -d3s -s bench/ingest/events.lua "$URL" >/dev/null  # warm-up
snapshot() {
  for task in /proc/$PID/task/*; do
    echo "$(basename "$task") $(tr ' ' _ <"$task/comm") $(awk '{print $14+$15}' "$task/stat")"
  done
}
snapshot >"$D/before"
out=$(wrk -t1 -c50 -d"${DUR}"s -s bench/ingest/events.lua "$URL")
snapshot >"$D/after"
rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
python3 - "$D/before" "$D/after" "$rps" "$PID" "$DUR" <<'PY'
import collections, sys
def read(path):
    return {tid: (name, int(ticks)) for tid, name, ticks in (line.split() for line in open(path))}
before, after = read(sys.argv[1]), read(sys.argv[2])
rate, pid, seconds = float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
ticks = collections.Counter()
for tid, (name, t) in after.items():
    ticks[name + ("-main" if tid == pid else "")] += t - before.get(tid, (name, 0))[1]
print(f"{rate:8.0f} req/s")
for name, t in ticks.most_common():
    if t:
        print(f"  {name:16s} {t * 1e4 / (rate * seconds):6.1f} µs/req  ({t / seconds:.0f}% of a core)")
print(f"  {'total':16s} {sum(ticks.values()) * 1e4 / (rate * seconds):6.1f} µs/req")
PY
kill -INT $PID; wait $PID 2>/dev/null
rm -rf "$D"
