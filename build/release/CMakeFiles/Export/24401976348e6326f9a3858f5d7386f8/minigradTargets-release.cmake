#----------------------------------------------------------------
# Generated CMake target import file for configuration "Release".
#----------------------------------------------------------------

# Commands may need to know the format version.
set(CMAKE_IMPORT_FILE_VERSION 1)

# Import target "minigrad::minigrad" for configuration "Release"
set_property(TARGET minigrad::minigrad APPEND PROPERTY IMPORTED_CONFIGURATIONS RELEASE)
set_target_properties(minigrad::minigrad PROPERTIES
  IMPORTED_LINK_INTERFACE_LANGUAGES_RELEASE "CXX"
  IMPORTED_LOCATION_RELEASE "${_IMPORT_PREFIX}/lib/libminigrad.a"
  )

list(APPEND _cmake_import_check_targets minigrad::minigrad )
list(APPEND _cmake_import_check_files_for_minigrad::minigrad "${_IMPORT_PREFIX}/lib/libminigrad.a" )

# Commands beyond this point should not need to know the version.
set(CMAKE_IMPORT_FILE_VERSION)
