# End-to-end checks of the train_mlp program, run by ctest as
#   cmake -DTRAIN_MLP=<binary> -DWORK_DIR=<scratch folder> -DCASE=<case> -P test_train_mlp.cmake
# Cases:
#   bad_flags    each bad command line exits with code 2 and says what was wrong
#   short_run    a fixed-seed run of 10 epochs on 800 spiral points reaches 93% test accuracy and
#                writes every file; a second identical run writes byte-identical metrics.csv;
#                --eval-only on its checkpoint reports the same accuracy; --resume continues it
#   resume_exact N epochs straight and N/2 + resume N/2 write identical metrics and bit-identical
#                checkpoints, with ReLU and SGD, and with GELU, Dropout and AdamW; a contradicting
#                flag or a checkpoint without training state is refused
#   resume_before_flags a checkpoint from before --activation/--dropout/--optimizer resumes as
#                ReLU, no Dropout, SGD; other values of those flags are refused
#   resume_longer a resume into a longer --epochs continues the saved cosine schedule; the step
#                schedule decays after each third of the epochs
#   signal       SIGTERM / SIGINT stop a running process with a checkpoint; resumed, it matches
#                (SIGINT with GELU, Dropout and AdamW: the masks continue mid-epoch)
#   explode      a loss that explodes without NaN/Inf stops the run, naming the learning rate
#   diverge      a learning rate far too high (100) stops training at a NaN/Inf loss with a message
#                naming the epoch and step, and keeps the last good checkpoint usable; with
#                --detect-anomaly the message names the op that first produced a NaN/Inf
#   write_errors a file that cannot be written (a full disk: /dev/full) stops the run naming it and
#                the OS's reason, and the file written before stays whole; --log-steps the same,
#                and a log that cannot be opened stops the run before any folder is made
#   bad_checkpoint a training state whose saved flags the command line would refuse, or whose
#                counters disagree, is refused naming the file and the value, before anything is
#                made (edited with edit_safetensors.pl)
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

# Two runs' folders hold the same metrics.csv (every column but the wall time, which is in
# timing.csv) and the same bytes in both checkpoint files. `what` names the case in a failure.
function(expect_same_run what dir_a dir_b)
  foreach(file metrics.csv model.safetensors training_state.safetensors)
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${dir_a}/${file}" "${dir_b}/${file}"
                    RESULT_VARIABLE differ)
    file(READ "${dir_b}/metrics.csv" metrics)
    expect("${what}: ${file} differs from ${dir_a}'s\n${metrics}" differ EQUAL 0)
  endforeach()
endfunction()

# train_mlp with ARGN and --out `out` must exit with `code`, say `message` on stderr and leave no
# `out` folder behind. `what` names the case in a failure.
function(expect_refused what code message out)
  run_train_mlp(got stdout stderr ${ARGN} --out "${out}")
  expect("${what}: expected exit code ${code}, got ${got}\n${stderr}" got EQUAL code)
  string(FIND "${stderr}" "${message}" at)
  expect("${what}: expected \"${message}\", got\n${stderr}" at GREATER -1)
  if(EXISTS "${out}")
    message(FATAL_ERROR "${what}: a folder was made")
  endif()
endfunction()

