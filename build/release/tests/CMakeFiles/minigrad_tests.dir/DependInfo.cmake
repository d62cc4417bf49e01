
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/test_data.cpp" "tests/CMakeFiles/minigrad_tests.dir/test_data.cpp.o" "gcc" "tests/CMakeFiles/minigrad_tests.dir/test_data.cpp.o.d"
  "/work/main/tests/test_main.cpp" "tests/CMakeFiles/minigrad_tests.dir/test_main.cpp.o" "gcc" "tests/CMakeFiles/minigrad_tests.dir/test_main.cpp.o.d"
  "/work/main/tests/test_safetensors.cpp" "tests/CMakeFiles/minigrad_tests.dir/test_safetensors.cpp.o" "gcc" "tests/CMakeFiles/minigrad_tests.dir/test_safetensors.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/release/CMakeFiles/minigrad.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
