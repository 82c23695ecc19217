#pragma once
// A Device object instance (/3/0) with 20 resources, as a gateway would report it: the
// sample for cross-format tests and the format benchmarks.
#include "lwm2m/tree.hpp"

namespace tether::test_support {

inline lwm2m::Tree device_instance() {
  using lwm2m::Objlnk;
  using lwm2m::Path;
  using lwm2m::Time;
  using lwm2m::Value;
  lwm2m::Tree t;
  auto set = [&](Path p, Value v) { (void)t.set(p, std::move(v)); };
  set(Path{3, 0, 0}, Value("Tether Devices"));
  set(Path{3, 0, 1}, Value("TD-100 Gateway"));
  set(Path{3, 0, 2}, Value("345000123"));
  set(Path{3, 0, 3}, Value("1.0.4"));
  set(Path{3, 0, 6, 0}, Value(1));
  set(Path{3, 0, 6, 1}, Value(5));
  set(Path{3, 0, 7, 0}, Value(3800));
  set(Path{3, 0, 7, 1}, Value(5000));
  set(Path{3, 0, 8, 0}, Value(125));
  set(Path{3, 0, 8, 1}, Value(900));
  set(Path{3, 0, 9}, Value(100));
  set(Path{3, 0, 10}, Value(15));
  set(Path{3, 0, 11, 0}, Value(0));
  set(Path{3, 0, 13}, Value(Time{1763880000}));
  set(Path{3, 0, 14}, Value("+02:00"));
  set(Path{3, 0, 15}, Value("Europe/Berlin"));
  set(Path{3, 0, 16}, Value("UQ"));
  set(Path{3, 0, 17}, Value("gateway"));
  set(Path{3, 0, 18}, Value("1.2"));
  set(Path{3, 0, 19}, Value("2.0.1"));
  set(Path{3, 0, 20}, Value(0));
  set(Path{3, 0, 21}, Value(512));
  set(Path{3, 0, 22, 0}, Value(Objlnk{3303, 0}));
  return t;
}

}  // namespace tether::test_support
