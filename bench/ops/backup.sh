#!/bin/bash
# Backup/verify/restore timings at N events (embedded chDB), on a shared 2-core machine.
# FORMAT=clickhouse (the default: ClickHouse's BACKUP) or FORMAT=native (the logical backup,
# Native files per partition, as with a ClickHouse server).
set -e
N=$1
FORMAT=${FORMAT:-clickhouse}

FF=${FOOTFALL:-.venv/bin/footfall}
D=${BENCH_DIR:-/var/tmp/footfall-bench-ops}-$N-$FORMAT
rm -rf $D; mkdir -p $D
export DATA_DIR=$D/data
/usr/bin/time -f "demo %e s" $FF demo --events $N --days 30 2>&1 | tail -2
du -sb $D/data/events | awk '{print "events dir bytes", $1}'
/usr/bin/time -f "backup-full %e s" $FF backup create --to $D/backups --full --format "$FORMAT" 2>&1 | tail -2
$FF demo --domain more.example --events 10000 --days 1 2>&1 | tail -1
/usr/bin/time -f "backup-incremental %e s" $FF backup create --to $D/backups --format "$FORMAT" 2>&1 | tail -2
du -sb $D/backups/* | awk '{print "backup bytes", $1, $2}'
/usr/bin/time -f "verify %e s" $FF backup verify $D/backups 2>&1 | tail -2
DATA_DIR=$D/restored /usr/bin/time -f "restore %e s" $FF backup restore $D/backups 2>&1 | tail -2
# Disk used by the event store after merges (active parts), per table.
.venv/bin/python - "$D/restored/events" <<'PY'
import sys
from chdb import session
s = session.Session(sys.argv[1])
print(s.query("SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE active AND database = 'footfall' GROUP BY table ORDER BY 3 DESC", "PrettyCompact"))
PY
