// Filters of `berth images` and the time parsing they need.
#include <fnmatch.h>

#include <charconv>
#include <ctime>

#include "image/reference.h"
#include "image/store.h"

namespace berth::image {

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  auto r = std::from_chars(s.data() + pos, s.data() + pos + n, out);
  return r.ec == std::errc() && r.ptr == s.data() + pos + n;
}

// The short form of a docker.io name ("docker.io/library/busybox" -> "busybox").
std::string familiar(const std::string& repo) {
  std::string s = repo;
  if (s.starts_with("docker.io/")) s = s.substr(10);
  if (s.starts_with("library/") && s.find('/', 8) == std::string::npos) s = s.substr(8);
  return s;
}

bool glob(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), FNM_PATHNAME) == 0;
}

bool reference_matches(const std::string& pattern, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    auto ref = parse_reference(n);
    if (!ref) continue;
    // The full name, docker's short form, and (for a pattern naming no
    // path) the last component: "busybox" matches localhost/busybox too.
    std::vector<std::string> repos{ref->name(), familiar(ref->name())};
    if (pattern.find('/') == std::string::npos) repos.push_back(ref->repository.substr(ref->repository.rfind('/') + 1));
    std::vector<std::string> forms = repos;
    if (!ref->tag.empty())
      for (const auto& r : repos) forms.push_back(r + ":" + ref->tag);
    if (ref->digest) forms.push_back(ref->name() + "@" + ref->digest->str());
    for (const auto& f : forms)
      if (glob(pattern, f)) return true;
  }
  return false;
}

}  // namespace

Result<int64_t> parse_rfc3339(std::string_view t) {
  std::tm tm{};
  int year, mon, day, hour, min, sec;
  if (!digits(t, 0, 4, year) || t.size() < 19 || t[4] != '-' || !digits(t, 5, 2, mon) || t[7] != '-' ||
      !digits(t, 8, 2, day) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(t, 11, 2, hour) ||
      t[13] != ':' || !digits(t, 14, 2, min) || t[16] != ':' || !digits(t, 17, 2, sec))
    return error("invalid time \"{}\": want RFC 3339 (2006-01-02T15:04:05Z)", t);
  size_t pos = 19;
  if (pos < t.size() && t[pos] == '.')
    for (++pos; pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos])); ++pos) {
    }
  int64_t offset = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    int oh, om;
    if (!digits(t, pos + 1, 2, oh) || pos + 3 >= t.size() || t[pos + 3] != ':' || !digits(t, pos + 4, 2, om))
      return error("invalid time \"{}\": bad zone offset", t);
    offset = (t[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return error("invalid time \"{}\": missing zone", t);
  }
  if (pos != t.size()) return error("invalid time \"{}\": trailing characters", t);
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

Result<ImageFilter> Store::parse_filters(const std::vector<std::string>& filters) {
  ImageFilter f;
  for (const auto& text : filters) {
    auto eq = text.find('=');
    if (eq == std::string::npos) return error("invalid filter \"{}\": want key=value", text);
    std::string key = text.substr(0, eq), value = text.substr(eq + 1);
    if (key == "reference") {
      f.references.push_back(value);
    } else if (key == "dangling") {
      if (value != "true" && value != "false") return error("invalid filter \"{}\": dangling is true or false", text);
      f.dangling = value == "true";
    } else if (key == "label") {
      if (value.empty()) return error("invalid filter \"{}\": want label=KEY or label=KEY=VALUE", text);
      auto veq = value.find('=');
      if (veq == std::string::npos) f.labels.push_back({value, std::nullopt});
      else f.labels.push_back({value.substr(0, veq), value.substr(veq + 1)});
    } else if (key == "before" || key == "since") {
      BERTH_TRY_ASSIGN(img, with_context(find_image(value), fmt::format("filter \"{}\"", text)));
      int64_t created = img.added;
      if (!img.created.empty())
        if (auto t = parse_rfc3339(img.created)) created = *t;
      (key == "before" ? f.before : f.since) = created;
    } else {
      return error("invalid filter \"{}\": unknown key \"{}\" (reference, dangling, before, since, label)", text, key);
    }
  }
  return f;
}

bool Store::matches(const ImageFilter& f, const ImageSummary& img) {
  if (f.dangling && *f.dangling != img.record.names.empty()) return false;
  if (f.before && !(img.created < *f.before)) return false;
  if (f.since && !(img.created > *f.since)) return false;
  for (const auto& want : f.labels) {
    auto it = img.labels.find(want.key);
    if (it == img.labels.end() || (want.value && it->second != *want.value)) return false;
  }
  if (!f.references.empty()) {
    bool any = false;
    for (const auto& p : f.references) any = any || reference_matches(p, img.record.names);
    if (!any) return false;
  }
  return true;
}

}  // namespace berth::image
