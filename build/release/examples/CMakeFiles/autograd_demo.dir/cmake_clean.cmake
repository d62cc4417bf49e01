file(REMOVE_RECURSE
  "CMakeFiles/autograd_demo.dir/autograd_demo.cpp.o"
  "CMakeFiles/autograd_demo.dir/autograd_demo.cpp.o.d"
  "autograd_demo"
  "autograd_demo.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/autograd_demo.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
