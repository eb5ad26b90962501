# pxi gpt, pxi generate and pxi eval on a tiny random model (2 layers, width 32, 2 heads, context
# 32) with a 300-token BPE tokenizer trained here: the built program validates without warnings,
# greedy and seeded sampled generation give the same tokens on cpu-ref, cpu and gl, pxi compare
# finds parity at every step, the streamed text is the prompt plus detokenize(tokens), eval gives
# the same bits per byte on every executor, and bad inputs (a missing array, a wrong shape, a
# tokenizer of another vocabulary, a prompt past the context, --dtype u8) fail with exit 2 and a
# message naming the thing. The weights are written by a stdlib-only Python snippet (.npy by hand,
# zipfile), so the test needs /usr/bin/python3 but not NumPy.
#
# This file is both the test's registration (included by tests/CMakeLists.txt) and its checker.
if(CMAKE_SCRIPT_MODE_FILE)
  set(w ${WORK})
  file(REMOVE_RECURSE ${w})
  file(MAKE_DIRECTORY ${w})

  function(run expect_rc)
    execute_process(COMMAND ${PXI} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL expect_rc)
      message(FATAL_ERROR "pxi ${ARGN}: exit ${rc}, expected ${expect_rc}\n${out}\n${err}")
    endif()
    set(out "${out}" PARENT_SCOPE)
    set(err "${err}" PARENT_SCOPE)
  endfunction()
  function(expect_in text what)
    string(FIND "${text}" "${what}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "expected '${what}' in:\n${text}")
    endif()
  endfunction()

  # Weights per docs/gpt-weights.md: float32 .npy entries in a stored zip, seeded values.
  file(WRITE ${w}/fixture.py [=[
import json, random, struct, sys, zipfile
out, vocab, drop, reshape = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
L, d, H, C = 2, 32, 2, 32
rng = random.Random(7)
def arr(shape, std, mean=0.0):
    n = 1
    for s in shape: n *= s
    return shape, [mean + rng.gauss(0.0, std) for _ in range(n)]
a = {"wte": arr((vocab, d), 0.5), "wpe": arr((C, d), 0.2)}
for i in range(L):
    h = "h.%d." % i
    a[h + "ln_1.weight"] = arr((d,), 0.1, 1.0); a[h + "ln_1.bias"] = arr((d,), 0.05)
    a[h + "attn.c_attn.weight"] = arr((d, 3 * d), 0.3); a[h + "attn.c_attn.bias"] = arr((3 * d,), 0.05)
    a[h + "attn.c_proj.weight"] = arr((d, d), 0.2); a[h + "attn.c_proj.bias"] = arr((d,), 0.05)
    a[h + "ln_2.weight"] = arr((d,), 0.1, 1.0); a[h + "ln_2.bias"] = arr((d,), 0.05)
    a[h + "mlp.c_fc.weight"] = arr((d, 4 * d), 0.2); a[h + "mlp.c_fc.bias"] = arr((4 * d,), 0.05)
    a[h + "mlp.c_proj.weight"] = arr((4 * d, d), 0.1); a[h + "mlp.c_proj.bias"] = arr((d,), 0.05)
a["ln_f.weight"] = arr((d,), 0.1, 1.0); a["ln_f.bias"] = arr((d,), 0.05)
a.pop(drop, None)
if reshape in a:
    a[reshape] = ((d, d), [0.0] * (d * d))
def npy(shape, values):
    dims = "(" + "".join("%d, " % s for s in shape)[:-2] + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % dims
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack("<%df" % len(values), *values)
with zipfile.ZipFile(out + ".npz", "w", zipfile.ZIP_STORED) as z:
    for k, (shape, v) in a.items():
        z.writestr(k + ".npy", npy(shape, v))
json.dump({"model": "gpt", "layers": L, "width": d, "heads": H, "head_width": d // H, "context": C,
           "vocab": vocab, "mlp_width": 4 * d, "activation": "gelu_tanh", "layer_norm_eps": 1e-05,
           "tied_head": True, "dtype": "float32", "layout": "y = x @ W + b; W is [in, out]"},
          open(out + ".json", "w"))
]=])
  function(fixture name vocab drop reshape)
    execute_process(COMMAND ${PYTHON} ${w}/fixture.py ${w}/${name} ${vocab} ${drop} ${reshape} RESULT_VARIABLE rc
                    ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "fixture.py ${name}: ${err}")
    endif()
  endfunction()

  set(text ${PXOS_SOURCE_DIR}/tests/data/tokenizer_sample.txt)
  run(0 tokenizer train --text ${text} --vocab 300 -o ${w}/tok.pxi)
  run(0 tokenizer train --text ${text} --vocab 290 -o ${w}/tok290.pxi)
  fixture(m 300 - -)
  run(0 gpt --weights ${w}/m.npz --config ${w}/m.json --tokenizer ${w}/tok.pxi -o ${w}/m.pxi)
  expect_in("${out}" "GPT 2 layers, width 32, 2 heads, context 32, vocabulary 300")
  run(0 validate ${w}/m.pxi)
  if(out MATCHES "warning|error")
    message(FATAL_ERROR "pxi validate m.pxi is not clean:\n${out}")
  endif()

  # Bad inputs: each names what is wrong; nothing is written.
  run(2 gpt --weights ${w}/m.npz --config ${w}/m.json --tokenizer ${w}/tok.pxi -o ${w}/m.pxi)
  expect_in("${err}" "already exists")
  run(2 gpt --weights ${w}/m.npz --config ${w}/m.json --tokenizer ${w}/tok.pxi -o ${w}/u8.pxi --dtype u8)
  expect_in("${err}" "not implemented yet: the uint8 path (I-BERT integer softmax/layernorm/GELU) is issue 14's open item")
  fixture(missing 300 h.1.mlp.c_fc.bias -)
  run(2 gpt --weights ${w}/missing.npz --config ${w}/missing.json --tokenizer ${w}/tok.pxi -o ${w}/bad.pxi)
  expect_in("${err}" "array 'h.1.mlp.c_fc.bias' is missing (want [128]")
  fixture(shape 300 - h.0.mlp.c_fc.weight)
  run(2 gpt --weights ${w}/shape.npz --config ${w}/shape.json --tokenizer ${w}/tok.pxi -o ${w}/bad.pxi)
  expect_in("${err}" "array 'h.0.mlp.c_fc.weight' has shape [32, 32], want [32, 128]")
  run(2 gpt --weights ${w}/m.npz --config ${w}/m.json --tokenizer ${w}/tok290.pxi -o ${w}/bad.pxi)
  expect_in("${err}" "the tokenizer has 290 tokens but ${w}/m.json says \"vocab\": 300")
  if(EXISTS ${w}/bad.pxi OR EXISTS ${w}/u8.pxi)
    message(FATAL_ERROR "a failed pxi gpt left a file behind")
  endif()
  run(2 generate ${w}/m.pxi --prompt "The quick brown fox" --tokens 40)
  expect_in("${err}" "pass the context of 32")
  execute_process(COMMAND ${PXI} generate ${w}/m.pxi --prompt "" --tokens 4 RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "generate --prompt '': exit ${rc}\n${err}")
  endif()
  expect_in("${err}" "--prompt is empty")

  # Generation: the same tokens on every executor, greedy and sampled.
  set(executors cpu-ref cpu)
  if(GL)
    list(APPEND executors gl)
  endif()
  foreach(mode "greedy" "sampled")
    set(opts)
    if(mode STREQUAL "sampled")
      set(opts --temperature 0.9 --top-k 20 --seed 5)
    endif()
    set(first "")
    foreach(e ${executors})
      run(0 generate ${w}/m.pxi --prompt "The quick" --tokens 12 ${opts} --executor ${e} --json)
      string(JSON tokens GET "${out}" tokens)
      string(JSON n LENGTH "${out}" tokens)
      if(NOT n EQUAL 12)
        message(FATAL_ERROR "${e} ${mode}: ${n} tokens, want 12:\n${out}")
      endif()
      string(REGEX REPLACE "[ \n]" "" tokens "${tokens}")
      if(first STREQUAL "")
        set(first "${tokens}")
      elseif(NOT tokens STREQUAL first)
        message(FATAL_ERROR "${mode}: ${e} generated ${tokens}, cpu-ref ${first}")
      endif()
    endforeach()
    set(tokens_${mode} "${first}")
  endforeach()
  if(tokens_greedy STREQUAL tokens_sampled)
    message(FATAL_ERROR "sampling at temperature 0.9 gave the greedy tokens ${tokens_greedy}")
  endif()

  # The streamed text is the prompt, then the bytes of the generated tokens (pxi detokenize).
  run(0 generate ${w}/m.pxi --prompt "The quick" --tokens 12 --temperature 0.9 --top-k 20 --seed 5
      -o ${w}/after.pxi)
  set(streamed "${out}")
  expect_in("${err}" "tokens/s")
  string(REGEX REPLACE "[][]" "" ids "${tokens_sampled}")
  run(0 detokenize ${w}/tok.pxi --id-list "${ids}")
  if(NOT streamed STREQUAL "The quick${out}\n")
    message(FATAL_ERROR "generate printed '${streamed}', want 'The quick' + '${out}'")
  endif()
  if(NOT EXISTS ${w}/after.pxi)
    message(FATAL_ERROR "generate -o after.pxi wrote nothing")
  endif()
  # Write policy (docs/write-paths.md): never the input, never an existing file without --force.
  file(SHA256 ${w}/m.pxi m_hash)
  run(2 generate ${w}/m.pxi --prompt "The" --tokens 2 -o ${w}/m.pxi)
  expect_in("${err}" "output is the input file")
  run(2 generate ${w}/m.pxi --prompt "The" --tokens 2 -o ${w}/after.pxi)
  expect_in("${err}" "already exists; pass --force")
  run(0 generate ${w}/m.pxi --prompt "The" --tokens 2 -o ${w}/after.pxi --force)
  file(SHA256 ${w}/m.pxi m_hash_after)
  if(NOT m_hash STREQUAL m_hash_after)
    message(FATAL_ERROR "pxi generate changed its input file")
  endif()

  if(GL)
    run(0 compare ${w}/m.pxi --quiet)
    expect_in("${out}" "parity after every one of")
  endif()

  # Eval: the same figure on every executor; pxtrain's window count for this text.
  set(first "")
  foreach(e ${executors})
    run(0 eval ${w}/m.pxi --text ${text} --executor ${e} --json)
    string(JSON bpb GET "${out}" bits_per_byte)
    string(JSON windows GET "${out}" windows)
    string(JSON tokens GET "${out}" tokens)
    string(JSON bytes GET "${out}" bytes)
    file(SIZE ${text} size)
    if(NOT bytes EQUAL size)
      message(FATAL_ERROR "eval: ${bytes} bytes, the file has ${size}")
    endif()
    math(EXPR want_windows "(${tokens} - 1 + 31) / 32") # full windows of 32 and a shorter last one
    if(NOT windows EQUAL want_windows)
      message(FATAL_ERROR "eval: ${windows} windows for ${tokens} tokens, want ${want_windows}")
    endif()
    if(first STREQUAL "")
      set(first "${bpb}")
    elseif(NOT bpb STREQUAL first)
      message(FATAL_ERROR "eval on ${e}: ${bpb} bits per byte, cpu-ref ${first}")
    endif()
  endforeach()
  run(0 gpt --weights ${w}/m.npz --config ${w}/m.json --tokenizer ${w}/tok.pxi -o ${w}/last.pxi
      --prefill-logits last)
  run(2 eval ${w}/last.pxi --text ${text})
  expect_in("${err}" "pxi eval needs an image built with --prefill-logits all")
  message(STATUS "gpt: parity on ${executors}; greedy ${tokens_greedy}; eval ${first} bits per byte")
else()
  find_program(PXOS_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(TARGET pxi AND PXOS_SYSTEM_PYTHON3)
    set(gl 0)
    if(TARGET pxengine_gl)
      set(gl 1)
    endif()
    add_test(NAME gpt_cli
             COMMAND ${CMAKE_COMMAND} -DPXI=$<TARGET_FILE:pxi> -DWORK=${CMAKE_BINARY_DIR}/gpt_cli_work
                     -DPYTHON=${PXOS_SYSTEM_PYTHON3} -DGL=${gl} -DPXOS_SOURCE_DIR=${PXOS_SOURCE_DIR}
                     -P ${CMAKE_CURRENT_LIST_FILE}
             WORKING_DIRECTORY ${PXOS_SOURCE_DIR})
    set_tests_properties(gpt_cli PROPERTIES TIMEOUT 300)
    if(gl AND PXOS_GL_TEST_ENV) # see tests/CMakeLists.txt
      set_tests_properties(gpt_cli PROPERTIES ENVIRONMENT "${PXOS_GL_TEST_ENV}")
    endif()
  endif()
endif()
