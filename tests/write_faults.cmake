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
# pxdbg_gui_faults: Save image as, Export view, the screenshot and the state file, in Xvfb
# (tests/pxdbg_gui_faults.sh).
if(TARGET pxdbg)
  add_test(NAME pxdbg_gui_faults
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui_faults.sh $<TARGET_FILE:pxdbg>
                   $<TARGET_FILE:pxfsfault> ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_faults
                   ${PXOS_SOURCE_DIR}/assets/add_relu.pxi)
  set_tests_properties(pxdbg_gui_faults PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 RUN_SERIAL TRUE)
  if(PXOS_GL_TEST_ENV) # the sanitizer build: no leak detection under llvmpipe (tests/CMakeLists.txt)
    set_property(TEST pxdbg_gui_faults APPEND PROPERTY ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
