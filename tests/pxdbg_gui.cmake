# pxdbg driven in a real X window (Xvfb) with real key events (xdotool): tests/pxdbg_gui.sh.
# pxdbg_gui opens the Pixel-LLM; pxdbg_gui_synthetic a generated program (needs no asset).
if(TARGET pxdbg)
  add_test(NAME pxdbg_gui
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui.sh $<TARGET_FILE:pxdbg>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui ${PXOS_SOURCE_DIR}/assets/pixellm.pxi)
  add_test(NAME pxdbg_gui_synthetic
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui.sh $<TARGET_FILE:pxdbg>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_synthetic --synthetic 96)
  set_tests_properties(pxdbg_gui pxdbg_gui_synthetic PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
endif()
