# Runs one command and checks its exit code, its output and, optionally, that a file was not
# created. Used by tests/cli.cmake as `cmake -D... -P run_check.cmake`.
#   CMD          the command, a ;-list (pass with $<SEMICOLON> or "|" separators: see SEP)
#   SEP          if set, CMD's items are separated by this string instead of ';'
#   EXPECT_RC    the exit code required
#   EXPECT_OUT   optional regex the combined stdout+stderr must match
#   EXPECT_ERR_LINES  optional: stderr must hold exactly this many lines that are not warnings
#   ABSENT       optional path that must not exist afterwards (removed first)
if(SEP)
  string(REPLACE "${SEP}" ";" CMD "${CMD}")
endif()
if(ABSENT)
  file(REMOVE "${ABSENT}")
endif()
execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT rc STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT_RC}: ${CMD}\n--- output:\n${all}")
endif()
if(DEFINED EXPECT_OUT AND NOT all MATCHES "${EXPECT_OUT}")
  message(FATAL_ERROR "output does not match '${EXPECT_OUT}': ${CMD}\n--- output:\n${all}")
endif()
if(DEFINED EXPECT_ERR_LINES)
  string(REGEX REPLACE "pxi: warning:[^\n]*\n" "" errors "${err}")
  string(REGEX REPLACE "[^\n]" "" newlines "${errors}") # count lines (messages may hold ';')
  string(LENGTH "${newlines}" n)
  if(NOT n EQUAL EXPECT_ERR_LINES)
    message(FATAL_ERROR "${n} error lines on stderr, expected ${EXPECT_ERR_LINES}: ${CMD}\n--- stderr:\n${err}")
  endif()
endif()
if(ABSENT AND EXISTS "${ABSENT}")
  file(REMOVE "${ABSENT}")
  message(FATAL_ERROR "${ABSENT} was created: ${CMD}")
endif()
