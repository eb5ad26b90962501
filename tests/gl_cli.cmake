# CLI tests of the GL executor through pxi: `pxi compare` on every asset with both kernels,
# `pxi run --executor gl` giving the CPU's bytes, the GPU-timed trace, a trapping program.
# Reported as skipped (not passed) when no OpenGL 4.3 context can be had.
if(NOT TARGET pxi OR NOT TARGET pxengine_gl)
  return()
endif()
set(GLCLI_CHECK ${CMAKE_CURRENT_LIST_DIR}/cli/run_check.cmake)
set(GLCLI_WORK ${CMAKE_BINARY_DIR}/gl_cli_work)
file(MAKE_DIRECTORY ${GLCLI_WORK})

function(gl_cli_check name rc args)
  cmake_parse_arguments(P "" "OUT" "DEPENDS" ${ARGN})
  set(defs -DSEP=| "-DCMD=$<TARGET_FILE:pxi>|${args}" -DEXPECT_RC=${rc})
  if(DEFINED P_OUT)
    list(APPEND defs "-DEXPECT_OUT=${P_OUT}")
  endif()
  add_test(NAME gl_cli_${name} COMMAND ${CMAKE_COMMAND} ${defs} -P ${GLCLI_CHECK} WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
  set_tests_properties(gl_cli_${name} PROPERTIES SKIP_REGULAR_EXPRESSION "no headless OpenGL")
  if(PXOS_GL_TEST_ENV) # see tests/CMakeLists.txt
    set_tests_properties(gl_cli_${name} PROPERTIES ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
  if(P_DEPENDS)
    set_tests_properties(gl_cli_${name} PROPERTIES DEPENDS "${P_DEPENDS}")
  endif()
endfunction()

file(GLOB GLCLI_ASSETS RELATIVE ${PXOS_SOURCE_DIR} CONFIGURE_DEPENDS ${PXOS_SOURCE_DIR}/assets/*.pxi)
foreach(asset ${GLCLI_ASSETS})
  get_filename_component(stem ${asset} NAME_WE)
  foreach(kernel simple tiled)
    gl_cli_check(compare_${stem}_${kernel} 0 "compare|${asset}|--kernel|${kernel}"
                 OUT "step 1 pc [0-9]+ [A-Z0-9]+: identical.*parity after every one of [0-9]+ steps? \\(halted")
  endforeach()
  gl_cli_check(run_cpu_${stem} 0 "run|${asset}|-o|${GLCLI_WORK}/${stem}.cpu.pxi|--force")
  gl_cli_check(run_gl_${stem} 0 "run|${asset}|--executor|gl|-o|${GLCLI_WORK}/${stem}.gl.pxi|--force" OUT "halted.*, gl\\)")
  gl_cli_check(same_bytes_${stem} 0 "diff|${GLCLI_WORK}/${stem}.cpu.pxi|${GLCLI_WORK}/${stem}.gl.pxi"
               OUT "identical pixels" DEPENDS "gl_cli_run_cpu_${stem};gl_cli_run_gl_${stem}")
  pxos_label_large_asset(${asset} gl_cli_compare_${stem}_simple gl_cli_compare_${stem}_tiled
                         gl_cli_run_cpu_${stem} gl_cli_run_gl_${stem} gl_cli_same_bytes_${stem})
endforeach()
gl_cli_check(compare_json 0 "compare|assets/pixellm_v003.pxi|--json"
             OUT "\"parity\": true.*\"renderer\": .*\"steps_compared\": 6")
gl_cli_check(trace_gpu_ms 0 "run|assets/pixellm_v003.pxi|--executor|gl|--kernel|simple|--trace"
             OUT "step=1 pc=0 MATMUL [0-9,]+ status=ready writes=[0-9,;]+ fnv=[0-9a-f]+ gpu_ms=[0-9]+\\.[0-9]+")
gl_cli_check(bad_kernel 2 "run|assets/dot.pxi|--executor|gl|--kernel|fast")
# A program that traps: both executors trap identically, so compare reports parity (exit 0) and
# run --executor gl exits 1 with the CPU's trap line.
file(WRITE ${GLCLI_WORK}/trap.pxasm "matrix a 2x3 [1 2 3 4 5 6]\nMATMUL a, a, a\nHALT\n")
gl_cli_check(asm_trap 0 "asm|${GLCLI_WORK}/trap.pxasm|-o|${GLCLI_WORK}/trap.pxi|--force|--allow-trap")
gl_cli_check(compare_trap 0 "compare|${GLCLI_WORK}/trap.pxi" OUT "TRAP SHAPE_MISMATCH: identical.*parity.*\\(trapped"
             DEPENDS gl_cli_asm_trap)
gl_cli_check(run_gl_trap 1 "run|${GLCLI_WORK}/trap.pxi|--executor|gl" OUT "TRAP SHAPE_MISMATCH at pixel \\(0,1\\)"
             DEPENDS gl_cli_asm_trap)
# The float32 Pixel-LLM (FMATMUL with bias and ReLU, issue 13): CPU and GL identical after every
# step with both kernels, and `pxi run --executor gl` writes the CPU's bytes.
gl_cli_check(pixellm_f32_build 0 "pixellm|--dtype|f32|-o|${GLCLI_WORK}/pixellm_f32.pxi|--force" OUT "float32 pixels")
foreach(kernel simple tiled)
  gl_cli_check(compare_pixellm_f32_${kernel} 0 "compare|${GLCLI_WORK}/pixellm_f32.pxi|--kernel|${kernel}"
               OUT "step 1 pc 0 FMATMUL: identical.*step 2 pc 3 FMATMUL: identical.*parity after every one of 3 steps \\(halted"
               DEPENDS gl_cli_pixellm_f32_build)
endforeach()
gl_cli_check(run_cpu_pixellm_f32 0 "run|${GLCLI_WORK}/pixellm_f32.pxi|-o|${GLCLI_WORK}/pixellm_f32.cpu.pxi|--force"
             DEPENDS gl_cli_pixellm_f32_build)
gl_cli_check(run_gl_pixellm_f32 0 "run|${GLCLI_WORK}/pixellm_f32.pxi|--executor|gl|-o|${GLCLI_WORK}/pixellm_f32.gl.pxi|--force"
             DEPENDS gl_cli_pixellm_f32_build)
gl_cli_check(same_bytes_pixellm_f32 0 "diff|${GLCLI_WORK}/pixellm_f32.cpu.pxi|${GLCLI_WORK}/pixellm_f32.gl.pxi"
             OUT "identical pixels" DEPENDS "gl_cli_run_cpu_pixellm_f32;gl_cli_run_gl_pixellm_f32")
