# Float display and the float32 Pixel-LLM through the CLI (issue 13), every number checked by
# tests/float_cli_check.py against NumPy on the files' own bytes. Needs /usr/bin/python3 with
# NumPy (else skipped, 77).
if(NOT TARGET pxi)
  return()
endif()
find_program(PXOS_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(PXOS_SYSTEM_PYTHON3)
  add_test(NAME cli_float_display
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/float_cli_check.py $<TARGET_FILE:pxi>
                   ${CMAKE_BINARY_DIR}/cli_work/float)
  set_tests_properties(cli_float_display PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
