# pxi generate --profile and pxi gpt --random-init on a tiny GPT program: per-opcode counts against
# the disassembly's listing, shares summing to 1, FMATMUL work against the graph written out
# (tests/gen_profile_check.py says what is checked). Needs /usr/bin/python3, not NumPy.
find_program(PXOS_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(TARGET pxi AND PXOS_SYSTEM_PYTHON3)
  add_test(NAME gen_profile
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/gen_profile_check.py $<TARGET_FILE:pxi>
                   ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR} ${CMAKE_BINARY_DIR}/gen_profile_work
           WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
  set_tests_properties(gen_profile PROPERTIES TIMEOUT 120)
endif()
