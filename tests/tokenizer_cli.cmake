# CLI tests of pxi tokenizer train|gpt2, pxi tokenize and pxi detokenize (tests/cli.cmake style;
# pxi_check is defined there). No network: GPT-2's format is tested with tests/data/gpt2_tiny.
if(NOT TARGET pxi OR NOT COMMAND pxi_check)
  return()
endif()
set(TOK_WORK ${PXI_WORK}/tokenizer)
file(MAKE_DIRECTORY ${TOK_WORK})
set(TOK_TEXT tests/data/tokenizer_sample.txt)
foreach(cmd tokenize detokenize)
  pxi_check(help_${cmd} 0 "${cmd}|--help" OUT "Usage:")
endforeach()
pxi_check(help_tokenizer_train 0 "tokenizer|train|--help" OUT "--vocab")
pxi_check(help_tokenizer_gpt2 0 "tokenizer|gpt2|--help" OUT "--cache")

# Train, then the image is a valid program (HALT) that holds the tokenizer.
pxi_check(tok_train 0 "tokenizer|train|--text|${TOK_TEXT}|--vocab|300|--special|<eot>|-o|${TOK_WORK}/tok.pxi|--force"
          OUT "wrote .*tok.pxi: 300 tokens \\(256 bytes, 43 merges, 1 special\\)" CHANGED ${TOK_WORK}/tok.pxi)
pxi_check(tok_train_json 0 "tokenizer|train|--text|${TOK_TEXT}|--vocab|280|-o|${TOK_WORK}/tok_json.pxi|--force|--json"
          OUT "\"merges\": 24,.*\"vocab_size\": 280")
pxi_check(tok_validate 0 "validate|${TOK_WORK}/tok.pxi" OUT "valid")
pxi_check(tok_info 0 "info|${TOK_WORK}/tok.pxi" OUT "tokenizer.merges")
set_tests_properties(cli_tok_validate cli_tok_info PROPERTIES DEPENDS cli_tok_train)

# Write paths (docs/write-paths.md): an existing file without --force, the input, no directory.
pxi_check(wp_tok_train_exists 2 "tokenizer|train|--text|${TOK_TEXT}|--vocab|300|-o|${TOK_WORK}/tok.pxi"
          ERR_LINES 1 OUT "already exists; pass --force" UNCHANGED ${TOK_WORK}/tok.pxi)
pxi_check(wp_tok_train_input 2 "tokenizer|train|--text|${TOK_TEXT}|--vocab|300|-o|${TOK_TEXT}|--force"
          ERR_LINES 1 OUT "output is the input file" UNCHANGED ${TOK_TEXT})
pxi_check(wp_tok_train_no_dir 2 "tokenizer|train|--text|${TOK_TEXT}|--vocab|300|-o|${TOK_WORK}/no/such/dir/t.pxi"
          ERR_LINES 1 ABSENT ${TOK_WORK}/no/such/dir/t.pxi)
set_tests_properties(cli_wp_tok_train_exists PROPERTIES DEPENDS cli_tok_train)
pxi_check(tok_train_small_vocab 2 "tokenizer|train|--text|${TOK_TEXT}|--vocab|100|-o|${TOK_WORK}/never.pxi"
          ERR_LINES 1 ABSENT ${TOK_WORK}/never.pxi)
pxi_check(tok_train_no_text 2 "tokenizer|train|--text|${TOK_WORK}/missing.txt|--vocab|300|-o|${TOK_WORK}/never.pxi"
          ERR_LINES 1 OUT "missing.txt: cannot read the text" ABSENT ${TOK_WORK}/never.pxi)

# Round trips through id files: uint16 and int32; the bytes come back exactly (invalid UTF-8 too).
pxi_check(tok_ids_u16 0 "tokenize|${TOK_WORK}/tok.pxi|--text|${TOK_TEXT}|--ids-out|${TOK_WORK}/ids.u16|--force"
          OUT "1192 bytes -> [0-9]+ tokens .*wrote .*ids.u16 \\([0-9]+ little-endian uint16 ids\\)")
pxi_check(tok_ids_i32 0 "tokenize|${TOK_WORK}/tok.pxi|--text|${TOK_TEXT}|--ids-out|${TOK_WORK}/ids.i32|--force|--json"
          OUT "\"bytes\": 1192,.*\"ids_format\": \"i32\"")
