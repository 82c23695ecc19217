// Transport TS 8.3.3-8.3.4 and 8.4-8.5: server requests as MQTT maps, the client's answers
// back, and what the MQTT maps cannot say.
#include <gtest/gtest.h>

#include "binding/mqtt/downlink_mapping.hpp"
#include "lwm2m/format/codec.hpp"
#include "support/builtin_registry.hpp"

namespace tether::binding::mqtt {
namespace {

using lwm2m::DownlinkRequest;
using lwm2m::Operation;
using lwm2m::Path;
using lwm2m::Value;
using lwm2m::format::ContentFormat;

const auto& models() {
  return test_support::builtin_registry();
}

DownlinkRequest request(Operation op, Path path) {
  DownlinkRequest r;
  r.op = op;
  r.path = path;
  return r;
}

TEST(MqttDownlink, EachOperationGetsItsCodeAndTarget) {
  struct Case {
    Operation op;
    std::uint64_t code;
  };
  for (const Case& c :
       {Case{Operation::kRead, opcode::kRead}, Case{Operation::kDiscover, opcode::kDiscover},
        Case{Operation::kExecute, opcode::kExecute}, Case{Operation::kDelete, opcode::kDelete},
        Case{Operation::kObserve, opcode::kObserve},
        Case{Operation::kBootstrapRead, opcode::kBootstrapRead},
        Case{Operation::kBootstrapDelete, opcode::kBootstrapDelete},
        Case{Operation::kBootstrapDiscover, opcode::kBootstrapDiscover}}) {
    auto p = encode_downlink(request(c.op, Path{3, 0, 0}), 77, models());
    ASSERT_TRUE(p) << lwm2m::operation_name(c.op) << ": " << p.error().reason;
    EXPECT_EQ(p->operation, c.code) << lwm2m::operation_name(c.op);
    EXPECT_EQ(p->token, 77u);
    EXPECT_EQ(p->uri, "/3/0/0");
    EXPECT_FALSE(p->payload);
  }
  auto finish = encode_downlink(request(Operation::kBootstrapFinish, Path{}), 1, models());
  ASSERT_TRUE(finish);
  EXPECT_EQ(finish->operation, opcode::kBootstrapFinish);
  EXPECT_FALSE(finish->uri);
}

TEST(MqttDownlink, WritesCarryTheirBodyAndFormat) {
  auto write = request(Operation::kWrite, Path{1, 0, 1});
  ASSERT_TRUE(write.content.set(Path{1, 0, 1}, Value(std::int64_t{600})));
  write.format = ContentFormat::kSenmlCbor;
  auto replace = encode_downlink(write, 5, models());
  ASSERT_TRUE(replace) << replace.error().reason;
  EXPECT_EQ(replace->operation, opcode::kWriteReplace);
  EXPECT_EQ(replace->content_type, 112u);
  ASSERT_TRUE(replace->payload);
  auto body =
      lwm2m::format::decode(ContentFormat::kSenmlCbor, Path{1, 0, 1}, *replace->payload, models());
  ASSERT_TRUE(body) << body.error().reason;
  EXPECT_EQ(body->find_value(Path{1, 0, 1})->as_number(), 600);

  write.partial = true;
  EXPECT_EQ(encode_downlink(write, 6, models())->operation, opcode::kWritePartialUpdate);
  write.format.reset();
  EXPECT_FALSE(encode_downlink(write, 7, models()));  // no format chosen for the body

  auto execute = request(Operation::kExecute, Path{3, 0, 4});
  execute.arguments = "0='x'";
  EXPECT_EQ(encode_downlink(execute, 8, models())->payload, to_bytes("0='x'"));
}

TEST(MqttDownlink, CompositeOperationsNameTheirPathsInSenmlEtchCbor) {
  DownlinkRequest r;
  r.op = Operation::kReadComposite;
  r.paths = {Path{3, 0, 0}, Path{3303, 0, 5700}};
  auto p = encode_downlink(r, 9, models());
  ASSERT_TRUE(p) << p.error().reason;
  EXPECT_EQ(p->operation, opcode::kReadComposite);
  EXPECT_FALSE(p->uri);
  ASSERT_TRUE(p->paths);
  auto again = lwm2m::format::encode_paths(ContentFormat::kSenmlEtchCbor, r.paths);
  EXPECT_EQ(*p->paths, *again);
}

TEST(MqttDownlink, WriteAttributesUseOneKeyEach) {
  auto r = request(Operation::kWriteAttributes, Path{3303, 0, 5700});
  r.attributes = {"pmin=10", "pmax=60",  "gt=30.5", "lt=-5",  "st=1",
                  "epmin=2", "epmax=20", "edge=1",  "hqmax=4"};
  auto p = encode_downlink(r, 3, models());
  ASSERT_TRUE(p) << p.error().reason;
  EXPECT_EQ(p->operation, opcode::kWriteAttributes);
  EXPECT_EQ(p->pmin, 10u);
  EXPECT_EQ(p->pmax, 60u);
  EXPECT_EQ(p->gt, 30.5);
  EXPECT_EQ(p->lt, -5.0);
  EXPECT_EQ(p->st, 1.0);
  EXPECT_EQ(p->epmin, 2u);
  EXPECT_EQ(p->epmax, 20u);
  EXPECT_EQ(p->edge, true);
  EXPECT_EQ(p->hqmax, 4u);
}

TEST(MqttDownlink, WhatTheMapsCannotSayIsRefusedWithA400) {
  auto unset = request(Operation::kWriteAttributes, Path{3303, 0, 5700});
  unset.attributes = {"gt"};
  auto observe = request(Operation::kObserve, Path{3303, 0, 5700});
  observe.attributes = {"pmin=5"};
  auto con = request(Operation::kWriteAttributes, Path{3303, 0, 5700});
  con.attributes = {"con=1"};
  for (const auto& r : {unset, observe, con}) {
    auto p = encode_downlink(r, 1, models());
    ASSERT_FALSE(p);
    EXPECT_EQ(lwm2m::status_of(p.error()), lwm2m::status::kBadRequest) << p.error().reason;
  }
}

TEST(MqttDownlink, AnswersAndNotificationsDecode) {
  auto read = request(Operation::kRead, Path{3, 0, 0});
  Payload answer;
  answer.result = 205;
  answer.token = 56;
  answer.content_type = 0;
  answer.payload = to_bytes("Tether");
  auto r = decode_downlink_response(read, answer, models());
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->code, lwm2m::status::kContent);
  EXPECT_EQ(*r->content.find_value(Path{3, 0, 0}), Value("Tether"));

