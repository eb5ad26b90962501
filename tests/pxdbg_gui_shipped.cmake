# The shipped uint8 model in pxdbg with real X input (tests/pxdbg_gui_shipped.sh): ten Next tokens
# against pxi generate, attention maps and the lens against pxi attention and pxi lens. Labelled
# large_asset (the asan preset leaves it out, tests/CMakeLists.txt): the tiny-model GUI tests run
# the same windows under ASan.
if(TARGET pxdbg)
  add_test(NAME pxdbg_gui_shipped
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui_shipped.sh $<TARGET_FILE:pxdbg> $<TARGET_FILE:pxi>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_shipped ${PXOS_SOURCE_DIR})
  set_tests_properties(pxdbg_gui_shipped PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 ${PXOS_GUI_TEST_SCHEDULE})
  if(PXOS_GL_TEST_ENV)
    set_property(TEST pxdbg_gui_shipped APPEND PROPERTY ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
  pxos_label_large_asset(assets/gpt_brown.pxi pxdbg_gui_shipped)
endif()