# --resume `model` --epochs `epochs` with the flag `given` ("--hidden 32") that contradicts the
# checkpoint, trained with `saved` ("--hidden 16,16"): exit code 2, both values named, no folder.
function(expect_contradiction model epochs given saved)
  separate_arguments(given_args UNIX_COMMAND "${given}")
  expect_refused("contradicting ${given}" 2
                 "${given} contradicts the checkpoint ${model}, trained with ${saved}"
                 "${WORK_DIR}/contradicted" --resume "${model}" --epochs ${epochs} ${given_args})
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
  foreach(expected "--compare-bn" "--activation TEXT:{relu,tanh,gelu}=relu"
                   "--optimizer TEXT:{sgd,adamw}=sgd" "--dropout FLOAT:[0, 1)=0"
                   "resumes as relu, 0 and sgd")
    string(FIND "${stdout}" "${expected}" at)
    expect("--help: expected \"${expected}\", got:\n${stdout}" at GREATER -1)
  endforeach()

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

  # --resume continues from epoch 10 to epoch 12 in a new folder, whose metrics.csv holds the
  # whole history.
  run_train_mlp(code stdout stderr --resume "${WORK_DIR}/a/model.safetensors" --epochs 12
                --threads 1 --brief --out "${WORK_DIR}/resumed")
  expect("--resume: exit code ${code}\n${stdout}\n${stderr}" code EQUAL 0)
  file(STRINGS "${WORK_DIR}/resumed/metrics.csv" rows)
  list(LENGTH rows n)
  list(GET rows 11 row11)
  expect("--resume: expected epochs 1 to 12 in metrics.csv, got ${rows}" n EQUAL 13)
  string(REGEX MATCH "^11," starts11 "${row11}")
  expect("--resume: expected row 11 to be epoch 11, got ${row11}" starts11)

  # --eval-only writes nothing unless --out asks: run in an empty folder, it stays empty.
  file(MAKE_DIRECTORY "${WORK_DIR}/quiet")
  execute_process(COMMAND ${TRAIN_MLP} --eval-only "${WORK_DIR}/a/model.safetensors"
                  WORKING_DIRECTORY "${WORK_DIR}/quiet" RESULT_VARIABLE code OUTPUT_QUIET)
  file(GLOB_RECURSE written "${WORK_DIR}/quiet/*")
  expect("--eval-only without --out: exit code ${code}, wrote [${written}]" code EQUAL 0
         AND "${written}" STREQUAL "")

