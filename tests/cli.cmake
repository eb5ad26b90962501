# CLI tests: run the built `pxi` on the assets and on the bad-input corpus, checking exit codes
# (0 ok, 1 trap/invalid/different, 2 usage/unreadable) and output. Included by tests/CMakeLists.txt.
if(NOT TARGET pxi)
  return()
endif()
set(PXI_CHECK ${CMAKE_CURRENT_LIST_DIR}/cli/run_check.cmake)
set(PXI_WORK ${CMAKE_BINARY_DIR}/cli_work)
file(MAKE_DIRECTORY ${PXI_WORK})

# pxi_check(NAME RC "args|separated|by|bars" [OUT regex] [ERR_LINES n] [ABSENT path])
function(pxi_check name rc args)
  cmake_parse_arguments(P "" "OUT;ERR_LINES;ABSENT" "" ${ARGN})
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
  add_test(NAME cli_${name} COMMAND ${CMAKE_COMMAND} ${defs} -P ${PXI_CHECK} WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
endfunction()

pxi_check(version 0 "--version" OUT "^pxi [0-9]+\\.[0-9]+\\.[0-9]+ \\(Pixel Protocol [0-9.]+\\)")
pxi_check(help 0 "--help" OUT "Subcommands:.*run.*validate.*disasm.*asm.*info.*diff")
foreach(cmd run validate disasm asm info diff)
  pxi_check(help_${cmd} 0 "${cmd}|--help" OUT "Usage:")
endforeach()
pxi_check(no_subcommand 2 "" ERR_LINES 1 OUT "^pxi: ")
pxi_check(unknown_option 2 "run|assets/dot.pxi|--frobnicate" ERR_LINES 1 OUT "^pxi: .*frobnicate")
pxi_check(missing_file 2 "run|no-such-file.pxi|-o|${PXI_WORK}/never.pxi" ERR_LINES 1
          OUT "^pxi: no-such-file.pxi" ABSENT ${PXI_WORK}/never.pxi)
pxi_check(not_png 2 "info|assets/dot.pxasm" ERR_LINES 1 OUT "^pxi: assets/dot.pxasm: not a PNG")
pxi_check(bad_executor 2 "run|assets/dot.pxi|--executor|nope" ERR_LINES 1)
pxi_check(run_in_place_refused 2 "run|assets/dot.pxi|-o|assets/dot.pxi" ERR_LINES 1 OUT "--in-place")

file(GLOB PXI_ASSETS RELATIVE ${PXOS_SOURCE_DIR} CONFIGURE_DEPENDS ${PXOS_SOURCE_DIR}/assets/*.pxi)
foreach(asset ${PXI_ASSETS})
  get_filename_component(stem ${asset} NAME_WE)
  pxi_check(run_${stem} 0 "run|${asset}|-o|${PXI_WORK}/${stem}.out.pxi" OUT "halted at pc [0-9]+ after [0-9]+ steps? ")
  pxi_check(run_json_${stem} 0 "run|${asset}|--json|--trace" OUT "\"status\": \"halted\".*\"trace\": \\[")
  pxi_check(validate_${stem} 0 "validate|${asset}" OUT "valid")
  pxi_check(info_${stem} 0 "info|${asset}" OUT "instructions:.*HALT.*regions \\(from pxos.symbols\\)")
  pxi_check(info_json_${stem} 0 "info|${asset}|--json" OUT "\"instructions\"")
  pxi_check(disasm_${stem} 0 "disasm|${asset}|-o|${PXI_WORK}/${stem}.pxasm")
  pxi_check(diff_same_${stem} 0 "diff|${asset}|${asset}" OUT "identical pixels")
endforeach()
# The round trip through files: disasm -> asm -> diff.
pxi_check(roundtrip_disasm 0 "disasm|assets/pixellm_v003.pxi|-o|${PXI_WORK}/rt.pxasm")
pxi_check(roundtrip_asm 0 "asm|${PXI_WORK}/rt.pxasm|-o|${PXI_WORK}/rt.pxi")
pxi_check(roundtrip_diff 0 "diff|assets/pixellm_v003.pxi|${PXI_WORK}/rt.pxi" OUT "identical pixels")
set_tests_properties(cli_roundtrip_asm PROPERTIES DEPENDS cli_roundtrip_disasm)
set_tests_properties(cli_roundtrip_diff PROPERTIES DEPENDS cli_roundtrip_asm)
# A run changes pixels: diff says where, in which region, with status 1.
pxi_check(run_dot_for_diff 0 "run|assets/dot.pxi|-o|${PXI_WORK}/dot_ran.pxi")
pxi_check(diff_after_run 1 "diff|assets/dot.pxi|${PXI_WORK}/dot_ran.pxi" OUT "1 pixel differ.*\\(0,3\\) \\(0, 0, 0, 0\\) -> \\(248, 7, 0, 0\\)  out")
set_tests_properties(cli_diff_after_run PROPERTIES DEPENDS cli_run_dot_for_diff)
pxi_check(diff_sizes 1 "diff|assets/dot.pxi|assets/pixellm_v003.pxi" OUT "different sizes: 16x4 vs 1024x154")
# Assembler errors: one line naming file:line and the token, status 1; the output is not written.
file(WRITE ${PXI_WORK}/bad.pxasm "matrix a 1x2 [1 2]\nFROB a\n")
pxi_check(asm_error 1 "asm|${PXI_WORK}/bad.pxasm|-o|${PXI_WORK}/bad.pxi" ERR_LINES 1
          OUT "^pxi: bad.pxasm:2: unknown mnemonic at 'FROB'" ABSENT ${PXI_WORK}/bad.pxi)
# A trapping program: status 1, a TRAP line, no output unless --save-on-trap.
file(WRITE ${PXI_WORK}/trap.pxasm "matrix a 1x2 [1 2]\nMATMUL a, a, a\nHALT\n")
pxi_check(asm_trap 0 "asm|${PXI_WORK}/trap.pxasm|-o|${PXI_WORK}/trap.pxi")
pxi_check(run_trap 1 "run|${PXI_WORK}/trap.pxi|-o|${PXI_WORK}/trap_out.pxi" OUT "TRAP SHAPE_MISMATCH at pixel \\(0,1\\)"
          ABSENT ${PXI_WORK}/trap_out.pxi)
pxi_check(run_trap_saved 1 "run|${PXI_WORK}/trap.pxi|-o|${PXI_WORK}/trap_saved.pxi|--save-on-trap" OUT "wrote ")
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
pxi_check(asm_inplace_copy 0 "asm|assets/dot.pxasm|-o|${PXI_WORK}/inplace.pxi")
pxi_check(run_inplace 0 "run|${PXI_WORK}/inplace.pxi|-o|${PXI_WORK}/inplace.pxi|--in-place" OUT "wrote ")
pxi_check(diff_inplace 1 "diff|assets/dot.pxi|${PXI_WORK}/inplace.pxi|--json" OUT "\"differing_pixels\": 1")
set_tests_properties(cli_run_inplace PROPERTIES DEPENDS cli_asm_inplace_copy)
set_tests_properties(cli_diff_inplace PROPERTIES DEPENDS cli_run_inplace)
pxi_check(validate_json 0 "validate|assets/dot.pxi|--json" OUT "\"ok\": true")
# The optimized CPU interpreter (default) and the reference give the same image.
pxi_check(run_cpu_ref 0 "run|assets/pixellm_v003.pxi|--executor|cpu-ref|-o|${PXI_WORK}/v003_ref.pxi")
pxi_check(run_cpu_fast 0 "run|assets/pixellm_v003.pxi|--executor|cpu|-o|${PXI_WORK}/v003_fast.pxi")
pxi_check(diff_cpu_ref_fast 0 "diff|${PXI_WORK}/v003_ref.pxi|${PXI_WORK}/v003_fast.pxi" OUT "identical pixels")
set_tests_properties(cli_diff_cpu_ref_fast PROPERTIES DEPENDS "cli_run_cpu_ref;cli_run_cpu_fast")
