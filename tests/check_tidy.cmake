# Runs clang-tidy on the agent sources in one folder (DIR, relative to the
# source tree) with the build's compile commands; any finding fails
# (.clang-tidy sets WarningsAsErrors).
file(GLOB files ${SOURCE_DIR}/${DIR}/*.cpp)
execute_process(COMMAND ${CLANG_TIDY} --quiet -p ${BUILD_DIR} ${files}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-tidy found problems in ${DIR}:\n${out}")
endif()
