# pxdbg driven in a real X window (Xvfb) with real key events (xdotool): tests/pxdbg_gui.sh.
# pxdbg_gui opens the Pixel-LLM; pxdbg_gui_synthetic a generated program (needs no asset);
# pxdbg_gui_truth runs issue 12's regressions (tests/pxdbg_gui_truth.sh) on a copy of the Pixel-LLM;
# pxdbg_monkey drives it with seeded random input for a bounded time (tests/pxdbg_monkey.sh).
# Every GUI test is scheduled by PXOS_GUI_TEST_SCHEDULE (tests/CMakeLists.txt).
if(TARGET pxdbg)
  add_test(NAME pxdbg_gui
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui.sh $<TARGET_FILE:pxdbg>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui ${PXOS_SOURCE_DIR}/assets/pixellm.pxi)
  add_test(NAME pxdbg_gui_synthetic
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui.sh $<TARGET_FILE:pxdbg>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_synthetic --synthetic 96)
  add_test(NAME pxdbg_gui_truth
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_gui.sh $<TARGET_FILE:pxdbg>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_gui_truth ${PXOS_SOURCE_DIR}/assets/pixellm.pxi)
  set_tests_properties(pxdbg_gui_truth PROPERTIES ENVIRONMENT "PXDBG_GUI_SCENARIO=truth;PXI=$<TARGET_FILE:pxi>")
  set_tests_properties(pxdbg_gui pxdbg_gui_synthetic pxdbg_gui_truth PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                                                                               ${PXOS_GUI_TEST_SCHEDULE})
endif()
# The private X display every GUI test runs on (tests/with_xvfb.sh).
add_test(NAME with_xvfb COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/with_xvfb_test.sh)
set_tests_properties(with_xvfb PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 ${PXOS_GUI_TEST_SCHEDULE})
if(TARGET pxdbg)
  # The monkey: seed 1 for 40 s in CI; longer runs by hand (see tests/pxdbg_monkey.sh).
  add_test(NAME pxdbg_monkey
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pxdbg_monkey.sh $<TARGET_FILE:pxdbg>
                   ${CMAKE_CURRENT_BINARY_DIR}/pxdbg_monkey 1 40 ${PXOS_SOURCE_DIR}/assets/pixellm.pxi)
  set_tests_properties(pxdbg_monkey PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 ${PXOS_GUI_TEST_SCHEDULE})
endif()
# Under the sanitizers (the asan preset builds pxdbg too): no leak detection in processes that run
# llvmpipe (tests/CMakeLists.txt, PXOS_GL_TEST_ENV); ASan and UBSan stay on.
if(TARGET pxdbg AND PXOS_GL_TEST_ENV)
  set_property(TEST pxdbg_gui pxdbg_gui_synthetic pxdbg_gui_truth pxdbg_monkey APPEND PROPERTY ENVIRONMENT
                                                                                  "${PXOS_GL_TEST_ENV}")
endif()
