# pxdbg's A/B compare, pixel history, go to, reverse execution, weight statistics and break on
# divergence, in a real X window (Xvfb) with real key events: tests/pxdbg_gui_model.sh. The
# divergence part runs pxdbg_fault (the test-only GPU fault injection); the rest the release pxdbg.
if(TARGET pxdbg AND TARGET pxdbg_fault AND TARGET pxi)
  add_test(NAME pxdbg_gui_model
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui_model.sh $<TARGET_FILE:pxdbg>
                   $<TARGET_FILE:pxdbg_fault> $<TARGET_FILE:pxi> ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_model
                   ${PXOS_SOURCE_DIR}/assets/pixellm.pxi)
  set_tests_properties(pxdbg_gui_model PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 ${PXOS_GUI_TEST_SCHEDULE})
  if(PXOS_GL_TEST_ENV) # the sanitizer build: no leak detection under llvmpipe (tests/CMakeLists.txt)
    set_property(TEST pxdbg_gui_model APPEND PROPERTY ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
