# find_package(n2d2c) entry point: CMake finds this folder through
#   cmake -Dn2d2c_DIR="$(n2d2c --cmake-dir)" ...   (or CMAKE_PREFIX_PATH)
# and gets n2d2c_add_model() (n2d2c.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/n2d2c.cmake")
set(n2d2c_FOUND TRUE)