  Payload notify;  // 8.3.4: a Notify has an operation, not a result
  notify.operation = opcode::kNotify;
  notify.token = 56;
  notify.content_type = 0;
  notify.payload = to_bytes("Tether 2");
  auto n = decode_downlink_response(read, notify, models());
  ASSERT_TRUE(n);
  EXPECT_EQ(n->code, lwm2m::status::kContent);
  EXPECT_EQ(*n->content.find_value(Path{3, 0, 0}), Value("Tether 2"));

  Payload denied;
  denied.result = 401;
  denied.token = 56;
  EXPECT_EQ(decode_downlink_response(read, denied, models())->code, lwm2m::status::kUnauthorized);

  Payload garbage = answer;
  garbage.payload = to_bytes("\xff\xfe");
  garbage.content_type = 11542;  // not TLV
  auto g = decode_downlink_response(read, garbage, models());
  ASSERT_TRUE(g);  // the code stands; the body's fault is reported beside it
  EXPECT_FALSE(g->decode_error.empty());
}

TEST(MqttDownlink, ResultNumbersAreCodes) {
  EXPECT_EQ(result_of(lwm2m::status::kContent), 205u);
  EXPECT_EQ(result_of(lwm2m::status::kNotFound), 404u);
  EXPECT_EQ(result_of(lwm2m::status::kServiceUnavailable), 503u);
  for (std::uint64_t bad : {0u, 100u, 199u, 232u, 305u, 600u}) {
    EXPECT_FALSE(status_of_result(bad)) << bad;
  }
  auto read = request(Operation::kRead, Path{3, 0, 0});
  Payload neither;
  neither.token = 1;
  EXPECT_FALSE(decode_downlink_response(read, neither, models()));
  Payload both;
  both.token = 1;
  both.result = 205;
  both.operation = opcode::kRead;
  EXPECT_FALSE(decode_downlink_response(read, both, models()));
}

}  // namespace
}  // namespace tether::binding::mqtt
