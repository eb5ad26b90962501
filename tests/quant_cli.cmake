# CLI tests of `pxi pixellm`, `pxi accuracy` and `pxi run --input` (issue 3). Uses pxi_check()
# from tests/cli.cmake (included before this file: the scripts are included in name order).
if(NOT TARGET pxi OR NOT COMMAND pxi_check)
  return()
endif()
pxi_check(pixellm_build 0 "pixellm|-o|${PXI_WORK}/pixellm_s5.pxi|--force|--seed|5" OUT "wrote .*1024x154.*seed 5")
pxi_check(pixellm_build_u8 0 "pixellm|-o|${PXI_WORK}/pixellm_u8.pxi|--force|--logits|uint8|--json" OUT "\"logits\": \"uint8\"")
pxi_check(pixellm_bad_weights 2 "pixellm|-o|${PXI_WORK}/never.pxi|--force|--weights|tests/data/npz_stored.npz"
          ERR_LINES 1 OUT "W_hidden" ABSENT ${PXI_WORK}/never.pxi)
pxi_check(accuracy_json 0 "accuracy|${PXI_WORK}/pixellm_s5.pxi|--inputs|100|--json|--min-top1|0.9|--max-rel-l2|0.03"
          OUT "\"raw_top1_agreement\".*\"rel_l2\".*\"top1_agreement\".*\"top5_containment\"")
set_tests_properties(cli_accuracy_json PROPERTIES DEPENDS cli_pixellm_build)
pxi_check(accuracy_threshold_fails 1 "accuracy|assets/pixellm.pxi|--inputs|20|--min-top1|1.01" OUT "FAIL")
pxi_check(accuracy_not_pixellm 1 "accuracy|assets/dot.pxi" ERR_LINES 1 OUT "pxos.pixellm")
pxi_check(run_input_f32 0 "run|assets/pixellm.pxi|--input|tests/data/pixellm_input_f32.npy|-o|${PXI_WORK}/pl_in.pxi|--force"
          OUT "halted")
pxi_check(run_input_wrong_size 2 "run|assets/pixellm.pxi|--input|tests/data/pixellm_input_u8.npy|--input-region|logits"
          ERR_LINES 1 OUT "1024")
