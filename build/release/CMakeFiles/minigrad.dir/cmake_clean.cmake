file(REMOVE_RECURSE
  "CMakeFiles/minigrad.dir/core/allocator.cpp.o"
  "CMakeFiles/minigrad.dir/core/allocator.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/autograd.cpp.o"
  "CMakeFiles/minigrad.dir/core/autograd.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/gradcheck.cpp.o"
  "CMakeFiles/minigrad.dir/core/gradcheck.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/loss.cpp.o"
  "CMakeFiles/minigrad.dir/core/loss.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/ops_binary.cpp.o"
  "CMakeFiles/minigrad.dir/core/ops_binary.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/ops_linalg.cpp.o"
  "CMakeFiles/minigrad.dir/core/ops_linalg.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/ops_reduce.cpp.o"
  "CMakeFiles/minigrad.dir/core/ops_reduce.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/ops_unary.cpp.o"
  "CMakeFiles/minigrad.dir/core/ops_unary.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/random.cpp.o"
  "CMakeFiles/minigrad.dir/core/random.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/shape.cpp.o"
  "CMakeFiles/minigrad.dir/core/shape.cpp.o.d"
  "CMakeFiles/minigrad.dir/core/tensor.cpp.o"
  "CMakeFiles/minigrad.dir/core/tensor.cpp.o.d"
  "CMakeFiles/minigrad.dir/layers/module.cpp.o"
  "CMakeFiles/minigrad.dir/layers/module.cpp.o.d"
  "libminigrad.a"
  "libminigrad.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/minigrad.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
