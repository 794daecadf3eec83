#include "go_template.h"

#include <cctype>
#include <cstdio>

#include <fmt/format.h>

#include "format.h"

namespace berth::tool {
namespace {

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      out += s[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
    cells.push_back(line.substr(start, tab - start));
  cells.push_back(line.substr(start));
  return cells;
}

}  // namespace

Result<GoTemplate> GoTemplate::parse(std::string_view text, const std::map<std::string, std::string>& fields) {
  GoTemplate t;
  t.headers_ = fields;
  if (text.starts_with("table ") || text == "table") {
    t.table_ = true;
    text.remove_prefix(std::min<size_t>(6, text.size()));
  }
  std::string known;
  for (const auto& [name, header] : fields) known += (known.empty() ? "" : ", ") + name;
  while (!text.empty()) {
    auto open = text.find("{{");
    if (open == std::string_view::npos) {
      t.pieces_.push_back({false, unescape(text)});
      break;
    }
    if (open > 0) t.pieces_.push_back({false, unescape(text.substr(0, open))});
    auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return error("--format \"{}\": unclosed \"{{{{\"", text);
    std::string_view action = text.substr(open + 2, close - open - 2);
    // "{{- .X -}}" trims in Go; here the spaces around are literal anyway.
    if (action.starts_with('-')) action.remove_prefix(1);
    if (action.ends_with('-')) action.remove_suffix(1);
    action = trim(action);
    bool field = action.size() >= 2 && action.front() == '.';
    for (char c : action.substr(1)) field = field && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!field)
      return error("--format: unsupported template action \"{{{{{}}}}}\" (only field references such as {{{{.ID}}}})",
                   action);
    std::string name(action.substr(1));
    if (!fields.contains(name)) return error("--format: unknown field \"{}\" (known: {})", name, known);
    t.pieces_.push_back({true, std::move(name)});
    text.remove_prefix(close + 2);
  }
  return t;
}

std::string GoTemplate::render(const std::function<std::string(const std::string& field)>& value) const {
  std::string out;
  for (const auto& p : pieces_) out += p.field ? value(p.text) : p.text;
  return out;
}

void GoTemplate::print(const std::vector<std::string>& rendered) const {
  if (!table_) {
    for (const auto& line : rendered) std::fputs((line.ends_with('\n') ? line : line + "\n").c_str(), stdout);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back(split_tabs(render([&](const std::string& f) { return headers_.at(f); })));
  for (const auto& line : rendered) rows.push_back(split_tabs(line));
  print_table(rows);
}

}  // namespace berth::tool
