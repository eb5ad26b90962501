# Write-path tests (docs/write-paths.md) that are not pxi_check one-liners. The full and the
# read-only directory are made so, for root too and without mounting, by tests/fs_fault_shim.c
# (the pxfsfault library, preloaded).
# write_faults_cli: every pxi write path into a full and a read-only directory, and the inputs no
# option names (tests/write_faults_cli.sh). Runs `pxi bench --quick` once: a few seconds, a
# minute or more under the sanitizers.
if(TARGET pxi)
  add_test(NAME write_faults_cli
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/write_faults_cli.sh $<TARGET_FILE:pxi> $<TARGET_FILE:pxfsfault>
                   ${CMAKE_CURRENT_BINARY_DIR}/write_faults_cli
           WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
  set_tests_properties(write_faults_cli PROPERTIES TIMEOUT 600)
endif()
# pxdbg_gui_faults: Save image as, Export view and matrix, the screenshot, the state file and imgui.ini, in Xvfb
# (tests/pxdbg_gui_faults.sh).
if(TARGET pxdbg)
  add_test(NAME pxdbg_gui_faults
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui_faults.sh $<TARGET_FILE:pxdbg>
                   $<TARGET_FILE:pxfsfault> ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_faults
                   ${PXOS_SOURCE_DIR}/assets/add_relu.pxi)
  set_tests_properties(pxdbg_gui_faults PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 ${PXOS_GUI_TEST_SCHEDULE})
  if(PXOS_GL_TEST_ENV) # the sanitizer build: no leak detection under llvmpipe (tests/CMakeLists.txt)
    set_property(TEST pxdbg_gui_faults APPEND PROPERTY ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
# pxdbg_gui_write_inputs: the Lens window's float32 program (--reference) is never written over
# (tests/pxdbg_gui_write_inputs.sh).
if(TARGET pxdbg AND TARGET pxi)
  add_test(NAME pxdbg_gui_write_inputs
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui_write_inputs.sh $<TARGET_FILE:pxdbg> $<TARGET_FILE:pxi>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_write_inputs ${PXOS_SOURCE_DIR})
  set_tests_properties(pxdbg_gui_write_inputs PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 ${PXOS_GUI_TEST_SCHEDULE})
  if(PXOS_GL_TEST_ENV)
    set_property(TEST pxdbg_gui_write_inputs APPEND PROPERTY ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