pxi_check(tok_detok_u16 0 "detokenize|${TOK_WORK}/tok.pxi|--ids|${TOK_WORK}/ids.u16|-o|${TOK_WORK}/back_u16.txt|--force")
pxi_check(tok_detok_i32 0 "detokenize|${TOK_WORK}/tok.pxi|--ids|${TOK_WORK}/ids.i32|-o|${TOK_WORK}/back_i32.txt|--force")
add_test(NAME cli_tok_roundtrip_u16 COMMAND ${CMAKE_COMMAND} -E compare_files ${TOK_TEXT} ${TOK_WORK}/back_u16.txt
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
add_test(NAME cli_tok_roundtrip_i32 COMMAND ${CMAKE_COMMAND} -E compare_files ${TOK_TEXT} ${TOK_WORK}/back_i32.txt
         WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
set_tests_properties(cli_tok_ids_u16 cli_tok_ids_i32 PROPERTIES DEPENDS cli_tok_train)
set_tests_properties(cli_tok_detok_u16 PROPERTIES DEPENDS cli_tok_ids_u16)
set_tests_properties(cli_tok_detok_i32 PROPERTIES DEPENDS cli_tok_ids_i32)
set_tests_properties(cli_tok_roundtrip_u16 PROPERTIES DEPENDS cli_tok_detok_u16)
set_tests_properties(cli_tok_roundtrip_i32 PROPERTIES DEPENDS cli_tok_detok_i32)
pxi_check(wp_tok_ids_exists 2 "tokenize|${TOK_WORK}/tok.pxi|--text|${TOK_TEXT}|--ids-out|${TOK_WORK}/ids.u16"
          ERR_LINES 1 OUT "already exists" UNCHANGED ${TOK_WORK}/ids.u16)
pxi_check(wp_tok_ids_input 2 "tokenize|${TOK_WORK}/tok.pxi|--text|${TOK_TEXT}|--ids-out|${TOK_TEXT}|--ids-format|u16|--force"
          ERR_LINES 1 OUT "output is the input file" UNCHANGED ${TOK_TEXT})
pxi_check(wp_tok_detok_exists 2 "detokenize|${TOK_WORK}/tok.pxi|--ids|${TOK_WORK}/ids.u16|-o|${TOK_WORK}/back_u16.txt"
          ERR_LINES 1 OUT "already exists" UNCHANGED ${TOK_WORK}/back_u16.txt)
pxi_check(wp_tok_detok_input 2 "detokenize|${TOK_WORK}/tok.pxi|--ids|${TOK_WORK}/ids.u16|-o|${TOK_WORK}/ids.u16|--force"
          ERR_LINES 1 OUT "output is the input file" UNCHANGED ${TOK_WORK}/ids.u16)
set_tests_properties(cli_wp_tok_ids_exists cli_wp_tok_ids_input PROPERTIES DEPENDS cli_tok_ids_u16)
set_tests_properties(cli_wp_tok_detok_exists cli_wp_tok_detok_input PROPERTIES DEPENDS cli_tok_detok_u16)
pxi_check(tok_ids_bad_ext 2 "tokenize|${TOK_WORK}/tok.pxi|--text|${TOK_TEXT}|--ids-out|${TOK_WORK}/ids.bin"
          ERR_LINES 1 OUT "ids.bin: name the ids format" ABSENT ${TOK_WORK}/ids.bin)
# Ids as text: with a trained tokenizer the byte tokens are ids 0..255 ('H' 72, 'i' 105).
pxi_check(tok_detok_list 0 "detokenize|${TOK_WORK}/tok.pxi|--id-list|72,105" OUT "^Hi$")
pxi_check(tok_detok_bad_id 1 "detokenize|${TOK_WORK}/tok.pxi|--id-list|72 300" ERR_LINES 1
          OUT "token 1: id 300 is outside the vocabulary \\(0..299\\)")
pxi_check(tok_detok_not_id 2 "detokenize|${TOK_WORK}/tok.pxi|--id-list|72,x" ERR_LINES 1 OUT "'x' is not a token id")
file(WRITE ${TOK_WORK}/odd.i32 "abc")
pxi_check(tok_detok_odd_file 2 "detokenize|${TOK_WORK}/tok.pxi|--ids|${TOK_WORK}/odd.i32" ERR_LINES 1
          OUT "3 bytes is not a whole number of i32 ids")
set_tests_properties(cli_tok_detok_list cli_tok_detok_bad_id cli_tok_detok_not_id cli_tok_detok_odd_file
                     PROPERTIES DEPENDS cli_tok_train)
# An image without a tokenizer: status 1, one line.
pxi_check(tok_no_tokenizer 1 "tokenize|assets/dot.pxi|--text|${TOK_TEXT}" ERR_LINES 1
          OUT "assets/dot.pxi: tokenizer: no tokenizer in this image")

# GPT-2's format from local files (the fetch is `pxi tokenizer gpt2` without --encoder/--merges).
pxi_check(tok_gpt2_tiny 0 "tokenizer|gpt2|--encoder|tests/data/gpt2_tiny/encoder.json|--merges|tests/data/gpt2_tiny/vocab.bpe|-o|${TOK_WORK}/gpt2_tiny.pxi|--force"
          OUT "GPT-2's BPE, 266 tokens \\(9 merges, 1 special\\)")
file(WRITE ${TOK_WORK}/the_cat.txt " the cat and in")
# Worked out by hand in tests/data/README.md.
pxi_check(tok_gpt2_tiny_ids 0 "tokenize|${TOK_WORK}/gpt2_tiny.pxi|--text|${TOK_WORK}/the_cat.txt|--print-ids"
          OUT "\n258 263 264 262 220 259\n")
set_tests_properties(cli_tok_gpt2_tiny_ids PROPERTIES DEPENDS cli_tok_gpt2_tiny)
pxi_check(tok_gpt2_one_file 2 "tokenizer|gpt2|--encoder|tests/data/gpt2_tiny/encoder.json|-o|${TOK_WORK}/never.pxi"
          ERR_LINES 1 OUT "--encoder and --merges go together" ABSENT ${TOK_WORK}/never.pxi)
pxi_check(tok_gpt2_bad_merges 1 "tokenizer|gpt2|--encoder|tests/data/gpt2_tiny/encoder.json|--merges|${TOK_TEXT}|-o|${TOK_WORK}/never.pxi"
          ERR_LINES 1 OUT "tokenizer_sample.txt:1: " ABSENT ${TOK_WORK}/never.pxi)
pxi_check(wp_tok_gpt2_input 2 "tokenizer|gpt2|--encoder|tests/data/gpt2_tiny/encoder.json|--merges|tests/data/gpt2_tiny/vocab.bpe|-o|tests/data/gpt2_tiny/vocab.bpe|--force"
          ERR_LINES 1 OUT "output is the input file" UNCHANGED tests/data/gpt2_tiny/vocab.bpe)
