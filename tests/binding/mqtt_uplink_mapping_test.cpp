// Transport TS 8.3.1-8.3.2, 8.3.4 and 8.4: client requests over MQTT as operation values,
// our client's maps for them, and the refusals of 8.5.
#include <gtest/gtest.h>

#include "binding/mqtt/uplink_mapping.hpp"

namespace tether::binding::mqtt {
namespace {

const Topic kRd{"tenant-a", Interface::kRegistration, "dev1"};
const Topic kBs{"tenant-a", Interface::kBootstrap, "dev1"};

lwm2m::RegisterRequest a_register() {
  lwm2m::RegisterRequest r;
  r.params.lifetime = 300;
  r.params.version = "1.2";
  r.params.binding = "M";
  r.params.queue_mode = true;
  auto objects = lwm2m::format::link_format::parse_registration("</1/0>,</3/0>,</3303/0>");
  EXPECT_TRUE(objects);
  r.objects = *objects;
  return r;
}

TEST(MqttUplink, RegisterUpdateAndDeregisterRoundTrip) {
  // Through the wire bytes too, as a broker would carry them.
  auto wire = decode(encode(encode_register(a_register(), 11)));
  ASSERT_TRUE(wire);
  auto m = decode_uplink(kRd, *wire);
  ASSERT_TRUE(m) << m.error().reason;
  EXPECT_EQ(m->endpoint, "dev1");
  EXPECT_EQ(m->token, 11u);
  const auto* reg = std::get_if<lwm2m::RegisterRequest>(&m->request);
  ASSERT_NE(reg, nullptr);
  EXPECT_EQ(reg->params.endpoint, "dev1");  // the topic names it (8.2)
  EXPECT_EQ(reg->params.lifetime, 300u);
  EXPECT_EQ(reg->params.version, "1.2");
  EXPECT_TRUE(reg->params.queue_mode);
  EXPECT_EQ(reg->objects.objects.size(), 3u);

  lwm2m::UpdateRequest update;
  update.params.lifetime = 600;
  auto u = decode_uplink(kRd, encode_update(update, 12));
  ASSERT_TRUE(u) << u.error().reason;
  const auto* upd = std::get_if<lwm2m::UpdateRequest>(&u->request);
  ASSERT_NE(upd, nullptr);
  EXPECT_EQ(upd->params.lifetime, 600u);
  EXPECT_FALSE(upd->objects);

  auto d = decode_uplink(kRd, encode_deregister(13));
  ASSERT_TRUE(d);
  EXPECT_TRUE(std::holds_alternative<lwm2m::DeregisterRequest>(d->request));
}

TEST(MqttUplink, BootstrapAndSend) {
  lwm2m::BootstrapRequest b;
  b.preferred_format = 112;
  auto bs = decode_uplink(kBs, encode_bootstrap_request(b, 1));
  ASSERT_TRUE(bs) << bs.error().reason;
  const auto* req = std::get_if<lwm2m::BootstrapRequest>(&bs->request);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->endpoint, "dev1");
  EXPECT_EQ(req->preferred_format, 112);
  // Code 6 is Bootstrap-Pack-Request on a bs topic, Register on an rd topic.
  Payload six;
  six.operation = 6;
  six.token = 2;
  auto pack = decode_uplink(kBs, six);
  ASSERT_TRUE(pack);
  EXPECT_TRUE(std::holds_alternative<lwm2m::BootstrapPackRequest>(pack->request));

  auto send = decode_uplink(kRd, encode_send(SendRequest{112, Bytes{0x80}}, 3));
  ASSERT_TRUE(send);
  const auto* s = std::get_if<SendRequest>(&send->request);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->content_format, 112);
}

