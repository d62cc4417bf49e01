# End-to-end checks of the train_mlp program, run by ctest as
#   cmake -DTRAIN_MLP=<binary> -DWORK_DIR=<scratch folder> -DCASE=<case> -P test_train_mlp.cmake
# Cases:
#   bad_flags    each bad command line exits with code 2 and says what was wrong
#   short_run    a fixed-seed run of 10 epochs on 800 spiral points reaches 93% test accuracy and
#                writes every file; a second identical run writes byte-identical metrics.csv;
#                --eval-only on its checkpoint reports the same accuracy; --resume continues it
#   diverge      a learning rate far too high stops training at a NaN/Inf loss with a message
#                naming the epoch and step, and keeps the last good checkpoint usable; with
#                --detect-anomaly the message names the op that first produced a NaN/Inf
cmake_minimum_required(VERSION 3.22)

function(run_train_mlp out_code out_stdout out_stderr)
  execute_process(COMMAND ${TRAIN_MLP} ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE stdout
                  ERROR_VARIABLE stderr)
  set(${out_code} "${code}" PARENT_SCOPE)
  set(${out_stdout} "${stdout}" PARENT_SCOPE)
  set(${out_stderr} "${stderr}" PARENT_SCOPE)
endfunction()

function(expect condition_text)
  if(NOT ${ARGN})
    message(FATAL_ERROR "${condition_text}")
  endif()
endfunction()

