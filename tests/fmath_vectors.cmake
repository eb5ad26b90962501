# The float vectors (tests/vectors/fmath/) must be exactly what the NumPy model writes now, so a
# change to the model or to the spec's constants cannot leave stale expectations behind. Debian's
# /usr/bin/python3 has NumPy; without it the test reports itself skipped (77).
find_program(PXOS_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(PXOS_SYSTEM_PYTHON3)
  add_test(NAME fmath_vectors_current
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/vectors/make_fmath_vectors.py --check)
  set_tests_properties(fmath_vectors_current PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
# Likewise the float opcodes' program vectors (tests/vectors/float_*.json, make_float_vectors.py).
if(PXOS_SYSTEM_PYTHON3)
  add_test(NAME float_vectors_current
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/vectors/make_float_vectors.py --check)
  set_tests_properties(float_vectors_current PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

# And the text-generation opcodes' program vectors (tests/vectors/gen_*.json, make_gen_vectors.py).
if(PXOS_SYSTEM_PYTHON3)
  add_test(NAME gen_vectors_current
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/vectors/make_gen_vectors.py --check)
  set_tests_properties(gen_vectors_current PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
# And the integer transformer opcodes' program vectors (tests/vectors/qint_*.json, make_qint_vectors.py).
if(PXOS_SYSTEM_PYTHON3)
  add_test(NAME qint_vectors_current
           COMMAND ${PXOS_SYSTEM_PYTHON3} ${PXOS_SOURCE_DIR}/tests/vectors/make_qint_vectors.py --check)
  set_tests_properties(qint_vectors_current PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
