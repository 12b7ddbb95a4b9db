/* mdwe-exec PROGRAM [ARG...]: runs PROGRAM under PR_SET_MDWE(PR_MDWE_REFUSE_EXEC_GAIN), the kernel's own form of
 * systemd's MemoryDenyWriteExecute=yes (Linux >= 6.3): no mapping may be writable and executable, and none may
 * become executable. The flag is kept across execve. Exit 125 when the kernel refuses it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mdwe-exec PROGRAM [ARG...]\n");
        return 2;
    }
    if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L) != 0
        || prctl(PR_GET_MDWE, 0L, 0L, 0L, 0L) != PR_MDWE_REFUSE_EXEC_GAIN) {
        fprintf(stderr, "mdwe-exec: PR_SET_MDWE: %s\n", strerror(errno));
        return 125;
    }
    execv(argv[1], argv + 1);
    fprintf(stderr, "mdwe-exec: %s: %s\n", argv[1], strerror(errno));
    return 126;
}
