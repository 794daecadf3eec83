// --format strings as podman and docker users write them: Go-template-like
// "{{.Field}}" placeholders in literal text ("{{.Repository}}:{{.Tag}}"),
// the escapes "\t" and "\n" written literally on a command line, and a
// "table " prefix that prints a header row and aligns the tab-separated
// columns. Only field references are supported; an unknown field or any
// other action is an error naming it.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::tool {

class GoTemplate {
 public:
  // `fields`: the known field names with their table headers
  // ({"Repository", "REPOSITORY"}, ...).
  static Result<GoTemplate> parse(std::string_view text, const std::map<std::string, std::string>& fields);

  bool table() const { return table_; }
  // One rendering, `value` giving each field's text.
  std::string render(const std::function<std::string(const std::string& field)>& value) const;
  // Prints the rows (one rendering each): a table with its header row and
  // aligned columns, or one line per rendering.
  void print(const std::vector<std::string>& rendered) const;

 private:
  struct Piece {
    bool field = false;
    std::string text;  // literal text, or the field name
  };
  bool table_ = false;
  std::vector<Piece> pieces_;
  std::map<std::string, std::string> headers_;
};

}  // namespace berth::tool
