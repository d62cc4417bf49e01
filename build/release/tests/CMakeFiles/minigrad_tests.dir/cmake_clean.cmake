file(REMOVE_RECURSE
  "CMakeFiles/minigrad_tests.dir/test_data.cpp.o"
  "CMakeFiles/minigrad_tests.dir/test_data.cpp.o.d"
  "CMakeFiles/minigrad_tests.dir/test_main.cpp.o"
  "CMakeFiles/minigrad_tests.dir/test_main.cpp.o.d"
  "CMakeFiles/minigrad_tests.dir/test_safetensors.cpp.o"
  "CMakeFiles/minigrad_tests.dir/test_safetensors.cpp.o.d"
  "minigrad_tests"
  "minigrad_tests.pdb"
  "minigrad_tests_tests-b12d07c.cmake"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/minigrad_tests.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
