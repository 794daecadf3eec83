// berth pod ls --filter: podman's pod filters over a pod and its containers.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <regex>

#include <fmt/format.h>

#include "engine/pods.h"

namespace berth::engine {
namespace {

constexpr std::string_view kKeys[] = {"id",        "name",      "status",     "label",      "label!",
                                      "network",   "ctr-names", "ctr-ids",    "ctr-status", "ctr-number"};
constexpr std::string_view kPodStates[] = {"created", "running", "degraded", "paused", "exited", "stopped"};
constexpr std::string_view kContainerStates[] = {"created", "running", "paused", "exited"};

bool regex_key(std::string_view key) {
  return key == "id" || key == "name" || key == "ctr-names" || key == "ctr-ids";
}

bool search(const std::string& pattern, const std::string& text) {
  try {
    return std::regex_search(text, std::regex(pattern));
  } catch (const std::regex_error&) {
    return false;  // checked by parse_pod_filter
  }
}

std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// label=K or label=K=V against the pod's labels.
bool has_label(const PodRecord& pod, const std::string& term) {
  auto eq = term.find('=');
  auto it = pod.labels.find(term.substr(0, eq));
  if (it == pod.labels.end()) return false;
  return eq == std::string::npos || it->second == term.substr(eq + 1);
}

bool matches_term(const PodRecord& pod, const std::vector<ContainerRecord>& containers, std::string_view default_network,
                  const std::string& key, const std::string& value) {
  auto any_container = [&](auto&& pred) { return std::ranges::any_of(containers, pred); };
  if (key == "id") return search(value, pod.id);
  if (key == "name") return search(value, pod.name);
  if (key == "status") return lower(pod_state(containers)) == value;
  if (key == "label") return has_label(pod, value);
  if (key == "label!") return !has_label(pod, value);
  if (key == "network")
    return pod.share_net && (pod.network.empty() ? std::string(default_network) : pod.network) == value;
  if (key == "ctr-names") return any_container([&](const ContainerRecord& c) { return search(value, c.name); });
  if (key == "ctr-ids") return any_container([&](const ContainerRecord& c) { return search(value, c.id); });
  if (key == "ctr-status") return any_container([&](const ContainerRecord& c) { return value == state_name(c.state); });
  if (key == "ctr-number") return std::to_string(containers.size()) == value;
  return false;
}

}  // namespace

Result<PodFilter> parse_pod_filter(const std::vector<std::string>& filters) {
  PodFilter f;
  for (const auto& text : filters) {
    auto eq = text.find('=');
    if (eq == std::string::npos)
      return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": want KEY=VALUE", text)));
    std::string key = text.substr(0, eq), value = text.substr(eq + 1);
    if (std::ranges::find(kKeys, key) == std::end(kKeys))
      return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": unknown key \"{}\" (id, name, status, label, "
                                                       "network, ctr-names, ctr-ids, ctr-status, ctr-number)",
                                                       text, key)));
    if (key == "status") {
      value = lower(value);
      if (std::ranges::find(kPodStates, value) == std::end(kPodStates))
        return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": status is created, running, degraded, "
                                                         "paused, exited or stopped", text)));
    }
    if (key == "ctr-status") {
      if (value == "stopped") value = "exited";  // podman's word for the same
      if (std::ranges::find(kContainerStates, value) == std::end(kContainerStates))
        return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": ctr-status is created, running, paused, "
                                                         "exited or stopped", text)));
    }
    if (key == "ctr-number" && (value.empty() || !std::ranges::all_of(value, ::isdigit)))
      return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": ctr-number is a number", text)));
    if (regex_key(key)) {
      try {
        std::regex check(value);
      } catch (const std::regex_error& e) {
        return std::unexpected(Error(EINVAL, fmt::format("--filter \"{}\": bad regular expression: {}", text, e.what())));
      }
    }
    f.terms.emplace(std::move(key), std::move(value));
  }
  return f;
}

bool pod_matches(const PodFilter& filter, const PodRecord& pod, const std::vector<ContainerRecord>& containers,
                 std::string_view default_network) {
  for (auto it = filter.terms.begin(); it != filter.terms.end();) {
    auto range = filter.terms.equal_range(it->first);
    bool any = false;
    for (auto t = range.first; !any && t != range.second; ++t)
      any = matches_term(pod, containers, default_network, t->first, t->second);
    if (!any) return false;
    it = range.second;
  }
  return true;
}

}  // namespace berth::engine
