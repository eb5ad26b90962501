# kernels_vectorized: the optimized CPU executor's hot loops are vectorized in this build
# (tests/kernels_vectorized.sh reads the library's machine code). Skipped in Debug builds (the
# sanitizer build), which are not optimized.
if(TARGET pxengine)
  add_test(NAME kernels_vectorized
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/kernels_vectorized.sh $<TARGET_FILE:pxengine>
                   $<IF:$<CONFIG:Debug>,debug,optimized>)
  set_tests_properties(kernels_vectorized PROPERTIES SKIP_RETURN_CODE 77)
endif()
