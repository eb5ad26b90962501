# The float32 GPT program against a float64 NumPy reference of its graph (issues 14, 15;
# docs/gpt-reference.md): tests/gpt_reference.py. Needs /usr/bin/python3 with NumPy.
find_program(PXOS_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PXOS_SYSTEM_PYTHON3)
  return()
endif()
# The reference against a second formulation of itself, causal invariance, greedy.
add_test(NAME gpt_reference_selfcheck COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/gpt_reference.py selfcheck)
set_tests_properties(gpt_reference_selfcheck PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
# Fixture -> pxi gpt -> pxi generate / pxi eval, every logit against the reference.
if(TARGET pxi AND EXISTS ${PXOS_SOURCE_DIR}/app/pxi/cmd_gpt.cpp)
  add_test(NAME cli_gpt_reference
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/gpt_reference.py pxi-check $<TARGET_FILE:pxi>
                   ${CMAKE_BINARY_DIR}/cli_work/gpt_reference)
  set_tests_properties(cli_gpt_reference PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
# Byte parity: cpu-ref and gl leave the cpu's image after greedy and sampled generation (77, skipped,
# after the CPU part when no OpenGL 4.3 context can be had).
if(TARGET pxi AND EXISTS ${PXOS_SOURCE_DIR}/app/pxi/cmd_gpt.cpp)
  add_test(NAME cli_gpt_parity
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/gpt_reference.py parity $<TARGET_FILE:pxi>
                   ${CMAKE_BINARY_DIR}/cli_work/gpt_parity)
  set_tests_properties(cli_gpt_parity PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  if(PXOS_GL_TEST_ENV) # see tests/CMakeLists.txt
    set_tests_properties(cli_gpt_parity PROPERTIES ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
# pxi attention (engine gpt_layer_attention, what pxdbg's Attention window shows) against the
# reference's attention probabilities, on the tiny fixture.
if(TARGET pxi AND EXISTS ${PXOS_SOURCE_DIR}/app/pxi/cmd_gpt.cpp)
  add_test(NAME cli_gpt_attention
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/gpt_reference.py attention-check $<TARGET_FILE:pxi>
                   ${CMAKE_BINARY_DIR}/cli_work/gpt_attention)
  set_tests_properties(cli_gpt_attention PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 60)
endif()
# pxi lens (engine gpt_quant_lens, what pxdbg's Lens window shows) against the reference's
# activations, the uint8 image's codes and recomputed statistics, on the tiny fixture.
if(TARGET pxi AND EXISTS ${PXOS_SOURCE_DIR}/app/pxi/cmd_gpt.cpp)
  add_test(NAME cli_gpt_lens
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/gpt_reference.py lens-check $<TARGET_FILE:pxi>
                   ${CMAKE_BINARY_DIR}/cli_work/gpt_lens)
  set_tests_properties(cli_gpt_lens PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
