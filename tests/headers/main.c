/* SPDX-License-Identifier: MIT */
/*
 * The public headers compile on their own, as C and as C++: the build of
 * this test is the test.  Each generated unit includes exactly one header
 * with nothing before it.
 */
#include <stdio.h>

int main(void)
{
	printf("headers: every public header compiled alone as C and C++\n");
	return 0;
}
