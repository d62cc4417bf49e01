#!/usr/bin/env bash
# train_mlp under mpirun (docs/distributed.md):
#   - 2 processes with --sync-bn and --batch-size 16 train as one process with --batch-size 32:
#     every step's loss and every final parameter agree within 1e-5 relative (3e-7 measured) (float32 sums taken
#     in another order: the all-reduce adds the two halves' gradients, one process adds all 32);
#   - every process ends with the same parameters, bit for bit (train_mlp checks and says so);
#   - process 0 alone prints and writes; its checkpoint loads in one process (--eval-only);
#   - without --sync-bn each process normalises its own 16 points: the run differs;
#   - a checkpoint resumes with another number of processes (2 -> 1 and 1 -> 3);
#   - with --dropout (each process its own masks) the processes agree and a resume is exact, at
#     an epoch's end and after a SIGTERM to mpirun in the middle of an epoch;
#   - an error on the command line ends every process with exit code 2.
# Usage: test_data_parallel.sh MPIEXEC TRAIN_MLP WORK_DIR
set -euo pipefail
mpiexec=$1
train_mlp=$2
work=$3
here=$(dirname "$0")
rm -rf "$work"
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun() { "$mpiexec" --oversubscribe -np "$@"; }
fail() { echo "test_data_parallel: $*"; exit 1; }

flags=(--samples 800 --hidden 16,16 --seed 3 --threads 1 --brief --schedule cosine)

"$train_mlp" "${flags[@]}" --epochs 4 --batch-size 32 --out "$work/one" --log-steps "$work/one.steps" \
  > "$work/one.out"
mpirun 2 "$train_mlp" "${flags[@]}" --epochs 4 --sync-bn --batch-size 16 --out "$work/two" \
  --log-steps "$work/two.steps" > "$work/two.out"
cat "$work/two.out"
grep -q "All 2 processes hold the same parameters, bit for bit." "$work/two.out" ||
  fail "2 processes: no statement that the processes agree"
[[ $(grep -c "^ *4 " "$work/two.out") == 1 ]] || fail "2 processes: the table is not printed once"
perl "$here/compare_runs.pl" 1e-5 "$work/one.steps" "$work/two.steps" \
  "$work/one/model.safetensors" "$work/two/model.safetensors" ||
  fail "2 processes of batch 16 with --sync-bn differ from 1 process of batch 32"

# Process 0's checkpoint in one process: the test accuracy of the run's last row.
"$train_mlp" --eval-only "$work/two/model.safetensors" > "$work/eval.out"
last_acc=$(tail -1 "$work/two/metrics.csv" | cut -d, -f5)
expected=$(printf "%.1f%%" "$(echo "$last_acc * 100" | bc -l)")
grep -q "test:  loss .* accuracy $expected" "$work/eval.out" ||
  fail "--eval-only of the 2-process checkpoint: expected test accuracy $expected, got $(cat "$work/eval.out")"

# Without --sync-bn, BatchNorm sees 16 points per process: another run, yet the processes agree.
mpirun 2 "$train_mlp" "${flags[@]}" --epochs 4 --batch-size 16 --out "$work/local" \
  --log-steps "$work/local.steps" > "$work/local.out"
grep -q "All 2 processes hold the same parameters" "$work/local.out" ||
  fail "2 processes without --sync-bn: the processes do not agree"
if perl "$here/compare_runs.pl" 1e-5 "$work/one.steps" "$work/local.steps" \
  "$work/one/model.safetensors" "$work/local/model.safetensors" > /dev/null; then
  fail "2 processes without --sync-bn give the 1-process numbers: BatchNorm was synchronised"
fi

# Resume with another number of processes: 2 epochs on 2, 2 more on 1; 2 on 1, 2 more on 3.
mpirun 2 "$train_mlp" "${flags[@]}" --sync-bn --batch-size 16 --epochs 2 --out "$work/r21" \
  > /dev/null
"$train_mlp" --resume "$work/r21/model.safetensors" --epochs 4 --threads 1 --brief > "$work/r21.out"
[[ $(wc -l < "$work/r21/metrics.csv") == 5 ]] || fail "resume 2 -> 1: metrics.csv has not 4 rows"
"$train_mlp" "${flags[@]}" --batch-size 16 --epochs 2 --out "$work/r13" > /dev/null
mpirun 3 "$train_mlp" --resume "$work/r13/model.safetensors" --epochs 4 --threads 1 --brief \
  > "$work/r13.out"
