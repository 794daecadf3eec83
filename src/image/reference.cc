#include "image/reference.h"

#include <cctype>
#include <optional>

namespace berth::image {
namespace {

constexpr size_t kMaxNameLength = 255;

bool alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// path-component := alnum+ (separator alnum+)*, separator := [_.] | __ | -+
bool valid_component(std::string_view c) {
  if (c.empty() || !alnum_lower(c.front()) || !alnum_lower(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (alnum_lower(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !alnum_lower(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// domain := host[:port]; host := DNS labels, or an IPv6 literal in [].
bool valid_registry(std::string_view r) {
  if (r.empty()) return false;
  std::string_view host = r;
  std::string_view port;
  if (r.front() == '[') {
    auto close = r.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : r.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':') return false;
    if (close + 1 < r.size()) {
      if (r[close + 1] != ':') return false;
      port = r.substr(close + 2);
      if (port.empty()) return false;
    }
    host = {};
  } else if (auto colon = r.rfind(':'); colon != std::string_view::npos) {
    host = r.substr(0, colon);
    port = r.substr(colon + 1);
    if (port.empty()) return false;
  }
  for (char c : port)
    if (c < '0' || c > '9') return false;
  if (port.size() > 5) return false;
  size_t start = 0;
  while (start <= host.size() && !host.empty()) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

bool looks_like_registry(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         (!first.empty() && first.front() == '[');
}

struct Split {
  std::string_view name;  // everything before :tag / @digest
  std::string_view tag;
  std::string_view digest;
};

Split split(std::string_view text) {
  Split s;
  auto at = text.find('@');
  if (at != std::string_view::npos) {
    s.digest = text.substr(at + 1);
    text = text.substr(0, at);
  }
  // A tag's colon comes after the last slash (a port's comes before it).
  auto slash = text.rfind('/');
  auto colon = text.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash) &&
      !(text.front() == '[' && text.find(']') > colon)) {
    s.tag = text.substr(colon + 1);
    s.name = text.substr(0, colon);
  } else {
    s.name = text;
  }
  return s;
}

// Parses `text` with `registry` already decided (empty: take it from the text).
Result<Reference> parse_with(std::string_view text, std::string_view default_registry) {
  if (text.empty()) return error("invalid reference \"\": empty");
  Split s = split(text);
  bool has_colon_tag = s.name.size() < text.size() && text[s.name.size()] == ':';
  if (has_colon_tag && s.tag.empty()) return error("invalid reference \"{}\": empty tag", text);
  if (text.find('@') != std::string_view::npos && s.digest.empty())
    return error("invalid reference \"{}\": empty digest", text);
  Reference ref;
  std::string_view path = s.name;
  auto slash = s.name.find('/');
  if (slash != std::string_view::npos && looks_like_registry(s.name.substr(0, slash))) {
    ref.registry = std::string(s.name.substr(0, slash));
    path = s.name.substr(slash + 1);
    if (!valid_registry(ref.registry))
      return error("invalid reference \"{}\": bad registry \"{}\"", text, ref.registry);
  } else {
    ref.registry = std::string(default_registry);
  }
  // Docker Hub's aliases.
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") ref.registry = "docker.io";
  if (path.empty()) return error("invalid reference \"{}\": no repository", text);
  for (char c : path)
    if (c >= 'A' && c <= 'Z') return error("invalid reference \"{}\": repository name must be lowercase", text);
  size_t start = 0;
  for (;;) {
    size_t next = path.find('/', start);
    std::string_view comp = path.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!valid_component(comp))
      return error("invalid reference \"{}\": bad repository component \"{}\"", text, comp);
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  ref.repository = std::string(path);
  if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.registry.size() + 1 + ref.repository.size() > kMaxNameLength)
    return error("invalid reference \"{}\": name longer than {} characters", text, kMaxNameLength);
  if (!s.tag.empty()) {
    if (!valid_tag(s.tag)) return error("invalid reference \"{}\": bad tag \"{}\"", text, s.tag);
    ref.tag = std::string(s.tag);
  }
  if (!s.digest.empty()) {
    auto d = oci::parse_digest(s.digest);
    if (!d) return error("invalid reference \"{}\": {}", text, d.error().message());
    ref.digest = std::move(*d);
  }
  if (ref.tag.empty() && !ref.digest) ref.tag = "latest";
  return ref;
}

}  // namespace

std::string Reference::name() const { return registry + "/" + repository; }

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

std::string Reference::tag_or_digest() const {
  if (!tag.empty()) return name() + ":" + tag;
  return name() + "@" + (digest ? digest->str() : std::string());
}

std::string Reference::manifest_reference() const { return digest ? digest->str() : tag; }

bool is_short_name(std::string_view text) {
  auto at = text.find('@');
  std::string_view name = text.substr(0, at);
  auto slash = name.find('/');
  if (slash == std::string_view::npos) return true;
  return !looks_like_registry(name.substr(0, slash));
}

Result<Reference> parse_reference(std::string_view text) { return parse_with(text, kDockerHub); }

Result<std::vector<Reference>> resolve_reference(std::string_view text,
                                                 const std::vector<std::string>& search_registries) {
  std::vector<Reference> out;
  if (!is_short_name(text) || search_registries.empty()) {
    BERTH_TRY_ASSIGN(ref, parse_reference(text));
    out.push_back(std::move(ref));
    return out;
  }
  // A candidate can be invalid for one registry only (its name grows past the
  // 255-character limit with a longer registry): skip it, fail if none is left.
  std::optional<Error> last_error;
  for (const auto& registry : search_registries) {
    if (!valid_registry(registry)) return error("invalid search registry \"{}\"", registry);
    auto ref = parse_with(text, registry == "index.docker.io" ? kDockerHub : std::string_view(registry));
    if (!ref) {
      last_error = std::move(ref.error());
      continue;
    }
    out.push_back(std::move(*ref));
  }
  if (out.empty()) return std::unexpected(std::move(*last_error));
  return out;
}

}  // namespace berth::image
