# Runs clang-tidy on every agent source with the build's compile commands;
# any finding fails (.clang-tidy sets WarningsAsErrors).
file(GLOB_RECURSE files ${SOURCE_DIR}/agent/*.cpp)
execute_process(COMMAND ${CLANG_TIDY} --quiet -p ${BUILD_DIR} ${files}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-tidy found problems:\n${out}")
endif()
