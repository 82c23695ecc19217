// Core TS 5.4.5: the Execute argument list.
#include "lwm2m/execute_arguments.hpp"

#include <gtest/gtest.h>

namespace tether::lwm2m {
namespace {

TEST(ExecuteArguments, ReadsDigitsAndQuotedValues) {
  auto args = parse_execute_arguments("0,1='on',5='a&b=c'");
  ASSERT_TRUE(args) << args.error().reason;
  EXPECT_EQ(*args, (std::vector<ExecuteArgument>{
                       {0, std::nullopt}, {1, std::string("on")}, {5, std::string("a&b=c")}}));
  EXPECT_TRUE(parse_execute_arguments("")->empty());
  EXPECT_EQ(parse_execute_arguments("7=''")->at(0).value, std::string());
}

TEST(ExecuteArguments, RefusesWhatTheGrammarDoesNot) {
  for (const char* bad : {"zz", "10", "0,", ",0", "0,,1", "1='x", "1=x", "1='a b'", "1='a\"b'",
                          "1='a\\b'", "0,0", "1='x'y", "a=1", "0;1", "1='\xc3\xa9'"}) {
    EXPECT_FALSE(parse_execute_arguments(bad)) << bad;
  }
}

}  // namespace
}  // namespace tether::lwm2m
