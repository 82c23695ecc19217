// The checks every string from the network or the API passes before it reaches JSON, logs
// or a store, and the logfmt escaping that keeps a peer's bytes from forging log lines.
#include <gtest/gtest.h>

#include "common/logfmt.hpp"
#include "common/text.hpp"

namespace tether {
namespace {

TEST(TextTest, AcceptsUtf8AndRefusesWhatJsonCannotCarry) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("dev-1"));
  EXPECT_TRUE(is_utf8("Ger\xc3\xa4t \xe2\x82\xac \xf0\x9f\x98\x80"));  // ä € 😀
  EXPECT_FALSE(is_utf8("\xff\xff"));                                   // the reported datagram
  EXPECT_FALSE(is_utf8("\xc0\xaf"));                                   // overlong '/'
  EXPECT_FALSE(is_utf8("\xe0\x80\xaf"));                               // overlong, 3 bytes
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));                               // a surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));                           // above U+10FFFF
  EXPECT_FALSE(is_utf8("ab\xc3"));                                     // cut short
  EXPECT_FALSE(is_utf8("\x80"));                                       // a lone continuation
}

TEST(TextTest, FindsControlCharacters) {
  EXPECT_FALSE(has_control("urn:imei:35"));
  EXPECT_TRUE(has_control(std::string("a\0b", 3)));
  EXPECT_TRUE(has_control("line\nforged=1"));
  EXPECT_TRUE(has_control("del\x7f"));
  EXPECT_TRUE(has_control("c1\xc2\x85"));  // NEL
  EXPECT_FALSE(has_control("\xc2\xa0"));   // no-break space is text
}

TEST(TextTest, CheckTextSaysWhatIsWrongWithoutRepeatingIt) {
  EXPECT_TRUE(check_text("dev1", "ep", 8));
  auto too_long = check_text("123456789", "ep", 8);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().reason, "ep is longer than 8 bytes");
  auto bad = check_text("\xff", "ep", 8);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, "ep is not valid UTF-8");
  EXPECT_EQ(check_text("a\nb", "ep", 8).error().reason, "ep holds a control character");
}

TEST(TextTest, PrintableEscapesWhatIsNotText) {
  EXPECT_EQ(printable("dev1"), "dev1");
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(printable("\xc3\xa4"), "\xc3\xa4");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
  // U+202E (right-to-left override) and U+2028 (line separator) could reorder or split
  // what a log viewer shows.
  EXPECT_EQ(printable("a\xe2\x80\xae"
                      "b\xe2\x80\xa8"
                      "c"),
            "a\\xe2\\x80\\xaeb\\xe2\\x80\\xa8c");
  EXPECT_EQ(printable("\xe2\x82\xac"), "\xe2\x82\xac");  // the euro sign is text
}

TEST(LogfmtTest, ValuesCannotSplitOrForgeALine) {
  EXPECT_EQ(logfmt_value("dev1"), "dev1");
  EXPECT_EQ(logfmt_value(""), "\"\"");
  EXPECT_EQ(logfmt_value("two words"), "\"two words\"");
  EXPECT_EQ(logfmt_value("a=b"), "\"a=b\"");
  // The reported injection: a newline with a forged line after it stays on this line.
  const std::string forged = logfmt_value("dev1\nts=x level=info event=registered ep=admin");
  EXPECT_EQ(forged.find('\n'), std::string::npos);
  EXPECT_EQ(forged, "\"dev1\\x0ats=x level=info event=registered ep=admin\"");
  // A NUL no longer cuts the line; a quote cannot close the value early.
  EXPECT_EQ(logfmt_value(std::string("a\0b", 3)), "\"a\\x00b\"");
  EXPECT_EQ(logfmt_value("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(logfmt_value("\xff"), "\"\\xff\"");
  EXPECT_EQ(logfmt_field("ep", "a b"), " ep=\"a b\"");
}

}  // namespace
}  // namespace tether
