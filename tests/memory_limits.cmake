# pxi at the 16384 x 16384 limit under `ulimit -v` lower than it needs: a clear error, nothing
# written, no abort (tests/memory_limits.sh). Not under the sanitizers (ASan needs its address space).
if(TARGET pxi AND NOT PXOS_SANITIZE)
  add_test(NAME memory_limits COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/memory_limits.sh $<TARGET_FILE:pxi>
                                      ${CMAKE_CURRENT_BINARY_DIR}/memory_limits)
  set_tests_properties(memory_limits PROPERTIES TIMEOUT 300)
endif()
