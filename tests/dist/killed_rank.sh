#!/usr/bin/env bash
# Issue #3, acceptance 6 (first half): a rank killed mid-run (SIGKILL) ends the whole job with a
# non-zero exit and a message, never a hang. Usage: killed_rank.sh PARTI_BINARY WORK_DIR
set -uo pipefail
parti=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$parti" prepare --text "$0" --tokenizer byte --val-fraction 0 --out "$work/data" >/dev/null || exit 1
mpirun --oversubscribe -np 2 "$parti" train --data "$work/data" --model tiny --seq-len 16 \
  --global-batch 2 --micro-batch 1 --dp 2 --threads 1 --steps 100000 --eval-batches 0 \
  --log "$work/log.jsonl" >"$work/out.txt" 2>&1 &
mpirun_pid=$!
for _ in $(seq 600); do  # wait until training runs (up to 60 s)
  [[ -s $work/log.jsonl ]] && break
  sleep 0.1
done
victim=$(pgrep -f "^$parti train --data $work/data" | tail -1)
[[ -n $victim ]] || { echo "FAIL: no rank process found"; cat "$work/out.txt"; exit 1; }
start=$(date +%s)
kill -9 "$victim"
for _ in $(seq 600); do
  kill -0 "$mpirun_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$mpirun_pid" 2>/dev/null; then
  echo "FAIL: the job still runs 60 s after rank pid $victim was killed"
  kill -9 "$mpirun_pid"
  exit 1
fi
wait "$mpirun_pid"
status=$?
echo "mpirun exited with status $status $(( $(date +%s) - start )) s after SIGKILL of pid $victim"
grep -m1 -i "signal 9\|killed" "$work/out.txt" || { echo "FAIL: no message"; cat "$work/out.txt"; exit 1; }
[[ $status -ne 0 ]] || { echo "FAIL: exit status 0"; exit 1; }
echo "killed rank: ok"
