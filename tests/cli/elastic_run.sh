#!/usr/bin/env bash
# `parti elastic` (issue #20), against the uninterrupted run of the same flags:
#   chaos: a 4-rank dp2 x tp2 run whose ranks are killed (SIGKILL, a random rank, after a random
#          2-3 steps of progress) five times; it completes, its final parameters and moments
#          equal the uninterrupted 4-rank run's bit for bit, and its log holds each step once.
#   fewer: a host of the hostfile stops answering (a loopback address on a closed port stands in
#          for it) and a rank dies: the run goes on at dp 1 x tp 2 with the global batch kept.
# Both end within 1e-5 (parameters, relative) of the single-process run of the same flags.
# Usage: elastic_run.sh chaos|fewer PARTI_BINARY DATA_DIR WORK_DIR
set -uo pipefail
mode=$1 parti=$2 data=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
steps=20
train=(--data "$data" --model tiny --seq-len 32 --global-batch 8 --micro-batch 2 --dp 2 --tp 2
       --steps $steps --lr 1e-3 --warmup 2 --eval-batches 0 --threads 1 --ckpt-every 1 --keep-last 2)
fail() { echo "FAIL: $*"; tail -30 "$work/elastic.out"; exit 1; }
last_step() { /usr/bin/python3 -c "
import json, sys
steps = [json.loads(l)['step'] for l in open(sys.argv[1])] if __import__('os').path.exists(sys.argv[1]) else []
print(max(steps, default=0))" "$work/run.jsonl"; }

mpirun --oversubscribe -np 4 "$parti" train "${train[@]}" --ckpt-dir "$work/straight" \
  --log "$work/straight.jsonl" >"$work/straight.out" 2>&1 || { cat "$work/straight.out"; exit 1; }
# The single-process run every layout is held to (the same flags at dp 1 x tp 1).
"$parti" train "${train[@]}" --dp 1 --tp 1 --ckpt-dir "$work/single" --log "$work/single.jsonl" \
  >"$work/single.out" 2>&1 || { cat "$work/single.out"; exit 1; }

extra=()
if [[ $mode == fewer ]]; then
  port=$(/usr/bin/python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  echo "localhost slots=4" >"$work/hosts"
  extra=(--hostfile "$work/hosts" --min-np 2 --probe-port "$port")
fi
"$parti" elastic --np 4 --max-restarts 6 "${extra[@]}" -- train "${train[@]}" \
  --ckpt-dir "$work/run" --log "$work/run.jsonl" >"$work/elastic.out" 2>&1 &
elastic=$!
kills=5
[[ $mode == fewer ]] && kills=1
for k in $(seq $kills); do
  resumed=$(cat "$work/run/elastic.jsonl" 2>/dev/null | grep -c '"event":"start"')
  target=$(( $(cat "$work/run/latest" 2>/dev/null | tr -dc 0-9 | sed 's/^0*//;s/^$/0/') + 2 + RANDOM % 2 ))
  for _ in $(seq 1200); do  # until the attempt reaches its target step (up to 120 s)
    (( $(last_step) >= target )) && break
    kill -0 $elastic 2>/dev/null || fail "elastic ended before kill $k"
    sleep 0.1
  done
  victims=($(pgrep -f "^$parti train .*--ckpt-dir $work/run"))
  (( ${#victims[@]} > 0 )) || fail "no rank to kill"
  victim=${victims[RANDOM % ${#victims[@]}]}
  if [[ $mode == fewer ]]; then
    printf 'localhost slots=2\n127.0.0.2 slots=2\n' >"$work/hosts"
  fi
  kill -9 "$victim"
  echo "kill $k: pid $victim at step $(last_step) (target $target, attempt $resumed)"
  for _ in $(seq 600); do  # until elastic has started the next attempt
    (( $(cat "$work/run/elastic.jsonl" 2>/dev/null | grep -c '"event":"start"') > resumed )) && break
    kill -0 $elastic 2>/dev/null || break
    sleep 0.1
  done
done
wait $elastic
status=$?
cat "$work/elastic.out" | grep '^elastic:'
(( status == 0 )) || fail "elastic exited with $status"
(( $(grep -c '"event":"failure"' "$work/run/elastic.jsonl") == kills )) || fail "not $kills failures"
/usr/bin/python3 - "$work" "$steps" "$mode" <<'PY' || exit 1
import json, struct, sys
import numpy as np
work, steps, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
logged = [json.loads(l)["step"] for l in open(f"{work}/run.jsonl")]
assert logged == list(range(1, steps + 1)), f"the log's steps: {logged}"
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dtype=np.float32) for k, v in header.items() if k != "__metadata__"}
final = f"step_{steps:08d}"
for name in ("model", "optim"):
    a = open(f"{work}/straight/{final}/{name}.safetensors", "rb").read()
    b = open(f"{work}/run/{final}/{name}.safetensors", "rb").read()
    if mode == "chaos":
        assert a == b, f"{name}.safetensors differs from the uninterrupted run's"
a, b = tensors(f"{work}/single/{final}/model.safetensors"), tensors(f"{work}/run/{final}/model.safetensors")
diff = sum(float(((a[k].astype(np.float64) - b[k]) ** 2).sum()) for k in a)
norm = sum(float((a[k].astype(np.float64) ** 2).sum()) for k in a)
rel = (diff / norm) ** 0.5
print(f"{mode}: parameters relative difference to the one-process run {rel:.3g}")
assert rel <= 1e-5, rel
if mode == "fewer":
    starts = [json.loads(l) for l in open(f"{work}/run/elastic.jsonl") if '"start"' in l]
    assert (starts[-1]["dp"], starts[-1]["tp"], starts[-1]["ranks"]) == (1, 2, 2), starts[-1]
PY
echo "elastic $mode: ok"
