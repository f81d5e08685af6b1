# n2d2c_add_model(<target> MODEL <model> [BACKEND cpp|c|stm32] [NAME <name>]
#                 [OUTPUT_DIR <dir>] [OPTIONS <n2d2c compile arguments>...]
#                 [DEPENDS <files>...])
#
# Generates the network's code at build time with `n2d2c compile` and adds a static
# library <target> of it; link the application against <target> (its include folder
# comes with it). The generated code is regenerated exactly when an input changes:
# the model, every file n2d2c read for it (ONNX external data, INI includes and
# templates, parameter files, calibration data, export parameters: the depfile n2d2c
# writes) or the command line (Ninja). Files whose bytes do not change keep their
# modification time, so only what really changed recompiles.
#
#   MODEL       the .onnx/.ini/.ir file (relative paths: from the current source dir)
#   BACKEND     cpp (default: C++14/OpenMP), c (C99) or stm32 (C99 for Cortex-M; the
#               project's toolchain compiles it)
#   NAME        the network's name in the code: namespace (cpp), prefix (c, stm32);
#               default <target> made a C identifier
#   OPTIONS     more arguments of `n2d2c compile`, e.g. -X mcu=cortex-m4 --nbbits 8
#               --calib-data calib.npz (run from the current source dir)
#   OUTPUT_DIR  where the project goes (default: <binary dir>/n2d2c/<target>; the
#               target property N2D2C_OUTPUT_DIR; stm32 adds N2D2C_STARTUP,
#               N2D2C_LINKER_SCRIPT and N2D2C_QEMU_LINKER_SCRIPT for the firmware)
#
# The library's include folders give "network.hpp" (network.h) and, for applications
# that embed several models, "<target>/network.hpp": each cpp model has its own namespace.
#
# N2D2C_EXECUTABLE (cache) is the n2d2c command; by default the one on PATH.
include_guard(GLOBAL)
if(CMAKE_VERSION VERSION_LESS 3.20)
  message(FATAL_ERROR "n2d2c_add_model needs CMake 3.20 or newer (DEPFILE for every "
                      "generator), this is ${CMAKE_VERSION}")
endif()
# Paths in a DEPFILE are taken as they are written (n2d2c writes absolute ones) and
# CMake rewrites them for Ninja; functions keep the policies set where they are defined.
cmake_policy(SET CMP0116 NEW)

find_program(N2D2C_EXECUTABLE n2d2c DOC "the n2d2c command (n2d2c_add_model)")
# A new n2d2c release regenerates the code as well.
set(N2D2C_VERSION_FILE "${CMAKE_CURRENT_LIST_DIR}/../version.py")

function(n2d2c_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "MODEL;BACKEND;NAME;OUTPUT_DIR"
                        "OPTIONS;DEPENDS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "n2d2c_add_model(${target}): unknown arguments "
                        "${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_MODEL)
    message(FATAL_ERROR "n2d2c_add_model(${target}): MODEL <file> is required")
  endif()
  if(NOT N2D2C_EXECUTABLE)
    message(FATAL_ERROR "n2d2c_add_model(${target}): the n2d2c command was not found; "
                        "pip install n2d2c, or set N2D2C_EXECUTABLE")
  endif()
  if(NOT ARG_BACKEND)
    set(ARG_BACKEND cpp)
  endif()
  if(ARG_BACKEND STREQUAL "cpp")
    set(sources network.cpp weights.cpp)
    set(headers network.hpp weights.hpp n2d2c_support.hpp)
  elseif(ARG_BACKEND STREQUAL "c" OR ARG_BACKEND STREQUAL "stm32")
    set(sources network.c weights.c)
    set(headers network.h weights.h n2d2c_support.h)
  else()
    message(FATAL_ERROR "n2d2c_add_model(${target}): BACKEND must be cpp, c or stm32, "
                        "not '${ARG_BACKEND}'")
  endif()
  set(firmware_files "")
  if(ARG_BACKEND STREQUAL "stm32")
    # What a firmware takes from the project besides the library (target properties
    # N2D2C_STARTUP, N2D2C_LINKER_SCRIPT, N2D2C_QEMU_LINKER_SCRIPT).
    set(firmware_files startup.c stm32.ld qemu.ld)
  endif()
  if(NOT ARG_NAME)
    string(MAKE_C_IDENTIFIER "${target}" ARG_NAME)
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/n2d2c/${target}")
  endif()
  get_filename_component(model "${ARG_MODEL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(out "${ARG_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  # The stamp is touched on every run: it is what the depfile names and what CMake
  # compares against the inputs; the generated files keep their times when unchanged.
  set(stamp "${out}.stamp")
  set(depfile "${out}.d")
  list(TRANSFORM sources PREPEND "${out}/" OUTPUT_VARIABLE generated_sources)
  list(TRANSFORM headers PREPEND "${out}/" OUTPUT_VARIABLE generated_headers)
  list(TRANSFORM firmware_files PREPEND "${out}/" OUTPUT_VARIABLE generated_firmware_files)
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS ${generated_sources} ${generated_headers} ${generated_firmware_files}
    COMMAND "${N2D2C_EXECUTABLE}" compile "${model}" --backend "${ARG_BACKEND}"
            --name "${ARG_NAME}" -o "${out}" -X stimuli=0 ${ARG_OPTIONS}
            --depfile "${depfile}" --depfile-target "${stamp}"
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    DEPENDS "${model}" "${N2D2C_VERSION_FILE}" ${ARG_DEPENDS}
    DEPFILE "${depfile}"
    WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
    COMMENT "n2d2c: ${ARG_BACKEND} code of ${ARG_MODEL} (${target})"
    VERBATIM)
  # The stamp as a source ties the command to the library for every generator.
  add_library(${target} STATIC ${generated_sources} ${generated_headers} "${stamp}")
  # "network.hpp" for one model; "<folder>/network.hpp" (the folder is <target> by
  # default) when an application links several.
  get_filename_component(out_parent "${out}" DIRECTORY)
  target_include_directories(${target} PUBLIC "${out}" "${out_parent}")
  if(ARG_BACKEND STREQUAL "cpp")
    target_compile_features(${target} PUBLIC cxx_std_14)
    find_package(OpenMP COMPONENTS CXX QUIET)
    if(OpenMP_CXX_FOUND)
      target_link_libraries(${target} PUBLIC OpenMP::OpenMP_CXX)
    endif()
  else()
    target_compile_features(${target} PRIVATE c_std_99)
    if(NOT MSVC)
      target_link_libraries(${target} PUBLIC m)
    endif()
  endif()
  set_target_properties(${target} PROPERTIES N2D2C_OUTPUT_DIR "${out}")
  if(ARG_BACKEND STREQUAL "stm32")
    set_target_properties(${target} PROPERTIES N2D2C_STARTUP "${out}/startup.c"
                          N2D2C_LINKER_SCRIPT "${out}/stm32.ld"
                          N2D2C_QEMU_LINKER_SCRIPT "${out}/qemu.ld")
  endif()
endfunction()
