/*
 * quaymaster native core: the public C API.
 *
 * Another native scheduler can include this header and link the core: every
 * function takes caller-owned arrays with their lengths, returns an int status
 * (QM_OK or a QM_E* code below), and never allocates memory the caller must
 * free. Arrays are indexed by instance position (the 0-based row of the
 * instance table), which is what ties and random draws are keyed on.
 *
 * The declarations between the CDEF markers are read verbatim by build.py and
 * handed to cffi, so they must stay free of preprocessor directives.
 */
#ifndef QUAYMASTER_H
#define QUAYMASTER_H

#include <stdint.h>
#include <stddef.h>

#define QM_VERSION_MAJOR 0
#define QM_VERSION_MINOR 1
#define QM_VERSION_PATCH 0

/* CDEF BEGIN */

/* Status codes returned by every function. */
enum {
    QM_OK = 0,
    QM_EINVAL = 1,      /* an argument is out of range or inconsistent */
    QM_ENULL = 2,       /* a required pointer is NULL */
    QM_EBOUNDS = 3,     /* an index points outside its array */
    QM_ECAPACITY = 4    /* a caller-provided buffer is too small */
};

/* "MAJOR.MINOR.PATCH" of the native core, a static string. */
const char *qm_version(void);

/* splitmix64 of placement.md section 6, exposed for tests and other cores. */
uint64_t qm_splitmix64(uint64_t x);

/* CDEF END */

#endif /* QUAYMASTER_H */
