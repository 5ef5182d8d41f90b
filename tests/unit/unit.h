/*
 * Common includes for the cmocka unit tests.  Each test_<module>.c includes
 * its module's .c file directly to reach static functions, and links with
 * every other module's object (see the Makefile).
 */
#ifndef UNIT_H
#define UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#endif /* UNIT_H */