grep -q "All 3 processes hold the same parameters" "$work/r13.out" ||
  fail "resume 1 -> 3: the processes do not agree"
[[ $(wc -l < "$work/r13/metrics.csv") == 5 ]] || fail "resume 1 -> 3: metrics.csv has not 4 rows"

# Dropout under mpirun: each process draws its own masks (a stream per process and epoch) and the
# processes still end with the same parameters; 2 epochs + 2 resumed write the bytes of 4 straight,
# the training state holding both processes' streams; a resume on 1 process continues.
dflags=(--samples 800 --hidden 16,16 --seed 3 --threads 1 --brief --schedule none --batch-size 16
        --activation gelu --dropout 0.2 --optimizer adamw --lr 0.01)
mpirun 2 "$train_mlp" "${dflags[@]}" --epochs 4 --out "$work/dropout" > "$work/dropout.out"
grep -q "All 2 processes hold the same parameters, bit for bit." "$work/dropout.out" ||
  fail "2 processes with --dropout: the processes do not agree"
mpirun 2 "$train_mlp" "${dflags[@]}" --epochs 2 --out "$work/dropout_halves" > /dev/null
cp -r "$work/dropout_halves" "$work/dropout_source"
mpirun 2 "$train_mlp" --resume "$work/dropout_halves/model.safetensors" --epochs 4 --threads 1 \
  --brief > /dev/null
for file in metrics.csv model.safetensors training_state.safetensors; do
  cmp -s "$work/dropout/$file" "$work/dropout_halves/$file" ||
    fail "2 processes with --dropout, 2 epochs + 2 resumed: $file differs from 4 straight"
done
grep -aq "generators.dropout.1.5" "$work/dropout/training_state.safetensors" ||
  fail "2 processes with --dropout: the second process's stream is not in the training state"
"$train_mlp" --resume "$work/dropout_source/model.safetensors" --epochs 4 --threads 1 --brief \
  > /dev/null
[[ $(wc -l < "$work/dropout_source/metrics.csv") == 5 ]] ||
  fail "--dropout, resume 2 -> 1: metrics.csv has not 4 rows"

# A stop by a signal: SIGTERM to mpirun, which passes it on to every process (as a Ctrl-C would),
# after the first of 30 epochs (4 finished before a late SIGTERM arrived on a loaded machine);
# they stop after the same step, mostly in the middle of an epoch (mpirun passes it on late
# enough that it may land in an evaluation), and the checkpoint holds both processes' Dropout
# streams. Resumed on 2 processes, the run ends with the bytes of the run straight through.
sflags=(--samples 20000 --hidden 64,64 --seed 3 --threads 1 --brief --batch-size 16 --epochs 30
        --dropout 0.2 --optimizer adamw --lr 0.01)
mpirun 2 "$train_mlp" "${sflags[@]}" --out "$work/signal_straight" > /dev/null
"$mpiexec" --oversubscribe -np 2 "$train_mlp" "${sflags[@]}" --out "$work/signal" \
  > "$work/signal.out" 2>&1 &
job=$!  # mpirun itself (not a subshell running the function)
while [[ ! -s $work/signal/metrics.csv || $(wc -l < "$work/signal/metrics.csv") -lt 2 ]]; do
  sleep 0.05
  kill -0 "$job" 2> /dev/null || fail "--dropout, signal: the run ended before its first epoch"
done
kill -TERM "$job"
wait "$job" || true
grep -q "Stopped by SIGTERM" "$work/signal.out" ||
  fail "--dropout, signal: expected the stop reported, got $(cat "$work/signal.out")"
mpirun 2 "$train_mlp" --resume "$work/signal/model.safetensors" --threads 1 --brief > /dev/null
for file in metrics.csv model.safetensors training_state.safetensors; do
  cmp -s "$work/signal_straight/$file" "$work/signal/$file" ||
    fail "2 processes with --dropout, stopped by SIGTERM and resumed: $file differs"
done

# A bad flag: every process stops with exit code 2.
set +e
mpirun 2 "$train_mlp" --epochs 0 > "$work/bad.out" 2>&1
code=$?
set -e
[[ $code == 2 ]] || fail "a bad flag under mpirun: expected exit code 2, got $code"
echo "test_data_parallel: all checks passed"
