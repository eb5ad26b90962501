# Typed .pxasm through the CLI (docs/pxasm.md): a hand-written float program assembled and run,
# the float32 Pixel-LLM disassembled and assembled back, every number checked by
# tests/asm_float_cli_check.py against NumPy. Needs /usr/bin/python3 with NumPy (else skipped, 77).
if(NOT TARGET pxi)
  return()
endif()
find_program(PXOS_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(PXOS_SYSTEM_PYTHON3)
  add_test(NAME cli_asm_float
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/asm_float_cli_check.py $<TARGET_FILE:pxi>
                   ${CMAKE_BINARY_DIR}/cli_work/asm_float)
  set_tests_properties(cli_asm_float PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
