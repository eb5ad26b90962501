# Replays every fuzz seed and kept crash input through the fuzz targets' code in ordinary test
# builds (no libFuzzer needed), so the sanitizer suite covers them too.
foreach(target fuzz_png_run fuzz_asm fuzz_vm fuzz_tokenizer fuzz_float fuzz_gpt)
  add_executable(${target}_replay ${PXOS_SOURCE_DIR}/tests/fuzz/${target}.cpp ${PXOS_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
  target_link_libraries(${target}_replay PRIVATE pxengine)
endforeach()
add_test(NAME fuzz_replay_png COMMAND fuzz_png_run_replay assets tests/bad_inputs tests/fuzz/regressions/png
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
add_test(NAME fuzz_replay_asm COMMAND fuzz_asm_replay assets tests/fuzz/regressions/asm
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
add_test(NAME fuzz_replay_vm COMMAND fuzz_vm_replay tests/fuzz/seeds/vm tests/fuzz/regressions/vm
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
add_test(NAME fuzz_replay_tokenizer COMMAND fuzz_tokenizer_replay tests/fuzz/seeds/tokenizer tests/fuzz/regressions/tokenizer
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
add_test(NAME fuzz_replay_float COMMAND fuzz_float_replay tests/fuzz/seeds/float tests/fuzz/regressions/float
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
add_test(NAME fuzz_replay_gpt COMMAND fuzz_gpt_replay tests/fuzz/seeds/gpt tests/fuzz/regressions/gpt
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
