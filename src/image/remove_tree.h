// Removing a directory tree without ever following a symlink (a layer's
// content is untrusted): every step is an *at call below an fd already held.
#pragma once

#include <string>

#include "base/error.h"
#include "base/fd.h"

namespace berth::image {

// Removes `name` inside `parent` (file, symlink, device or whole tree);
// a missing `name` is not an error. `where` names it in errors. A mount
// point below it fails the removal (EBUSY) before its content is touched.
Result<> remove_tree_at(int parent, const std::string& name, const std::string& where);
// remove_tree_at for a path (its last component is not followed).
Result<> remove_tree(const std::string& path);

}  // namespace berth::image
