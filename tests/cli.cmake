# CLI tests: run the built `pxi` on the assets and on the bad-input corpus, checking exit codes
# (0 ok, 1 trap/invalid/different, 2 usage/unreadable) and output. Included by tests/CMakeLists.txt.
if(NOT TARGET pxi)
  return()
endif()
set(PXI_CHECK ${CMAKE_CURRENT_LIST_DIR}/cli/run_check.cmake)
set(PXI_WORK ${CMAKE_BINARY_DIR}/cli_work)
file(MAKE_DIRECTORY ${PXI_WORK})

# pxi_check(NAME RC "args|separated|by|bars" [OUT regex] [NOT_OUT regex] [ERR_LINES n] [ABSENT path]
#           [UNCHANGED path] [CHANGED path])
function(pxi_check name rc args)
  cmake_parse_arguments(P "" "OUT;NOT_OUT;ERR_LINES;ABSENT;UNCHANGED;CHANGED" "" ${ARGN})
  set(defs -DSEP=| "-DCMD=$<TARGET_FILE:pxi>|${args}" -DEXPECT_RC=${rc})
  if(DEFINED P_OUT)
    list(APPEND defs "-DEXPECT_OUT=${P_OUT}")
  endif()
  if(DEFINED P_ERR_LINES)
    list(APPEND defs -DEXPECT_ERR_LINES=${P_ERR_LINES})
  endif()
  if(DEFINED P_ABSENT)
    list(APPEND defs -DABSENT=${P_ABSENT})
  endif()
  foreach(opt NOT_OUT UNCHANGED CHANGED)
    if(DEFINED P_${opt})
      list(APPEND defs "-D${opt}=${P_${opt}}")
    endif()
  endforeach()
  add_test(NAME cli_${name} COMMAND ${CMAKE_COMMAND} ${defs} -P ${PXI_CHECK} WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
endfunction()

pxi_check(version 0 "--version" OUT "^pxi [0-9]+\\.[0-9]+\\.[0-9]+ \\(Pixel Protocol [0-9.]+\\)")
pxi_check(help 0 "--help" OUT "Subcommands:.*run.*validate.*disasm.*asm.*info.*diff")
foreach(cmd run validate disasm asm info diff)
  pxi_check(help_${cmd} 0 "${cmd}|--help" OUT "Usage:")
endforeach()
pxi_check(no_subcommand 2 "" ERR_LINES 1 OUT "^pxi: ")
pxi_check(unknown_option 2 "run|assets/dot.pxi|--frobnicate" ERR_LINES 1 OUT "^pxi: .*frobnicate")
pxi_check(missing_file 2 "run|no-such-file.pxi|-o|${PXI_WORK}/never.pxi|--force" ERR_LINES 1
          OUT "^pxi: no-such-file.pxi" ABSENT ${PXI_WORK}/never.pxi)
pxi_check(not_png 2 "info|assets/dot.pxasm" ERR_LINES 1 OUT "^pxi: assets/dot.pxasm: not a PNG")
pxi_check(bad_executor 2 "run|assets/dot.pxi|--executor|nope" ERR_LINES 1)
pxi_check(run_in_place_refused 2 "run|assets/dot.pxi|-o|assets/dot.pxi" ERR_LINES 1 OUT "--in-place")

file(GLOB PXI_ASSETS RELATIVE ${PXOS_SOURCE_DIR} CONFIGURE_DEPENDS ${PXOS_SOURCE_DIR}/assets/*.pxi)
foreach(asset ${PXI_ASSETS})
  get_filename_component(stem ${asset} NAME_WE)
  pxi_check(run_${stem} 0 "run|${asset}|-o|${PXI_WORK}/${stem}.out.pxi|--force" OUT "halted at pc [0-9]+ after [0-9]+ steps? ")
  pxi_check(run_json_${stem} 0 "run|${asset}|--json|--trace" OUT "\"status\": \"halted\".*\"trace\": \\[")
  pxi_check(validate_${stem} 0 "validate|${asset}" OUT "valid")
  pxi_check(info_${stem} 0 "info|${asset}" OUT "instructions:.*HALT.*regions \\(from pxos.symbols\\)")
  pxi_check(info_json_${stem} 0 "info|${asset}|--json" OUT "\"instructions\"")
  pxi_check(disasm_${stem} 0 "disasm|${asset}|-o|${PXI_WORK}/${stem}.pxasm|--force")
  pxi_check(diff_same_${stem} 0 "diff|${asset}|${asset}" OUT "identical pixels")
  pxos_label_large_asset(${asset} cli_run_${stem} cli_run_json_${stem} cli_validate_${stem} cli_info_${stem}
                         cli_info_json_${stem} cli_disasm_${stem} cli_diff_same_${stem})
endforeach()
# The round trip through files: disasm -> asm -> diff.
pxi_check(roundtrip_disasm 0 "disasm|assets/pixellm_v003.pxi|-o|${PXI_WORK}/rt.pxasm|--force")
pxi_check(roundtrip_asm 0 "asm|${PXI_WORK}/rt.pxasm|-o|${PXI_WORK}/rt.pxi|--force")
pxi_check(roundtrip_diff 0 "diff|assets/pixellm_v003.pxi|${PXI_WORK}/rt.pxi" OUT "identical pixels")
set_tests_properties(cli_roundtrip_asm PROPERTIES DEPENDS cli_roundtrip_disasm)
set_tests_properties(cli_roundtrip_diff PROPERTIES DEPENDS cli_roundtrip_asm)
# A run changes pixels: diff says where, in which region, with status 1.
pxi_check(run_dot_for_diff 0 "run|assets/dot.pxi|-o|${PXI_WORK}/dot_ran.pxi|--force")
pxi_check(diff_after_run 1 "diff|assets/dot.pxi|${PXI_WORK}/dot_ran.pxi" OUT "1 pixel differ.*\\(0,3\\) \\(0, 0, 0, 0\\) -> \\(248, 7, 0, 0\\)  out")
set_tests_properties(cli_diff_after_run PROPERTIES DEPENDS cli_run_dot_for_diff)
pxi_check(diff_sizes 1 "diff|assets/dot.pxi|assets/pixellm_v003.pxi" OUT "different sizes: 16x4 vs 1024x154")
# Assembler errors: one line naming file:line and the token, status 1; the output is not written.
file(WRITE ${PXI_WORK}/bad.pxasm "matrix a 1x2 [1 2]\nFROB a\n")
pxi_check(asm_error 1 "asm|${PXI_WORK}/bad.pxasm|-o|${PXI_WORK}/bad.pxi|--force" ERR_LINES 1
          OUT "^pxi: bad.pxasm:2: unknown mnemonic at 'FROB'" ABSENT ${PXI_WORK}/bad.pxi)
# A trapping program: status 1, a TRAP line, no output unless --save-on-trap.
file(WRITE ${PXI_WORK}/trap.pxasm "matrix a 1x2 [1 2]\nMATMUL a, a, a\nHALT\n")
pxi_check(asm_trap 0 "asm|${PXI_WORK}/trap.pxasm|-o|${PXI_WORK}/trap.pxi|--force|--allow-trap")
pxi_check(run_trap 1 "run|${PXI_WORK}/trap.pxi|-o|${PXI_WORK}/trap_out.pxi|--force" OUT "TRAP SHAPE_MISMATCH at pixel \\(0,1\\)"
          ABSENT ${PXI_WORK}/trap_out.pxi)
pxi_check(run_trap_saved 1 "run|${PXI_WORK}/trap.pxi|-o|${PXI_WORK}/trap_saved.pxi|--save-on-trap|--force" OUT "wrote ")
pxi_check(validate_trap 1 "validate|${PXI_WORK}/trap.pxi" OUT "error\\[[a-z-]+\\] at pixel \\([0-9]+,[0-9]+\\): ")
set_tests_properties(cli_run_trap cli_run_trap_saved cli_validate_trap PROPERTIES DEPENDS cli_asm_trap)

# The bad-input corpus (tests/bad_inputs/expected.json gives the exit codes).
if(EXISTS ${PXOS_SOURCE_DIR}/tests/bad_inputs/expected.json)
  add_test(NAME cli_bad_inputs
           COMMAND ${CMAKE_COMMAND} -DPXI=$<TARGET_FILE:pxi> -DDIR=${PXOS_SOURCE_DIR}/tests/bad_inputs
                   -DWORK=${PXI_WORK}/bad_inputs -P ${CMAKE_CURRENT_LIST_DIR}/cli/bad_inputs_check.cmake)
endif()
# --max-steps: reaching the limit is a STEP_LIMIT trap (status 1).
pxi_check(run_step_limit 1 "run|assets/add_relu.pxi|--max-steps|1" OUT "TRAP STEP_LIMIT at pixel \\(1,0\\)")
# --in-place overwrites the input (on a copy made by the asm step), atomically.
pxi_check(asm_inplace_copy 0 "asm|assets/dot.pxasm|-o|${PXI_WORK}/inplace.pxi|--force")
pxi_check(run_inplace 0 "run|${PXI_WORK}/inplace.pxi|-o|${PXI_WORK}/inplace.pxi|--in-place" OUT "wrote ")
pxi_check(diff_inplace 1 "diff|assets/dot.pxi|${PXI_WORK}/inplace.pxi|--json" OUT "\"differing_pixels\": 1")
set_tests_properties(cli_run_inplace PROPERTIES DEPENDS cli_asm_inplace_copy)
set_tests_properties(cli_diff_inplace PROPERTIES DEPENDS cli_run_inplace)
pxi_check(validate_json 0 "validate|assets/dot.pxi|--json" OUT "\"ok\": true")
# The optimized CPU interpreter (default) and the reference give the same image.
pxi_check(run_cpu_ref 0 "run|assets/pixellm_v003.pxi|--executor|cpu-ref|-o|${PXI_WORK}/v003_ref.pxi|--force")
pxi_check(run_cpu_fast 0 "run|assets/pixellm_v003.pxi|--executor|cpu|-o|${PXI_WORK}/v003_fast.pxi|--force")
pxi_check(diff_cpu_ref_fast 0 "diff|${PXI_WORK}/v003_ref.pxi|${PXI_WORK}/v003_fast.pxi" OUT "identical pixels")
set_tests_properties(cli_diff_cpu_ref_fast PROPERTIES DEPENDS "cli_run_cpu_ref;cli_run_cpu_fast")
# --profile: per-opcode counts of the v0.0.3 program (MATMUL 1x128 @ 128x128 and @ 128x1024:
# 16384 + 131072 multiply-adds; ADD of 128 and 1024 elements); the counts are profile_test's.
pxi_check(run_profile 0 "run|assets/pixellm_v003.pxi|--profile" OUT "MATMUL +2 +[0-9.]+ +[0-9.]+% +147456 ")
pxi_check(run_profile_cpu_ref 0 "run|assets/pixellm_v003.pxi|--profile|--executor|cpu-ref|--json"
          OUT "\"macs\": 147456")
pxi_check(run_profile_trace 2 "run|assets/pixellm_v003.pxi|--profile|--trace")

# ---- issue 11: CLI findings (each of these failed before its fix) ----
# An unknown command is named; a negative step limit is refused.
pxi_check(unknown_command 2 "frob" ERR_LINES 1 OUT "^pxi: unknown command 'frob'; the commands are run, validate")
pxi_check(max_steps_negative 2 "run|assets/dot.pxi|--max-steps|-1" ERR_LINES 1 OUT "^pxi: --max-steps: must be 0 or more, not -1")
# validate: rows a trapping instruction names are not "unreferenced"; QRELU (in/out operand) and
# an element-wise ADD whose output is its input are in place by definition, no overlap warning.
pxi_check(validate_trap_references 1 "validate|${PXI_WORK}/trap.pxi" OUT "error\\[shape-mismatch\\]"
          NOT_OUT "unreferenced-data")
set_tests_properties(cli_validate_trap_references PROPERTIES DEPENDS cli_asm_trap)
file(WRITE ${PXI_WORK}/qrelu.pxasm "matrix A 1x3 [1 2 3]\nQRELU A, [2, 0, 0, 0]\nHALT\n")
pxi_check(asm_qrelu 0 "asm|${PXI_WORK}/qrelu.pxasm|-o|${PXI_WORK}/qrelu.pxi|--force")
pxi_check(validate_qrelu_in_place 0 "validate|${PXI_WORK}/qrelu.pxi" OUT "valid" NOT_OUT "output-overlaps-input")
set_tests_properties(cli_validate_qrelu_in_place PROPERTIES DEPENDS cli_asm_qrelu)
pxi_check(validate_add_in_place 0 "validate|assets/pixellm_v003.pxi" OUT "valid" NOT_OUT "output-overlaps-input")
# ... while a MATMUL writing over its own input is still worth the warning.
file(WRITE ${PXI_WORK}/mm_in_place.pxasm "matrix A 2x2 [1 2 3 4]\nMATMUL A, A, A\nHALT\n")
pxi_check(asm_mm_in_place 0 "asm|${PXI_WORK}/mm_in_place.pxasm|-o|${PXI_WORK}/mm_in_place.pxi|--force")
pxi_check(validate_matmul_in_place 0 "validate|${PXI_WORK}/mm_in_place.pxi" OUT "warning\\[output-overlaps-input\\]")
set_tests_properties(cli_validate_matmul_in_place PROPERTIES DEPENDS cli_asm_mm_in_place)
# info: parameter pixels decoded by the engine; an inferred region that cannot fit is flagged.
pxi_check(info_params 0 "info|${PXI_WORK}/qrelu.pxi" OUT "QRELU A, \\[2, 0, 0, 0\\]  ; zero_point=2")
set_tests_properties(cli_info_params PROPERTIES DEPENDS cli_asm_qrelu)
# tests/cli/inferred_overflow.pxi: 16x4, no symbols, RELU 1 with header 65535x65535 at row 1.
pxi_check(info_region_not_fitting 0 "info|tests/cli/inferred_overflow.pxi"
          OUT "inferred from row 0.*m1  row 1  65535x65535 .*NOT IN IMAGE: does not fit")
pxi_check(info_json_region_not_fitting 0 "info|tests/cli/inferred_overflow.pxi|--json" OUT "\"fits\": false")
# asm: parameter pixel counts named; an unclosed '[' reported at its own line.
file(WRITE ${PXI_WORK}/param3.pxasm "matrix A 1x3 [1 2 3]\nQRELU A, [1,2,3]\nHALT\n")
pxi_check(asm_param_values 1 "asm|${PXI_WORK}/param3.pxasm|-o|${PXI_WORK}/param3.pxi" ERR_LINES 1
          OUT "^pxi: param3.pxasm:2: QRELU parameter pixel 1 of 1 has 3 values; a parameter pixel is 4 channels"
          ABSENT ${PXI_WORK}/param3.pxi)
file(WRITE ${PXI_WORK}/param_extra.pxasm "matrix A 1x3 [1 2 3]\nQRELU A, [1,0,0,0], [2,0,0,0]\nHALT\n")
pxi_check(asm_param_extra 1 "asm|${PXI_WORK}/param_extra.pxasm|-o|${PXI_WORK}/param_extra.pxi" ERR_LINES 1
          OUT "^pxi: param_extra.pxasm:2: QRELU takes 1 parameter pixel, found 2" ABSENT ${PXI_WORK}/param_extra.pxi)
file(WRITE ${PXI_WORK}/param_few.pxasm "matrix A 1x3 [1 2 3]\nQMATMUL A, A, A, [1,0,0,0]\nHALT\n")
pxi_check(asm_param_few 1 "asm|${PXI_WORK}/param_few.pxasm|-o|${PXI_WORK}/param_few.pxi" ERR_LINES 1
          OUT "^pxi: param_few.pxasm:2: QMATMUL takes 3 parameter pixels, found 1" ABSENT ${PXI_WORK}/param_few.pxi)
file(WRITE ${PXI_WORK}/unclosed.pxasm "; a list left open\nmatrix A 1x3 [1 2 3\nQRELU A, [1,0,0,0]\nHALT\n")
pxi_check(asm_unclosed_list 1 "asm|${PXI_WORK}/unclosed.pxasm|-o|${PXI_WORK}/unclosed.pxi" ERR_LINES 1
          OUT "^pxi: unclosed.pxasm:2: '\\[' of matrix 'A' is not closed with '\\]' \\(line 3 starts 'QRELU'\\)"
          ABSENT ${PXI_WORK}/unclosed.pxi)
# asm runs the static checks: a program that can only trap is refused with validate's own line.
pxi_check(asm_refuses_trap 1 "asm|${PXI_WORK}/trap.pxasm|-o|${PXI_WORK}/trap_refused.pxi"
          OUT "^pxi: trap.pxasm: error\\[shape-mismatch\\] at pixel \\(0,1\\): MATMUL at pixel \\(0,0\\)"
          ABSENT ${PXI_WORK}/trap_refused.pxi)
file(WRITE ${PXI_WORK}/shift0.pxasm "matrix A 1x1 [1]\nQMATMUL A, A, A, [0,0,0,0], [0,0,0,64], [0,0,0,255]\nHALT\n")
pxi_check(asm_refuses_shift0 1 "asm|${PXI_WORK}/shift0.pxasm|-o|${PXI_WORK}/shift0.pxi"
          OUT "error\\[bad-param\\] at pixel \\(0,0\\): QMATMUL at pixel \\(0,0\\): .*shift" ABSENT ${PXI_WORK}/shift0.pxi)

# ---- issue 18: pxi's write paths (docs/write-paths.md): never an input, never an existing file
# without --force, atomic. One group of tests per row of the table.
file(WRITE ${PXI_WORK}/keep.pxi "not a program: must survive\n")
file(WRITE ${PXI_WORK}/keep.pxasm "; must survive\n")
file(WRITE ${PXI_WORK}/keep.npz "must survive\n")
file(WRITE ${PXI_WORK}/keep.png "must survive\n")
file(MAKE_DIRECTORY ${PXI_WORK}/a_directory)
# run -o
pxi_check(wp_run_exists 2 "run|assets/dot.pxi|-o|${PXI_WORK}/keep.pxi" ERR_LINES 1
          OUT "keep.pxi: already exists; pass --force" UNCHANGED ${PXI_WORK}/keep.pxi)
pxi_check(wp_run_force 0 "run|assets/dot.pxi|-o|${PXI_WORK}/replace_run.pxi|--force" OUT "wrote " CHANGED ${PXI_WORK}/replace_run.pxi)
pxi_check(wp_run_input 2 "run|assets/dot.pxi|-o|assets/dot.pxi|--force" ERR_LINES 1 OUT "--in-place"
          UNCHANGED ${PXOS_SOURCE_DIR}/assets/dot.pxi)
pxi_check(wp_run_npy_input 2 "run|assets/pixellm.pxi|--input|tests/data/pixellm_input_f32.npy|-o|tests/data/pixellm_input_f32.npy|--force"
          ERR_LINES 1 OUT "output is the input file" UNCHANGED ${PXOS_SOURCE_DIR}/tests/data/pixellm_input_f32.npy)
pxi_check(wp_run_no_dir 2 "run|assets/dot.pxi|-o|${PXI_WORK}/no-such-dir/out.pxi" ERR_LINES 1 ABSENT ${PXI_WORK}/no-such-dir)
pxi_check(wp_run_directory 2 "run|assets/dot.pxi|-o|${PXI_WORK}/a_directory|--force" ERR_LINES 1 OUT "is a directory")
# asm -o
pxi_check(wp_asm_exists 2 "asm|assets/dot.pxasm|-o|${PXI_WORK}/keep.pxi" ERR_LINES 1 OUT "already exists"
          UNCHANGED ${PXI_WORK}/keep.pxi)
pxi_check(wp_asm_force 0 "asm|assets/dot.pxasm|-o|${PXI_WORK}/replace_asm.pxi|--force" CHANGED ${PXI_WORK}/replace_asm.pxi)
pxi_check(wp_asm_input 2 "asm|${PXI_WORK}/keep.pxasm|-o|${PXI_WORK}/keep.pxasm|--force" ERR_LINES 1
          OUT "output is the input file" UNCHANGED ${PXI_WORK}/keep.pxasm)
pxi_check(wp_asm_no_dir 2 "asm|assets/dot.pxasm|-o|${PXI_WORK}/no-such-dir/out.pxi" ERR_LINES 1 ABSENT ${PXI_WORK}/no-such-dir)
# disasm -o
pxi_check(wp_disasm_exists 2 "disasm|assets/dot.pxi|-o|${PXI_WORK}/keep.pxasm" ERR_LINES 1 OUT "already exists"
          UNCHANGED ${PXI_WORK}/keep.pxasm)
pxi_check(wp_disasm_force 0 "disasm|assets/dot.pxi|-o|${PXI_WORK}/replace_disasm.pxasm|--force"
          CHANGED ${PXI_WORK}/replace_disasm.pxasm)
pxi_check(wp_disasm_input 2 "disasm|${PXI_WORK}/keep.pxi|-o|${PXI_WORK}/keep.pxi|--force" ERR_LINES 1
          OUT "output is the input file" UNCHANGED ${PXI_WORK}/keep.pxi)
pxi_check(wp_disasm_no_dir 2 "disasm|assets/dot.pxi|-o|${PXI_WORK}/no-such-dir/out.pxasm" ERR_LINES 1 ABSENT ${PXI_WORK}/no-such-dir)
# pixellm -o and --save-weights
pxi_check(wp_pixellm_exists 2 "pixellm|-o|${PXI_WORK}/keep.pxi" ERR_LINES 1 OUT "already exists" UNCHANGED ${PXI_WORK}/keep.pxi)
pxi_check(wp_pixellm_force 0 "pixellm|-o|${PXI_WORK}/replace_pixellm.pxi|--force" CHANGED ${PXI_WORK}/replace_pixellm.pxi)
pxi_check(wp_pixellm_weights_exist 2 "pixellm|-o|${PXI_WORK}/never_pl.pxi|--save-weights|${PXI_WORK}/keep.npz" ERR_LINES 1
          OUT "keep.npz: already exists" UNCHANGED ${PXI_WORK}/keep.npz ABSENT ${PXI_WORK}/never_pl.pxi)
pxi_check(wp_pixellm_weights_input 2 "pixellm|-o|${PXI_WORK}/never_pl.pxi|--weights|tests/data/npz_stored.npz|--save-weights|tests/data/npz_stored.npz|--force"
          ERR_LINES 1 OUT "output is the input file" UNCHANGED ${PXOS_SOURCE_DIR}/tests/data/npz_stored.npz ABSENT ${PXI_WORK}/never_pl.pxi)
# bench --plot: refused before any measuring
pxi_check(wp_bench_plot_exists 2 "bench|--quick|--no-gl|--plot|${PXI_WORK}/keep.png" ERR_LINES 1 OUT "already exists"
          UNCHANGED ${PXI_WORK}/keep.png)
set_tests_properties(cli_wp_run_exists cli_wp_asm_exists cli_wp_disasm_exists cli_wp_pixellm_exists cli_wp_disasm_input
                     PROPERTIES RESOURCE_LOCK pxi_keep_pxi)
# compare on a trapping program: the trap is not a step, nothing is dispatched, the summary says
# both trapped after 0 steps (exit 0: the executors agree; `run` is what exits 1 on a trap).
if(TARGET pxengine_gl)
  pxi_check(compare_trap_steps 0 "compare|${PXI_WORK}/trap.pxi"
            OUT "trap at pc 0 TRAP SHAPE_MISMATCH: identical \\(nothing dispatched\\).*parity; both executors trap at pc 0 after 0 steps"
            NOT_OUT "gpu -1|every one of")
  set_tests_properties(cli_compare_trap_steps PROPERTIES DEPENDS cli_asm_trap SKIP_REGULAR_EXPRESSION "no headless OpenGL")
  if(PXOS_GL_TEST_ENV)
    set_tests_properties(cli_compare_trap_steps PROPERTIES ENVIRONMENT "${PXOS_GL_TEST_ENV}")
  endif()
endif()