elseif(CASE STREQUAL "resume_exact")
  # N epochs straight against N/2 + a resume of N/2, into the same folder and into a new one:
  # the same metrics.csv (every column but the wall time, which is in timing.csv) and the same
  # bytes in model.safetensors (parameters and buffers) and training_state.safetensors
  # (optimizer and schedule state, progress, Dropout's streams). Twice: the default network and
  # optimizer (ReLU, SGD with momentum), and GELU with Dropout(0.2) and AdamW (exp_avg,
  # exp_avg_sq and step by parameter name, each epoch's masks from its own stream).
  # --schedule none: a schedule's length comes from the first run's --epochs, so only a constant lr
  # makes 2 epochs + 2 resumed the same run as 4 (train_mlp_signal stops a cosine run midway).
  set(common --samples 400 --hidden 16,16 --seed 3 --threads 1 --brief --schedule none)
  foreach(config default dropout)
    set(flags ${common})
    if(config STREQUAL "dropout")
      list(APPEND flags --activation gelu --dropout 0.2 --optimizer adamw --lr 0.01)
    endif()
    set(dir "${WORK_DIR}/${config}")
    run_train_mlp(code stdout stderr ${flags} --epochs 4 --out "${dir}/straight")
    expect("${config}: straight run: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
    run_train_mlp(code stdout stderr ${flags} --epochs 2 --out "${dir}/halves")
    expect("${config}: first half: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
    file(COPY "${dir}/halves/" DESTINATION "${dir}/source")
    run_train_mlp(code stdout stderr --resume "${dir}/halves/model.safetensors" --epochs 4
                  --threads 1 --brief)
    expect("${config}: resume into the same folder: exit code ${code}\n${stdout}${stderr}"
           code EQUAL 0)
    run_train_mlp(code stdout stderr --resume "${dir}/source/model.safetensors" --epochs 4
                  --threads 1 --brief --out "${dir}/elsewhere")
    expect("${config}: resume into a new folder: exit code ${code}\n${stdout}${stderr}"
           code EQUAL 0)
    foreach(run halves elsewhere)
      expect_same_run("${config}: resumed run (${run})" "${dir}/straight" "${dir}/${run}")
    endforeach()
    file(SHA256 "${dir}/straight/model.safetensors" straight_hash)
    file(SHA256 "${dir}/halves/model.safetensors" resumed_hash)
    message(STATUS "${config}: model.safetensors SHA-256: straight ${straight_hash}, 2 + resumed 2 ${resumed_hash}")
  endforeach()
  # The dropout run's files: Dropout layers at PyTorch's indices (Linear, BatchNorm1d, GELU,
  # Dropout: the last Linear is 8), AdamW's moments and the stream under their names.
  file(STRINGS "${WORK_DIR}/dropout/straight/model.safetensors" keys REGEX "\"8\\.weight\"")
  expect("dropout: expected the last Linear at index 8 in model.safetensors" keys)
  foreach(entry "optimizer.state.4.weight.exp_avg_sq" "optimizer.state.8.bias.step"
                "generators.dropout.0.0" "config.--dropout\":\"0.2")
    file(STRINGS "${WORK_DIR}/dropout/straight/training_state.safetensors" found
         REGEX "${entry}")
    expect("dropout: expected ${entry} in training_state.safetensors" found)
  endforeach()
  # Dropout changes the training: the first epoch's loss differs from the run without it.
  file(STRINGS "${WORK_DIR}/dropout/straight/metrics.csv" with_dropout)
  run_train_mlp(code stdout stderr ${common} --activation gelu --optimizer adamw --lr 0.01
                --epochs 1 --out "${WORK_DIR}/no_dropout")
  file(STRINGS "${WORK_DIR}/no_dropout/metrics.csv" without_dropout)
  list(GET with_dropout 1 row_with)
  list(GET without_dropout 1 row_without)
  if(row_with STREQUAL row_without)
    message(FATAL_ERROR "--dropout 0.2: the first epoch is the one without dropout: ${row_with}")
  endif()

  # A flag that contradicts the checkpoint is refused, naming both values; nothing is written.
  set(model "${WORK_DIR}/dropout/source/model.safetensors")
  expect_contradiction("${model}" 4 "--activation relu" "--activation gelu")
  expect_contradiction("${model}" 4 "--dropout 0.1" "--dropout 0.2")
  expect_contradiction("${model}" 4 "--dropout 0" "--dropout 0.2")
  expect_contradiction("${model}" 4 "--optimizer sgd" "--optimizer adamw")
  expect_contradiction("${WORK_DIR}/default/source/model.safetensors" 4 "--hidden 32"
                       "--hidden 16,16")
  # A checkpoint whose training state is missing cannot be resumed exactly: refused, no folder.
  file(COPY "${WORK_DIR}/default/source/model.safetensors" DESTINATION "${WORK_DIR}/weights_only")
  expect_refused("weights only" 1 "no training state beside it" "${WORK_DIR}/half_made"
                 --resume "${WORK_DIR}/weights_only/model.safetensors" --epochs 4)

elseif(CASE STREQUAL "resume_before_flags")
  # A checkpoint written before --activation, --dropout and --optimizer existed, whose training
  # state records none of them (tests/fixtures/train_mlp_before_flags, written by train_mlp
  # --samples 200 --hidden 8,8 --epochs 2 --seed 3 --threads 1 before those flags came), resumes
  # as the run it was: ReLU, no Dropout, SGD. Those flags given with their old values are
  # accepted, with other values refused like any contradicting flag.
  file(COPY "${FIXTURES_DIR}/train_mlp_before_flags/" DESTINATION "${WORK_DIR}/old")
  run_train_mlp(code stdout stderr --resume "${WORK_DIR}/old/model.safetensors" --epochs 3
                --threads 1 --out "${WORK_DIR}/resumed")
  expect("old checkpoint: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
  string(FIND "${stdout}" "Linear -> BatchNorm1d -> ReLU x2 -> Linear" at)
  expect("old checkpoint: expected the ReLU network without Dropout, got\n${stdout}" at GREATER -1)
  file(STRINGS "${WORK_DIR}/old/metrics.csv" old_rows)
  file(STRINGS "${WORK_DIR}/resumed/metrics.csv" rows)
  list(LENGTH rows n)
  list(SUBLIST rows 0 3 first_rows)
  expect("old checkpoint: expected its 2 epochs and a third in metrics.csv, got ${rows}"
         n EQUAL 4 AND first_rows STREQUAL old_rows)
  foreach(entry "config.--activation\":\"relu" "config.--dropout\":\"0\""
                "config.--optimizer\":\"sgd" "momentum_buffer")
    file(STRINGS "${WORK_DIR}/resumed/training_state.safetensors" found REGEX "${entry}")
    expect("old checkpoint resumed: expected ${entry} in training_state.safetensors" found)
  endforeach()
  run_train_mlp(code stdout stderr --resume "${WORK_DIR}/old/model.safetensors" --epochs 3
                --activation relu --dropout 0 --optimizer sgd --threads 1 --brief
                --out "${WORK_DIR}/same_flags")
  expect("old checkpoint with its flags: exit code ${code}\n${stderr}" code EQUAL 0)
  expect_same_run("old checkpoint with its flags spelled out" "${WORK_DIR}/resumed"
                  "${WORK_DIR}/same_flags")
  set(model "${WORK_DIR}/old/model.safetensors")
  expect_contradiction("${model}" 3 "--activation tanh" "--activation relu")
  expect_contradiction("${model}" 3 "--dropout 0.5" "--dropout 0")
  expect_contradiction("${model}" 3 "--optimizer adamw" "--optimizer sgd")
  run_train_mlp(code stdout stderr --eval-only "${WORK_DIR}/old/model.safetensors")
  expect("old checkpoint: --eval-only exit code ${code}\n${stderr}" code EQUAL 0)

elseif(CASE STREQUAL "resume_longer")
  # Resumed into a longer --epochs, the cosine schedule continues with the T_max it was saved
  # with, as PyTorch's load_state_dict does: lr 0 at epoch 5 (t = T_max = 4), rising at epoch 6;
  # and the same whether the 2 extra epochs are run in one resume or two.
  set(flags --samples 400 --hidden 16,16 --seed 4 --threads 1 --brief)
  run_train_mlp(code stdout stderr ${flags} --epochs 4 --out "${WORK_DIR}/one")
  expect("4 epochs: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
  file(COPY "${WORK_DIR}/one/" DESTINATION "${WORK_DIR}/two")
  run_train_mlp(code stdout stderr --resume "${WORK_DIR}/one/model.safetensors" --epochs 6 --brief)
  expect("resume to 6: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
  string(FIND "${stdout}" "keeps the checkpoint's T_max = 4 epochs" at)
  expect("resume to 6: expected the schedule note, got\n${stdout}" at GREATER -1)
  run_train_mlp(code stdout stderr --resume "${WORK_DIR}/two/model.safetensors" --epochs 5 --brief)
  expect("resume to 5: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
  run_train_mlp(code stdout stderr --resume "${WORK_DIR}/two/model.safetensors" --epochs 6 --brief)
  expect("resume 5 to 6: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
  expect_same_run("4 + 2 and 4 + 1 + 1 epochs" "${WORK_DIR}/one" "${WORK_DIR}/two")
  file(STRINGS "${WORK_DIR}/one/metrics.csv" rows)
  list(GET rows 5 row5)
  list(GET rows 6 row6)
  string(REPLACE "," ";" row5 "${row5}")
  string(REPLACE "," ";" row6 "${row6}")
  list(GET row5 5 lr5)
  list(GET row6 5 lr6)
  expect("epoch 5: expected lr 0 (the end of a T_max = 4 cosine), got ${lr5}" lr5 STREQUAL "0")
  expect("epoch 6: expected the lr rising again, got ${lr6}" lr6 MATCHES "^0\\.0[0-9]+$")

  # --schedule step: x0.1 after each third of the epochs, rounded up (--help): with 10 epochs,
  # 4 at lr, 4 at lr / 10, 2 at lr / 100.
  run_train_mlp(code stdout stderr --samples 200 --epochs 10 --schedule step --lr 0.1 --seed 0
                --threads 1 --brief --out "${WORK_DIR}/step")
  expect("step schedule: expected exit code 0, got ${code}\n${stderr}" code EQUAL 0)
  file(STRINGS "${WORK_DIR}/step/metrics.csv" rows)
  set(lrs "")
  list(REMOVE_AT rows 0)  # the header
  foreach(row IN LISTS rows)
    if(row MATCHES ",([0-9.e-]+)$")
      string(APPEND lrs "${CMAKE_MATCH_1} ")
    endif()
  endforeach()
  expect("step schedule: expected lr 0.1 x4, 0.01 x4, 0.001 x2, got ${lrs}"
         lrs STREQUAL "0.1 0.1 0.1 0.1 0.01 0.01 0.01 0.01 0.001 0.001 ")

elseif(CASE STREQUAL "signal")
  # SIGTERM and SIGINT sent to a running train_mlp: it finishes its step, writes a checkpoint,
  # says how to resume and exits with 143 / 130; resumed, it ends with the bytes of a run that
  # was never stopped. SIGTERM stops the default run (SGD), SIGINT one with Dropout and AdamW,
  # whose masks must continue where the stop left them.
  # Wide enough that the epochs after the first take seconds: the signal lands mid-run even when
  # a loaded machine wakes the polling shell late.
  set(common --samples 60000 --hidden 256,256 --seed 5 --threads 1 --brief --epochs 4)
  foreach(signal TERM INT)
    set(flags ${common})
    if(signal STREQUAL "TERM")
      set(expected_code 143)
    else()
      set(expected_code 130)
      list(APPEND flags --dropout 0.2 --optimizer adamw --lr 0.01)
    endif()
    run_train_mlp(code stdout stderr ${flags} --out "${WORK_DIR}/straight_${signal}")
    expect("straight run: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
    set(dir "${WORK_DIR}/stopped_${signal}")
    # Started in the background; the signal goes once the first epoch's row is in metrics.csv.
    execute_process(
      COMMAND sh -c "\"$0\" \"$@\" > \"${dir}.out\" 2>&1 & pid=$!; \
        while [ ! -s \"${dir}/metrics.csv\" ] || [ $(wc -l < \"${dir}/metrics.csv\") -lt 2 ]; do \
          sleep 0.05; kill -0 $pid 2>/dev/null || break; done; \
        kill -${signal} $pid; wait $pid; echo $?"
        ${TRAIN_MLP} ${flags} --out "${dir}"
      OUTPUT_VARIABLE code OUTPUT_STRIP_TRAILING_WHITESPACE)
    file(READ "${dir}.out" output)
    expect("SIG${signal}: expected exit code ${expected_code}, got ${code}\n${output}"
           code EQUAL expected_code)
    string(FIND "${output}" "Stopped by SIG${signal}" at)
    expect("SIG${signal}: expected the stop reported, got\n${output}" at GREATER -1)
    string(FIND "${output}" "Resume with: train_mlp --resume ${dir}/model.safetensors" at)
    expect("SIG${signal}: expected how to resume, got\n${output}" at GREATER -1)
    run_train_mlp(code stdout stderr --resume "${dir}/model.safetensors" --threads 1 --brief)
    expect("resume after SIG${signal}: exit code ${code}\n${stdout}${stderr}" code EQUAL 0)
    expect_same_run("stopped by SIG${signal} and resumed" "${WORK_DIR}/straight_${signal}" "${dir}")
  endforeach()

elseif(CASE STREQUAL "explode")
  # A loss that explodes without reaching NaN/Inf stops the run with the likely cause named,
  # and the table stays aligned (the loss in scientific notation).
  run_train_mlp(code stdout stderr --dataset blobs --no-bn --lr 1.0 --schedule none --epochs 5
                --seed 0 --threads 1 --brief --out "${WORK_DIR}/explode")
  expect("explode: expected exit code 1, got ${code}\n${stdout}${stderr}" code EQUAL 1)
  string(REGEX MATCH "the mean training loss [0-9.e+]+ is over 100 times that of guessing every class equally likely \\(1\\.10\\): the weights are diverging\\. The likely cause is a learning rate too large for this network: try a smaller --lr \\(this run: 1\\)" found "${stdout}")
  expect("explode: expected the cause named, got\n${stdout}" found)
  # The header's columns: "epoch" in 6, then the loss in 9 characters, then the train accuracy
  # in 9 ("    33.3%"): the loss must come in scientific notation, d.ddde+XX.
  string(REGEX MATCH "\n     1  [0-9]\\.[0-9][0-9][0-9]e\\+[0-9][0-9]      [0-9][0-9]\\.[0-9]%" row
         "${stdout}")
  expect("explode: expected the row aligned, the loss in scientific notation, got\n${stdout}" row)
  # Stopped in epoch 1, it wrote no checkpoint: the list of files must not offer one.
  run_train_mlp(code stdout stderr --dataset blobs --no-bn --lr 1.0 --schedule none --epochs 5
                --seed 0 --threads 1 --out "${WORK_DIR}/explode-notes")
  string(FIND "${stdout}" "No checkpoint was written." said)
  string(FIND "${stdout}" "--eval-only" offered)
  expect("explode: expected 'No checkpoint was written.', got\n${stdout}" said GREATER -1)
  expect("explode: expected no checkpoint offered, got\n${stdout}" offered EQUAL -1)

elseif(CASE STREQUAL "diverge")
  run_train_mlp(code stdout stderr --lr 100 --momentum 0.999 --weight-decay 1 --schedule none
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
  run_train_mlp(code stdout stderr --lr 100 --momentum 0.999 --weight-decay 1 --schedule none
                --epochs 10 --seed 0 --threads 1 --brief --detect-anomaly --out "${WORK_DIR}/anomaly")
  expect("--detect-anomaly: expected exit code 1, got ${code}\n${stdout}\n${stderr}" code EQUAL 1)
  string(REGEX MATCH "Training stopped at epoch [0-9]+, step [0-9]+/[0-9]+: anomaly detection found a NaN/Inf: .*'[a-z_]+' produced" found "${stdout}")
  expect("--detect-anomaly: expected the op named, got:\n${stdout}" found)
elseif(CASE STREQUAL "write_errors")
  set(flags --samples 200 --hidden 8 --seed 2 --threads 1 --brief)
  set(run "${WORK_DIR}/run")
  run_train_mlp(code stdout stderr ${flags} --epochs 1 --out "${run}")
  expect("first epoch: exit code ${code}\n${stderr}" code EQUAL 0)
  file(READ "${run}/metrics.csv" before)
  # Each file is written beside itself first: pointed at /dev/full, that write meets a full disk.
  foreach(file metrics.csv graph.dot loss.svg)
    file(CREATE_LINK /dev/full "${run}/${file}.partial" SYMBOLIC)
    run_train_mlp(code stdout stderr --resume "${run}/model.safetensors" --epochs 2 --brief)
    expect("${file} on a full disk: expected exit code 1, got ${code}\n${stdout}${stderr}"
           code EQUAL 1)
    string(FIND "${stderr}" "cannot write ${run}/${file}: No space left on device" at)
    expect("${file} on a full disk: expected the file and the reason named, got\n${stderr}"
           at GREATER -1)
    if(EXISTS "${run}/${file}.partial")
      message(FATAL_ERROR "${file} on a full disk: its partial file was left behind")
    endif()
    if(file STREQUAL "metrics.csv")
      file(READ "${run}/metrics.csv" after)
      expect("metrics.csv on a full disk: the old file changed:\n${after}" after STREQUAL before)
    endif()
    # Undo the epoch the failed run may have saved: the next file starts from epoch 1 again.
    file(REMOVE_RECURSE "${run}")
    run_train_mlp(code stdout stderr ${flags} --epochs 1 --out "${run}")
  endforeach()

  # --log-steps: a write that fails stops the run; a path that cannot be opened stops it before
  # any folder is made, with the OS's reason; a log inside the new --out folder is fine.
  run_train_mlp(code stdout stderr ${flags} --epochs 1 --log-steps /dev/full
                --out "${WORK_DIR}/full_log")
  expect("--log-steps /dev/full: expected exit code 1, got ${code}\n${stdout}${stderr}"
         code EQUAL 1)
  string(FIND "${stderr}" "--log-steps: cannot write /dev/full: No space left on device" at)
  expect("--log-steps /dev/full: expected the reason, got\n${stderr}" at GREATER -1)
  expect_refused("--log-steps naming a folder" 1
                 "--log-steps: cannot open ${WORK_DIR}: Is a directory" "${WORK_DIR}/no_folder"
                 ${flags} --epochs 1 --log-steps "${WORK_DIR}")
  expect_refused("--log-steps in a missing folder" 1
                 "--log-steps: cannot open ${WORK_DIR}/missing/steps: No such file or directory"
                 "${WORK_DIR}/no_folder" ${flags} --epochs 1 --log-steps "${WORK_DIR}/missing/steps")
  run_train_mlp(code stdout stderr ${flags} --epochs 1 --log-steps "${WORK_DIR}/inside/steps"
                --out "${WORK_DIR}/inside")
  expect("--log-steps inside --out: exit code ${code}\n${stderr}" code EQUAL 0)
  file(STRINGS "${WORK_DIR}/inside/steps" steps)
  list(LENGTH steps n)
  expect("--log-steps inside --out: expected 5 steps logged, got ${n}" n EQUAL 5)

elseif(CASE STREQUAL "bad_checkpoint")
  set(edit perl "${SOURCE_DIR}/edit_safetensors.pl")
  run_train_mlp(code stdout stderr --samples 1000 --hidden 8 --epochs 4 --seed 2 --threads 1
                --brief --out "${WORK_DIR}/run")
  expect("4 epochs: exit code ${code}\n${stderr}" code EQUAL 0)
  set(state "${WORK_DIR}/edited/training_state.safetensors")
  set(fails "${state}: the run's flags saved there fail the command line's checks: ")
  # refused_edit(name value expected): the run with `name` set to `value` in its training state
  # is refused with `expected`, and nothing is made. (A function rather than a list of cases:
  # the messages hold semicolons, which CMake's lists would split.)
  function(refused_edit name value expected)
    file(REMOVE_RECURSE "${WORK_DIR}/edited")
    file(COPY "${WORK_DIR}/run/" DESTINATION "${WORK_DIR}/edited")
    execute_process(COMMAND ${edit} "${state}" "${name}" "${value}" RESULT_VARIABLE edited)
    expect("edit_safetensors.pl ${name} ${value} failed" edited EQUAL 0)
    expect_refused("${name} = ${value}" 1 "${expected}" "${WORK_DIR}/resumed"
                   --resume "${WORK_DIR}/edited/model.safetensors" --epochs 6)
  endfunction()
  refused_edit(config.--samples 99999999999
               "${fails}--samples: Value 99999999999 not in range 10 to 10000000")
  refused_edit(config.--dataset nosuch
               "${fails}--dataset: nosuch not in {spirals,moons,blobs,circles}")
  refused_edit(config.--epochs abc "${fails}--epochs: Value abc not in range 1 to 100000")
  refused_edit(config.--batch-size 1 "${fails}--batch-size: Value 1 not in range 2 to 1000000")
  refused_edit(config.--seed -1 "${fails}--seed: Value -1 is not a non-negative integer")
  refused_edit(config.--momentum 5 "${fails}--momentum: Value 5 not in [0, 0.999]")
  refused_edit(loader.epoch 2
               "${state}: holds the data loader's epoch 2 but a progress of the end of epoch 4; expected loader.epoch 4")
  refused_edit(schedule.last_epoch 2
               "${state}: holds a schedule at last_epoch 2 (_step_count 5) but a progress of the end of epoch 4; expected last_epoch 4 (_step_count 5)")
  # In the middle of an epoch (both files agree on the step), the step must be one of the epoch's.
  file(REMOVE_RECURSE "${WORK_DIR}/edited")
  file(COPY "${WORK_DIR}/run/" DESTINATION "${WORK_DIR}/edited")
  execute_process(COMMAND ${edit} "${state}" progress.step 1000000000)
  execute_process(COMMAND ${edit} "${state}" progress.loss_sum 1.5)
  execute_process(COMMAND ${edit} "${WORK_DIR}/edited/model.safetensors" train_mlp.step 1000000000)
  expect_refused("progress.step = 1000000000" 1
                 "${state}: holds a progress of step 1000000000 of epoch 5, but an epoch of this run has 24 steps"
                 "${WORK_DIR}/resumed" --resume "${WORK_DIR}/edited/model.safetensors" --epochs 6)

else()
  message(FATAL_ERROR "unknown CASE '${CASE}'")
endif()
