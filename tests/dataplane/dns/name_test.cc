// Tests for dataplane/dns/name.h: parsing question names (RFC 1035 3.1,
// 4.1.4) into the lowercased form the zone index is keyed by.
#include "dataplane/dns/name.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace popdns::dns {
namespace {

NameStatus Parse(const std::vector<uint8_t>& msg, LowerName* out,
                 size_t* end) {
  return ParseUncompressedName(msg.data(), msg.size(), 0, out, end);
}

// RFC 4343 3: only ASCII A-Z fold to a-z; every other octet (digits,
// '@' and '[' next to the letters, bytes >= 0x80) is kept, at every
// position of the 8-byte-at-a-time copy.
TEST(ParseUncompressedName, LowercasesExactlyAsciiLetters) {
  for (int first = 0; first < 256; first += 40) {
    std::vector<uint8_t> msg = {40};
    for (int i = 0; i < 40; ++i) msg.push_back(static_cast<uint8_t>(first + i));
    msg.push_back(0);
    LowerName n;
    size_t end;
    ASSERT_EQ(Parse(msg, &n, &end), NameStatus::kOk);
    ASSERT_EQ(end, msg.size());
    ASSERT_EQ(n.size, msg.size());
    for (size_t i = 1; i <= 40; ++i) {
      const uint8_t c = msg[i];
      const uint8_t want = c >= 'A' && c <= 'Z' ? c + 32 : c;
      EXPECT_EQ(n.bytes[i], want) << "byte " << int{c};
    }
  }
}

TEST(ParseUncompressedName, RecordsLabelsAndKeepsLengths) {
  const std::vector<uint8_t> msg = {3, 'W', 'w', 'W', 7, 'E', 'x', 'A', 'm',
                                    'P', 'l', 'E', 4, 'T', 'E', 'S', 'T', 0};
  LowerName n;
  size_t end;
  ASSERT_EQ(Parse(msg, &n, &end), NameStatus::kOk);
  EXPECT_EQ(n.view(), std::string("\3www\7example\4test", 18));  // + root
  EXPECT_EQ(n.label_count, 3);
  EXPECT_EQ(n.label_offset[1], 4);
  EXPECT_EQ(n.label_offset[2], 12);
  EXPECT_EQ(n.Suffix(2), std::string("\4test", 5) + '\0');
}

// RFC 1035 4.1.4: a pointer in the question is refused; 2.3.4: labels of
// at most 63 octets, names of at most 255.
TEST(ParseUncompressedName, RejectsBadNames) {
  LowerName n;
  size_t end;
  EXPECT_EQ(Parse({3, 'w', 'w'}, &n, &end), NameStatus::kTruncated);
  EXPECT_EQ(Parse({3, 'w', 'w', 'w'}, &n, &end), NameStatus::kTruncated);
  EXPECT_EQ(Parse({1, 'a', 0xC0, 0x0C}, &n, &end), NameStatus::kCompressed);
  EXPECT_EQ(Parse({64}, &n, &end), NameStatus::kMalformed);
  std::vector<uint8_t> long_name;
  for (int i = 0; i < 5; ++i) {
    long_name.push_back(50);
    long_name.insert(long_name.end(), 50, 'a');
  }
  long_name.push_back(0);  // 256 octets
  EXPECT_EQ(Parse(long_name, &n, &end), NameStatus::kMalformed);
  long_name.erase(long_name.begin() + 1);  // 255 octets: the maximum
  long_name[0] = 49;
  EXPECT_EQ(Parse(long_name, &n, &end), NameStatus::kOk);
  EXPECT_EQ(n.size, 255);
}

}  // namespace
}  // namespace popdns::dns
