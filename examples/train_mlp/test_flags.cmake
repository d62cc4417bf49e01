# Every train_mlp flag with a bad value: exit code 2, the exact first line of the message on
# stderr, and nothing written or changed in --out. Run by ctest as
#   cmake -DTRAIN_MLP=<binary> -DWORK_DIR=<scratch folder> -P test_flags.cmake
# (test_train_mlp.cmake's bad_flags case checks the parser's other refusals: --epochs 0, an
# unknown --dataset or flag, --hidden 64,x, moons with --classes 3, --compare-bn --no-bn, a
# --batch-size over the training set, too few --samples per class, --lr -1, a missing --resume.)
cmake_minimum_required(VERSION 3.22)

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/out")
# A previous run's checkpoint in --out: a refused command line must leave it as it was.
set(previous "${WORK_DIR}/out/model.safetensors")
file(WRITE "${previous}" "the previous checkpoint")
file(WRITE "${WORK_DIR}/a_file" "not a folder")
set(missing "${WORK_DIR}/missing.safetensors")

# refused(flags expected): train_mlp with `flags` must exit with code 2, print `expected` as the
# first line on stderr, and leave --out as it was. (A function rather than a list of cases: the
# messages hold unbalanced brackets, which CMake's list splitting does not survive.)
set(count 0)
function(refused flags expected)
  separate_arguments(args UNIX_COMMAND "${flags}")
  if(NOT flags MATCHES "--out")
    list(PREPEND args --out "${WORK_DIR}/out")  # before, so that a flag missing its value is last
  endif()
  execute_process(COMMAND ${TRAIN_MLP} ${args} RESULT_VARIABLE code OUTPUT_VARIABLE stdout
                  ERROR_VARIABLE stderr)
  if(NOT code EQUAL 2)
    message(FATAL_ERROR "train_mlp ${flags}: expected exit code 2, got ${code}\n${stdout}${stderr}")
  endif()
  string(REGEX REPLACE "\n.*" "" first_line "${stderr}")
  if(NOT first_line STREQUAL expected)
    message(FATAL_ERROR "train_mlp ${flags}: expected on stderr\n  ${expected}\ngot\n  ${stderr}")
  endif()
  file(GLOB written RELATIVE "${WORK_DIR}/out" "${WORK_DIR}/out/*")
  file(READ "${previous}" kept)
  if(NOT written STREQUAL "model.safetensors" OR NOT kept STREQUAL "the previous checkpoint")
    message(FATAL_ERROR "train_mlp ${flags}: --out changed: [${written}], checkpoint '${kept}'")
  endif()
  math(EXPR n "${count} + 1")
  set(count ${n} PARENT_SCOPE)
endfunction()

refused("--samples 5" "--samples: Value 5 not in range 10 to 10000000")
refused("--noise -1" "--noise: Value -1 not in [0, 10]")
refused("--noise abc" "--noise: Value abc is not a number")
refused("--classes 1" "--classes: Value 1 not in range 2 to 64")
refused("--hidden 0" "--hidden: Value 0 not in range 1 to 4096")
refused("--hidden 4,,4" "--hidden: an empty width in '4,,4': expected widths like 64,64")
refused("--hidden ," "--hidden: an empty width in ',': expected widths like 64,64")
refused("--epochs abc" "--epochs: Value abc not in range 1 to 100000")
refused("--batch-size 1" "--batch-size: Value 1 not in range 2 to 1000000")
refused("--lr 0" "--lr: Value 0 not in (0, 100]")
refused("--momentum 1" "--momentum: Value 1 not in [0, 0.999]")
refused("--weight-decay 2" "--weight-decay: Value 2 not in [0, 1]")
refused("--schedule linear" "--schedule: linear not in {none,step,cosine}")
refused("--activation swish" "--activation: swish not in {relu,tanh,gelu}")
refused("--dropout 1" "--dropout: Value 1 not in [0, 1)")
refused("--dropout -0.1" "--dropout: Value -0.1 not in [0, 1)")
refused("--dropout nan" "--dropout: Value nan not in [0, 1)")
refused("--dropout abc" "--dropout: Value abc is not a number")
refused("--optimizer adam" "--optimizer: adam not in {sgd,adamw}")
refused("--optimizer adamw --momentum 0.5"
        "--momentum: expected with --optimizer sgd only, got --optimizer adamw (AdamW's momentum is its betas, (0.9, 0.999))")
refused("--seed -1" "--seed: Value -1 is not a non-negative integer")
refused("--seed abc" "--seed: Value abc is not a non-negative integer")
refused("--threads 0" "--threads: Value 0 not in range 1 to 256")
refused("--eval-only ${missing}" "--eval-only: File does not exist: ${missing}")
refused("--resume ${previous} --eval-only ${previous}" "--resume excludes --eval-only")
refused("--out ${WORK_DIR}/a_file" "--out: expected a folder, got the file ${WORK_DIR}/a_file")
refused("--epochs" "--epochs: 1 required INT:INT in [1 - 100000] missing")
refused("--seed 18446744073709551616"
        "--seed: Value 18446744073709551616 is above the largest seed, 2^64 - 1 = 18446744073709551615")
# 4 points per class, 1 of each held out: 9 training points (not 12 - round(2.4) = 10).
refused("--samples 12 --classes 3 --batch-size 10"
        "--batch-size: expected at most the 9 training samples, got 10")
refused("" "--out: ${WORK_DIR}/out holds a previous run (model.safetensors); choose another folder, continue it with --resume ${WORK_DIR}/out/model.safetensors, or replace it with --force")
message(STATUS "train_mlp: ${count} bad flag values refused with exit code 2, --out untouched")
