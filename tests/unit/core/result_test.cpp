#include "agent/core/result.h"

#include <gtest/gtest.h>

namespace demarc {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return Error(ErrorCode::kInvalidArgument, "odd: " + std::to_string(x));
  return x / 2;
}

Result<int> quarter(int x) {
  DEMARC_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

Status check(int x) {
  DEMARC_TRY(half(x));
  return okStatus();
}

TEST(Result, CarriesValueOrError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "odd: 3");
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(check(2).ok());
  EXPECT_FALSE(check(3).ok());
}

TEST(Result, ContextPrefixes) {
  Error e(ErrorCode::kIo, "disk full");
  EXPECT_EQ(e.withContext("journal").message(), "journal: disk full");
  EXPECT_EQ(e.withContext("journal").code(), ErrorCode::kIo);
}

TEST(Result, ValueOnErrorAborts) {
  Result<int> r = Error(ErrorCode::kInternal, "x");
  EXPECT_DEATH((void)r.value(), "");
}

TEST(Result, ErrnoMapping) {
  EXPECT_EQ(errnoError("open x", ENOENT).code(), ErrorCode::kNotFound);
  EXPECT_EQ(errnoError("open x", EACCES).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(errnoError("write x", ENOSPC).code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(errnoError("open x", ENOENT).message().find("open x: "), std::string::npos);
}

}  // namespace
}  // namespace demarc
