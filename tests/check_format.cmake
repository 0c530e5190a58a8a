# Fails when any C++ file under agent/ or tests/ differs from .clang-format.
file(GLOB_RECURSE files ${SOURCE_DIR}/agent/*.cpp ${SOURCE_DIR}/agent/*.h
                        ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.h)
set(bad "")
foreach(f ${files})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${f} RESULT_VARIABLE rc
                  OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad ${f})
  endif()
endforeach()
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "not formatted (run clang-format -i):\n  ${bad}")
endif()
