#include "quaymaster.h"

#define QM_STR2(x) #x
#define QM_STR(x) QM_STR2(x)

const char *qm_version(void)
{
    return QM_STR(QM_VERSION_MAJOR) "." QM_STR(QM_VERSION_MINOR) "." QM_STR(QM_VERSION_PATCH);
}
