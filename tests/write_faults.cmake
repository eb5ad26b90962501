# pxi's and pxdbg's writes into a full and a read-only directory, made so for root too and without
# mounting by tests/fs_fault_shim.c (the pxfsfault library, preloaded): docs/write-paths.md.
# write_faults_cli: `pxi run -o` and `pxi gpt -o` (tests/write_faults_cli.sh).
if(TARGET pxi)
  add_test(NAME write_faults_cli
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/write_faults_cli.sh $<TARGET_FILE:pxi> $<TARGET_FILE:pxfsfault>
                   ${CMAKE_CURRENT_BINARY_DIR}/write_faults_cli
           WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
  set_tests_properties(write_faults_cli PROPERTIES TIMEOUT 120)
endif()
