#pragma once
// `tether server --workers N`: /metrics as one process with one worker would answer, from
// each worker's text: the samples of one series summed, each family's lines kept together
// under its HELP and TYPE lines (Prometheus text format 0.0.4).
#include <string>
#include <utility>
#include <vector>

namespace tether::api {

std::string sum_metrics(const std::vector<std::string>& texts);

// The balance between workers, which the sums hide: for each of `series` (an unlabelled
// sample such as "tether_registrations"), a family `<series>_by_worker` with one sample per
// worker, labelled worker="<name>", from each worker's own text. `workers` pairs each name
// with its text; a worker whose text lacks the series counts 0.
std::string metrics_by_worker(const std::vector<std::pair<std::string, std::string>>& workers,
                              const std::vector<std::string>& series);

}  // namespace tether::api