TEST(MqttUplink, RefusalsCarryTheirResult) {
  auto refused = [](const Topic& t, const Payload& p) {
    auto m = decode_uplink(t, p);
    EXPECT_FALSE(m);
    return m ? lwm2m::Status{} : lwm2m::status_of(m.error(), lwm2m::status::kInternalServerError);
  };
  Payload no_token;
  no_token.operation = opcode::kRegister;
  EXPECT_EQ(refused(kRd, no_token), lwm2m::status::kBadRequest);

  Payload other_ep = encode_register(a_register(), 1);
  other_ep.endpoint = "dev2";  // 8.2: not the topic's endpoint
  EXPECT_EQ(refused(kRd, other_ep), lwm2m::status::kBadRequest);

  Payload bad_lifetime = encode_register(a_register(), 1);
  bad_lifetime.lifetime = 0x1'0000'0000ULL;  // past what lt holds
  EXPECT_EQ(refused(kRd, bad_lifetime), lwm2m::status::kBadRequest);

  Payload bad_objects = encode_register(a_register(), 1);
  bad_objects.payload = to_bytes("<<<");
  EXPECT_EQ(refused(kRd, bad_objects), lwm2m::status::kBadRequest);

  Payload unknown;
  unknown.operation = 99;
  unknown.token = 1;
  EXPECT_EQ(refused(kRd, unknown), lwm2m::status::kBadRequest);

  Payload send_without_body;
  send_without_body.operation = opcode::kSend;
  send_without_body.token = 1;
  EXPECT_EQ(refused(kRd, send_without_body), lwm2m::status::kBadRequest);
}

TEST(MqttUplink, WhatOnlyAServerSendsIsNotAClientRequest) {
  // Our own publications, heard back on an MQTT 3.1.1 broker, are told apart and dropped.
  Payload read;
  read.operation = opcode::kRead;
  read.token = 1;
  read.uri = "/3/0";
  Payload answer = encode_answer(lwm2m::status::kCreated, 1);
  Payload finish;
  finish.operation = opcode::kBootstrapFinish;
  finish.token = 1;
  for (const auto& [topic, p] :
       {std::pair{kRd, read}, std::pair{kRd, answer}, std::pair{kBs, finish}}) {
    auto m = decode_uplink(topic, p);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().reason, kNotAClientOperation);
  }
}

TEST(MqttUplink, AnswersAreGenericResponses) {
  auto a = encode_answer(lwm2m::status::kCreated, 11);
  EXPECT_EQ(a.result, 201u);
  EXPECT_EQ(a.token, 11u);
  EXPECT_FALSE(a.operation);
  EXPECT_EQ(to_hex(encode(a)), "a2020b1218c9");  // {2: 11, 18: 201}, as cbor2 writes it
}

// An engine's answer on the wire and back, as our client reads it: the code and a body
// travel; the location and a refusal's reason do not (the topic names the registration,
// and 8.4 has no diagnostic).
TEST(MqttUplink, EngineAnswersTravelAsGenericResponses) {
  lwm2m::UplinkAnswer created;
  created.code = lwm2m::status::kCreated;
  created.location = "a1b2";
  auto back = decode_uplink_answer(*decode(encode(encode_uplink_answer(created, 7))));
  ASSERT_TRUE(back) << back.error().reason;
  EXPECT_EQ(back->code, lwm2m::status::kCreated);
  EXPECT_TRUE(back->location.empty());
  EXPECT_TRUE(back->body.empty());

  lwm2m::UplinkAnswer pack;
  pack.code = lwm2m::status::kContent;
  pack.content_format = 112;
  pack.body = Bytes{0x81, 0xa1};
  auto p = decode_uplink_answer(encode_uplink_answer(pack, 8));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->content_format, 112);
  EXPECT_EQ(p->body, pack.body);

  const auto refusal =
      lwm2m::UplinkAnswer::refusal(lwm2m::reject(lwm2m::status::kForbidden, "not allowed"));
  EXPECT_EQ(refusal.code, lwm2m::status::kForbidden);
  const Payload wire = encode_uplink_answer(refusal, 9);
  EXPECT_EQ(wire.result, 403u);
  EXPECT_FALSE(wire.payload);

  Payload request;
  request.operation = opcode::kRead;
  request.token = 1;
  EXPECT_FALSE(decode_uplink_answer(request));
}

}  // namespace
}  // namespace tether::binding::mqtt
