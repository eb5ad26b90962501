# pxdbg's Attention window on a tiny GPT program, in a real X window (Xvfb) with real input events:
# tests/pxdbg_gui_attention.sh (every probability against NumPy and pxi attention; hover, click).
if(TARGET pxdbg)
  add_test(NAME pxdbg_gui_attention
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui_attention.sh $<TARGET_FILE:pxdbg> $<TARGET_FILE:pxi>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_attention ${PXOS_SOURCE_DIR})
  set_tests_properties(pxdbg_gui_attention PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 ${PXOS_GUI_TEST_SCHEDULE})
  if(PXOS_GL_TEST_ENV)
    set_property(TEST pxdbg_gui_attention APPEND PROPERTY ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
