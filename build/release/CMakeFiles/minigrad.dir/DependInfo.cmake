
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/core/allocator.cpp" "CMakeFiles/minigrad.dir/core/allocator.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/allocator.cpp.o.d"
  "/work/main/core/autograd.cpp" "CMakeFiles/minigrad.dir/core/autograd.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/autograd.cpp.o.d"
  "/work/main/core/data_loader.cpp" "CMakeFiles/minigrad.dir/core/data_loader.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/data_loader.cpp.o.d"
  "/work/main/core/data_sets.cpp" "CMakeFiles/minigrad.dir/core/data_sets.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/data_sets.cpp.o.d"
  "/work/main/core/gradcheck.cpp" "CMakeFiles/minigrad.dir/core/gradcheck.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/gradcheck.cpp.o.d"
  "/work/main/core/loss.cpp" "CMakeFiles/minigrad.dir/core/loss.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/loss.cpp.o.d"
  "/work/main/core/ops_binary.cpp" "CMakeFiles/minigrad.dir/core/ops_binary.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/ops_binary.cpp.o.d"
  "/work/main/core/ops_linalg.cpp" "CMakeFiles/minigrad.dir/core/ops_linalg.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/ops_linalg.cpp.o.d"
  "/work/main/core/ops_reduce.cpp" "CMakeFiles/minigrad.dir/core/ops_reduce.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/ops_reduce.cpp.o.d"
  "/work/main/core/ops_unary.cpp" "CMakeFiles/minigrad.dir/core/ops_unary.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/ops_unary.cpp.o.d"
  "/work/main/core/random.cpp" "CMakeFiles/minigrad.dir/core/random.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/random.cpp.o.d"
  "/work/main/core/safetensors_read.cpp" "CMakeFiles/minigrad.dir/core/safetensors_read.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/safetensors_read.cpp.o.d"
  "/work/main/core/safetensors_write.cpp" "CMakeFiles/minigrad.dir/core/safetensors_write.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/safetensors_write.cpp.o.d"
  "/work/main/core/shape.cpp" "CMakeFiles/minigrad.dir/core/shape.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/shape.cpp.o.d"
  "/work/main/core/tensor.cpp" "CMakeFiles/minigrad.dir/core/tensor.cpp.o" "gcc" "CMakeFiles/minigrad.dir/core/tensor.cpp.o.d"
  "/work/main/layers/linear.cpp" "CMakeFiles/minigrad.dir/layers/linear.cpp.o" "gcc" "CMakeFiles/minigrad.dir/layers/linear.cpp.o.d"
  "/work/main/layers/module.cpp" "CMakeFiles/minigrad.dir/layers/module.cpp.o" "gcc" "CMakeFiles/minigrad.dir/layers/module.cpp.o.d"
  "/work/main/layers/relu.cpp" "CMakeFiles/minigrad.dir/layers/relu.cpp.o" "gcc" "CMakeFiles/minigrad.dir/layers/relu.cpp.o.d"
  "/work/main/layers/sequential.cpp" "CMakeFiles/minigrad.dir/layers/sequential.cpp.o" "gcc" "CMakeFiles/minigrad.dir/layers/sequential.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
