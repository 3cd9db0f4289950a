# Each folder of store/, fs/ and tools/ is one library (or program) named for
# its concern. re2po_library() builds it from the folder's *.cc files and
# records which folders it may include from: its own and those of the
# libraries it names in DEPENDS (not their dependencies in turn). A check run
# on every build (re2po_layering) fails when a file includes from a folder
# its library did not declare, or includes a library header (rocksdb, fuse,
# ...) its library did not declare in SYSTEM_HEADERS: a wrong include fails
# the build. See docs/architecture.md.

set(RE2PO_LAYER_MANIFEST "${PROJECT_BINARY_DIR}/layers.txt")
file(WRITE "${RE2PO_LAYER_MANIFEST}" "")
set_property(GLOBAL PROPERTY RE2PO_LAYER_FILES "")

# Header families only the folders that declare them may include.
set(RE2PO_GUARDED_HEADERS
  "rocksdb/" "fuse" "curl/" "httplib.h" "hdf5" "H5" "zstd" "xxhash" "openssl/" "nlohmann/" "CLI/")

# re2po_record_layer(TARGET DIR DEPENDS targets... SYSTEM_HEADERS prefixes...)
function(re2po_record_layer target dir)
  cmake_parse_arguments(ARG "" "" "DEPENDS;SYSTEM_HEADERS" ${ARGN})
  file(RELATIVE_PATH relative "${PROJECT_SOURCE_DIR}" "${dir}")
  string(REPLACE ";" "," depends "${ARG_DEPENDS}")
  string(REPLACE ";" "," system "${ARG_SYSTEM_HEADERS}")
  file(APPEND "${RE2PO_LAYER_MANIFEST}" "${target}|${relative}|${depends}|${system}\n")
  file(GLOB files CONFIGURE_DEPENDS "${dir}/*.h" "${dir}/*.cc")
  set_property(GLOBAL APPEND PROPERTY RE2PO_LAYER_FILES ${files})
endfunction()

# re2po_library(NAME [DEPENDS re2po libraries] [HEADERS_FROM layers whose
#               headers it includes but whose code the program links]
#               [PUBLIC_LIBS ...] [PRIVATE_LIBS ...] [SYSTEM_HEADERS prefixes])
function(re2po_library name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;HEADERS_FROM;PUBLIC_LIBS;PRIVATE_LIBS;SYSTEM_HEADERS;SOURCES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cc")
  add_library(${name} STATIC ${sources} ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS} ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  re2po_record_layer(${name} "${CMAKE_CURRENT_SOURCE_DIR}" DEPENDS ${ARG_DEPENDS} ${ARG_HEADERS_FROM}
    SYSTEM_HEADERS ${ARG_SYSTEM_HEADERS})
  add_dependencies(${name} re2po_layering)
endfunction()

# Called once, after every folder was added. Targets may depend on
# re2po_layering before it exists: CMake resolves that at generation.
function(re2po_add_layering_check)
  get_property(files GLOBAL PROPERTY RE2PO_LAYER_FILES)
  set(stamp "${PROJECT_BINARY_DIR}/layers.checked")
  string(REPLACE ";" "," guarded "${RE2PO_GUARDED_HEADERS}")
  add_custom_command(OUTPUT "${stamp}"
    COMMAND ${CMAKE_COMMAND} -DMANIFEST=${RE2PO_LAYER_MANIFEST} -DROOT=${PROJECT_SOURCE_DIR}
      "-DGUARDED=${guarded}" -DSTAMP=${stamp} -P ${PROJECT_SOURCE_DIR}/cmake/CheckLayers.cmake
    DEPENDS ${files} "${RE2PO_LAYER_MANIFEST}" ${PROJECT_SOURCE_DIR}/cmake/CheckLayers.cmake
    COMMENT "Checking that every include follows the declared layers")
  add_custom_target(re2po_layering ALL DEPENDS "${stamp}")
endfunction()
