#pragma once
// `tether server --workers N`: /metrics as one process with one worker would answer, from
// each worker's text: the samples of one series summed, each family's lines kept together
// under its HELP and TYPE lines (Prometheus text format 0.0.4).
#include <string>
#include <vector>

namespace tether::api {

std::string sum_metrics(const std::vector<std::string>& texts);

}  // namespace tether::api