# The last row of a metrics.csv as a list: epoch;train_loss;train_acc;test_loss;test_acc;lr
function(last_metrics_row csv out_row)
  file(STRINGS "${csv}" rows)
  list(GET rows -1 last)
  string(REPLACE "," ";" last "${last}")
  set(${out_row} "${last}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

if(CASE STREQUAL "bad_flags")
  # Each entry: the flags, then (after |) a piece of the message they must produce.
  set(cases
      "--epochs 0|--epochs: Value 0 not in range 1 to 100000"
      "--dataset squares|--dataset: squares not in {spirals,moons,blobs,circles}"
      "--bogus|The following argument was not expected: --bogus"
      "--hidden 64,x|--hidden: Value x not in range"
      "--dataset moons --classes 3|--classes: moons has 2 classes, got --classes 3"
      "--compare-bn --no-bn|excludes"
      "--batch-size 5000|--batch-size: expected at most the 1200 training samples, got 5000"
      "--samples 12 --classes 4|--samples: expected at least 4 per class (16 for 4 classes), got 12"
      "--lr -1|--lr: Value -1 not in (0, 100"
      "--resume ${WORK_DIR}/missing.safetensors|--resume: File does not exist")
  foreach(entry IN LISTS cases)
    string(FIND "${entry}" "|" bar)
    string(SUBSTRING "${entry}" 0 ${bar} flags)
    math(EXPR bar "${bar} + 1")
    string(SUBSTRING "${entry}" ${bar} -1 expected)
    separate_arguments(args UNIX_COMMAND "${flags}")
    run_train_mlp(code stdout stderr ${args} --out "${WORK_DIR}/run")
    expect("train_mlp ${flags}: expected exit code 2, got ${code}\n${stderr}" code EQUAL 2)
    string(FIND "${stderr}" "${expected}" at)
    expect("train_mlp ${flags}: expected \"${expected}\" on stderr, got:\n${stderr}" at GREATER -1)
  endforeach()
  run_train_mlp(code stdout stderr --help)
  expect("--help: expected exit code 0, got ${code}" code EQUAL 0)
  string(FIND "${stdout}" "--compare-bn" at)
  expect("--help: expected the flags listed, got:\n${stdout}" at GREATER -1)

elseif(CASE STREQUAL "short_run")
  set(flags --samples 800 --epochs 10 --seed 1 --threads 1 --brief)
  run_train_mlp(code stdout stderr ${flags} --out "${WORK_DIR}/a")
  expect("short run: exit code ${code}\n${stdout}\n${stderr}" code EQUAL 0)
  foreach(file metrics.csv timing.csv loss.svg boundary.svg graph.dot model.safetensors command.txt)
    expect("short run: ${file} missing" EXISTS "${WORK_DIR}/a/${file}")
  endforeach()
  last_metrics_row("${WORK_DIR}/a/metrics.csv" row)
  list(GET row 0 epoch)
  list(GET row 4 test_acc)
  expect("short run: expected 10 epochs in metrics.csv, got ${epoch}" epoch EQUAL 10)
  expect("short run: expected test accuracy >= 0.93 after 10 epochs, got ${test_acc}"
         test_acc GREATER_EQUAL 0.93)
  file(READ "${WORK_DIR}/a/command.txt" command)
  string(FIND "${command}" "--samples 800 --epochs 10 --seed 1" at)
  expect("command.txt: expected the flags, got ${command}" at GREATER -1)
  # graph.dot names the parameters as the state_dict does.
  file(READ "${WORK_DIR}/a/graph.dot" graph)
  string(FIND "${graph}" "[label=\"0.weight\\n" at)
  expect("graph.dot: expected the node 0.weight, got:\n${graph}" at GREATER -1)

  # Determinism: the same seed on one thread gives the same bytes.
  run_train_mlp(code stdout stderr ${flags} --out "${WORK_DIR}/b")
  expect("second run: exit code ${code}" code EQUAL 0)
  file(READ "${WORK_DIR}/a/metrics.csv" first)
  file(READ "${WORK_DIR}/b/metrics.csv" second)
  expect("two runs with --seed 1 --threads 1 wrote different metrics.csv:\n${first}\n${second}"
         first STREQUAL second)

  # The checkpoint holds the final model: evaluating it gives the last epoch's test accuracy.
  run_train_mlp(code stdout stderr --eval-only "${WORK_DIR}/a/model.safetensors" --samples 800
                --seed 1 --threads 1 --out "${WORK_DIR}/eval")
  expect("--eval-only: exit code ${code}\n${stderr}" code EQUAL 0)
  string(REGEX MATCH "test:  loss [0-9.]+, accuracy ([0-9.]+)%" _ "${stdout}")
  set(eval_percent "${CMAKE_MATCH_1}")
  # test_acc is a fraction with 6 decimals (>= 0.93, checked above); the program prints percent
  # with one decimal. CMake has no floating point, so the rounding is done on the digits.
  string(REGEX MATCH "^0\\.([0-9][0-9])([0-9])([0-9])" _ "${test_acc}")
  if(test_acc STREQUAL "1.000000")
    set(expected_percent "100.0")
  else()
    # 0.916667 -> 9166.67 tenths of a percent -> 917 -> "91.7"
    math(EXPR tenths "(${CMAKE_MATCH_1}${CMAKE_MATCH_2}${CMAKE_MATCH_3} + 5) / 10")
    math(EXPR whole "${tenths} / 10")
    math(EXPR frac "${tenths} % 10")
    set(expected_percent "${whole}.${frac}")
  endif()
  expect("--eval-only: expected test accuracy ${expected_percent}%, got ${eval_percent}%\n${stdout}"
         eval_percent STREQUAL expected_percent)

  # --resume continues from epoch 10 to epoch 12.
  run_train_mlp(code stdout stderr --resume "${WORK_DIR}/a/model.safetensors" --samples 800
                --epochs 12 --seed 1 --threads 1 --brief --out "${WORK_DIR}/resumed")
  expect("--resume: exit code ${code}\n${stdout}\n${stderr}" code EQUAL 0)
  file(STRINGS "${WORK_DIR}/resumed/metrics.csv" rows)
  list(LENGTH rows n)
  list(GET rows 1 first_row)
  expect("--resume: expected epochs 11 and 12 in metrics.csv, got ${rows}" n EQUAL 3)
  string(REGEX MATCH "^11," starts11 "${first_row}")
  expect("--resume: expected the first row to be epoch 11, got ${first_row}" starts11)

elseif(CASE STREQUAL "diverge")
  run_train_mlp(code stdout stderr --lr 5 --momentum 0.999 --weight-decay 1 --schedule none
                --epochs 10 --seed 0 --threads 1 --brief --out "${WORK_DIR}/nan")
  expect("diverge: expected exit code 1, got ${code}\n${stdout}" code EQUAL 1)
  string(REGEX MATCH
         "Training stopped at epoch ([0-9]+), step [0-9]+/[0-9]+: the loss is (NaN|Inf)" _
         "${stdout}")
  expect("diverge: expected the stop message, got:\n${stdout}" CMAKE_MATCH_1)
  math(EXPR last_good "${CMAKE_MATCH_1} - 1")
  if(last_good GREATER 0)
    string(FIND "${stdout}" "The last good checkpoint is" at)
    expect("diverge: expected the checkpoint named, got:\n${stdout}" at GREATER -1)
    run_train_mlp(code stdout stderr --eval-only "${WORK_DIR}/nan/model.safetensors" --seed 0
                  --out "${WORK_DIR}/nan-eval")
    expect("diverge: the last good checkpoint does not evaluate: ${code}\n${stderr}" code EQUAL 0)
    string(FIND "${stdout}" "trained ${last_good} epochs" at)
    expect("diverge: expected the checkpoint of epoch ${last_good}, got:\n${stdout}" at GREATER -1)
  endif()
  run_train_mlp(code stdout stderr --lr 5 --momentum 0.999 --weight-decay 1 --schedule none
                --epochs 10 --seed 0 --threads 1 --brief --detect-anomaly --out "${WORK_DIR}/anomaly")
  expect("--detect-anomaly: expected exit code 1, got ${code}\n${stdout}\n${stderr}" code EQUAL 1)
  string(REGEX MATCH "Training stopped at epoch [0-9]+, step [0-9]+/[0-9]+: anomaly detection found a NaN/Inf: .*'[a-z_]+' produced" found "${stdout}")
  expect("--detect-anomaly: expected the op named, got:\n${stdout}" found)
else()
  message(FATAL_ERROR "unknown CASE '${CASE}'")
endif()
