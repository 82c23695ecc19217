#include "api/metrics_sum.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>
#include <string_view>

namespace tether::api {
namespace {

struct Sample {
  std::string series;  // name and labels
  double value = 0;
};

struct Family {
  std::vector<std::string> comments;  // HELP, TYPE
  std::vector<Sample> samples;
  std::map<std::string, std::size_t, std::less<>> index;  // series -> sample
};

std::string_view family_of(std::string_view comment) {
  // "# HELP name ..." or "# TYPE name ...": the name.
  std::string_view rest = comment.substr(std::min<std::size_t>(comment.size(), 7));
  return rest.substr(0, rest.find(' '));
}

std::string format(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  std::ostringstream out;
  out.precision(15);
  out << v;
  return out.str();
}

}  // namespace

std::string sum_metrics(const std::vector<std::string>& texts) {
  std::vector<std::string> order;  // family names, as first met
  std::map<std::string, Family, std::less<>> families;
  for (const auto& text : texts) {
    std::string current;  // lines before any HELP belong to family ""
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
        const std::string name(family_of(line));
        if (line.starts_with("# HELP ")) current = name;
        auto [it, added] = families.try_emplace(name);
        if (added) order.push_back(name);
        auto& comments = it->second.comments;
        if (std::find(comments.begin(), comments.end(), line) == comments.end()) {
          comments.push_back(line);
        }
        continue;
      }
      if (line.starts_with('#')) continue;
      const auto space = line.rfind(' ');
      if (space == std::string::npos) continue;
      double value = 0;
      const char* first = line.data() + space + 1;
      const char* last = line.data() + line.size();
      if (auto [end, ec] = std::from_chars(first, last, value); ec != std::errc{} || end != last) {
        continue;
      }
      auto [it, added] = families.try_emplace(current);
      if (added) order.push_back(current);
      Family& f = it->second;
      const std::string series = line.substr(0, space);
      if (auto s = f.index.find(series); s != f.index.end()) {
        f.samples[s->second].value += value;
      } else {
        f.index.emplace(series, f.samples.size());
        f.samples.push_back({series, value});
      }
    }
  }
  std::string out;
  for (const auto& name : order) {
    const Family& f = families.at(name);
    for (const auto& c : f.comments) out += c + "\n";
    for (const auto& s : f.samples) out += s.series + " " + format(s.value) + "\n";
  }
  return out;
}

std::string metrics_by_worker(const std::vector<std::pair<std::string, std::string>>& workers,
                              const std::vector<std::string>& series) {
  std::string out;
  for (const auto& name : series) {
    // A counter's family keeps its _total suffix last: tether_updates_by_worker_total.
    const bool counter = name.ends_with("_total");
    const std::string base = counter ? name.substr(0, name.size() - 6) : name;
    const std::string family = base + "_by_worker" + (counter ? "_total" : "");
    out += "# HELP " + family + " " + name + " of each worker (--workers).\n";
    out += "# TYPE " + family + (counter ? " counter\n" : " gauge\n");
    for (const auto& [worker, text] : workers) {
      double value = 0;
      std::istringstream in(text);
      std::string line;
      while (std::getline(in, line)) {
        if (!line.starts_with(name + " ")) continue;
        const char* first = line.data() + name.size() + 1;
        const char* last = line.data() + line.size();
        if (auto [end, ec] = std::from_chars(first, last, value);
            ec != std::errc{} || end != last) {
          value = 0;
        }
        break;
      }
      out += family + "{worker=\"" + worker + "\"} " + format(value) + "\n";
    }
  }
  return out;
}

}  // namespace tether::api
