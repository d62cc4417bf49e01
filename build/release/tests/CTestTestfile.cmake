# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/release/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/release/tests/minigrad_tests_include-b12d07c.cmake")
add_test([=[fuzz_checkpoint_smoke]=] "/work/main/scripts/fuzz.sh" "20")
set_tests_properties([=[fuzz_checkpoint_smoke]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;20;add_test;/work/main/tests/CMakeLists.txt;0;")
