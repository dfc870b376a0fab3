/* SPDX-License-Identifier: MIT */
/*
 * check.h - the checks every test program makes, on Linux (harness.h) and
 * on Windows (windows/harness.h): each counts a pass (H_PASS()) or reports
 * a failure (H_FAIL(...)), which the including harness defines.  SKIP
 * exits 77 with its reason.
 */
#ifndef UP_TEST_CHECK_H
#define UP_TEST_CHECK_H

#define CHECK(c)                                                        \
	do {                                                            \
		if (c)                                                  \
			H_PASS();                                       \
		else                                                    \
			H_FAIL("CHECK(%s) failed", #c);                 \
	} while (0)
#define CHECK_EQ(a, b)                                                  \
	do {                                                            \
		long long h_a_ = (long long)(a), h_b_ = (long long)(b); \
		if (h_a_ == h_b_)                                       \
			H_PASS();                                       \
		else                                                    \
			H_FAIL("CHECK_EQ(%s, %s): %lld (%#llx) != %lld (%#llx)", \
			       #a, #b, h_a_, (unsigned long long)h_a_,  \
			       h_b_, (unsigned long long)h_b_);         \
	} while (0)
#define CHECK_OK(call)                                                  \
	do {                                                            \
		int h_r_ = (call);                                      \
		if (h_r_ == 0)                                          \
			H_PASS();                                       \
		else                                                    \
			H_FAIL("%s = %d: %s", #call, h_r_, up_strerror(h_r_)); \
	} while (0)
#define SKIP(...)                                                       \
	do {                                                            \
		printf("SKIP: ");                                       \
		printf(__VA_ARGS__);                                    \
		printf("\n");                                           \
		exit(77);                                               \
	} while (0)

#endif
