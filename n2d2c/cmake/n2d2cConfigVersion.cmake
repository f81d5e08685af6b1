# The version of the n2d2c package this folder ships with (n2d2c/version.py), so that
# find_package(n2d2c 0.1) checks it. Same major version and not older: compatible.
file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../version.py" _n2d2c_version_line
     REGEX "^__version__ = \"[0-9.]+\"")
string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" PACKAGE_VERSION "${_n2d2c_version_line}")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(PACKAGE_FIND_VERSION)
  string(REGEX MATCH "^[0-9]+" _n2d2c_major "${PACKAGE_VERSION}")
  if(PACKAGE_FIND_VERSION_MAJOR STREQUAL _n2d2c_major
     AND NOT PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  endif()
  if(PACKAGE_VERSION VERSION_EQUAL PACKAGE_FIND_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
endif()
