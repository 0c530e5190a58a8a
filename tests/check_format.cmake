# Fails when any C/C++ file under agent/, tests/ or probes/ (not the
# generated vmlinux.h) differs from .clang-format.
file(GLOB_RECURSE files ${SOURCE_DIR}/agent/*.cpp ${SOURCE_DIR}/agent/*.h
                        ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.h)
file(GLOB probe_files ${SOURCE_DIR}/probes/*.h ${SOURCE_DIR}/probes/*.bpf.c)
list(APPEND files ${probe_files})
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
