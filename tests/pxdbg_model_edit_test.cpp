// pxdbg_model_edit_test.cpp — the debugger's edits of the image as loaded (debugger.h: edit_loaded,
// undo_edit; the Text window's Set prompt): execution starts over from the edited image, the
// replaced bytes come back exactly on undo, breakpoints stay.
#include "debugger.h"
#include "png_io.h"
#include "test_util.h"

#include <doctest/doctest.h>

using namespace pxdbg;

TEST_CASE("edit_loaded starts over from the edited image; undo_edit restores the bytes") {
    auto loaded = px::load_png(pxtest::source_path("assets/pixellm.pxi"));
    REQUIRE(loaded.ok());
    const px::Image prog = loaded->image;
    Debugger d;
    load_image(d, prog, "");
    step_once(d);
    step_once(d);
    toggle_breakpoint(d, 0);
    const uint64_t serial = d.load_serial;
    px::Image edited = prog;
    edited.at(3, 5)[0] ^= 0x40; // two separate runs of rows
    edited.at(1, prog.height - 1)[2] ^= 0x01;
    CHECK(edit_loaded(d, edited, "test"));
    CHECK(d.load_serial > serial);
    CHECK(d.cpu.steps == 0);
    CHECK(d.history.empty());
    CHECK(d.breakpoints.count(0) == 1);
    CHECK(px::rgba_hash(d.loaded) == px::rgba_hash(edited));
    CHECK(px::rgba_hash(d.cpu.image) == px::rgba_hash(edited));
    REQUIRE(d.edits.size() == 1);
    CHECK(d.edits[0].before.size() == 2); // only the changed rows are kept
    step_once(d);
    CHECK(undo_edit(d));
    CHECK(d.edits.empty());
    CHECK(d.cpu.steps == 0);
    CHECK(px::rgba_hash(d.loaded) == px::rgba_hash(prog));
    CHECK(px::rgba_hash(d.cpu.image) == px::rgba_hash(prog));
    CHECK(!undo_edit(d));
    // A different size, or nothing loaded: refused, nothing changes.
    CHECK(!edit_loaded(d, px::make_image(prog.width + 1, prog.height), "wrong size"));
    CHECK(d.edits.empty());
    Debugger empty;
    CHECK(!edit_loaded(empty, prog, "nothing loaded"));
}
