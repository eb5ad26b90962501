# pxdbg's Text window on a tiny GPT program, in a real X window (Xvfb) with real key events:
# tests/pxdbg_gui_gpt.sh (prompt typed, ten Next tokens, Back one token, every number checked
# against pxi generate / pxi run --trace / a Python softmax).
if(TARGET pxdbg)
  add_test(NAME pxdbg_gui_gpt
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui_gpt.sh $<TARGET_FILE:pxdbg> $<TARGET_FILE:pxi>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_gpt ${PXOS_SOURCE_DIR})
  set_tests_properties(pxdbg_gui_gpt PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 ${PXOS_GUI_TEST_SCHEDULE})
  if(PXOS_GL_TEST_ENV)
    set_property(TEST pxdbg_gui_gpt APPEND PROPERTY ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
