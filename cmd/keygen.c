/* SPDX-License-Identifier: MIT */
/* keygen.c - `shoal keygen`: make a new pool key.
 *
 * With -o FILE the key file is created with mode 0600 from the start (and
 * an existing file is never replaced); otherwise the key is printed, for
 * `shoal keygen > pool.key && chmod 600 pool.key` or a secrets manager. */
#include <stdio.h>
#include <string.h>

#include <shoal/shoal.h>

#include "cmd/cmd.h"
#include "util/seal.h"

static const char keygen_usage[] =
    "usage: shoal keygen [-o FILE]\n"
    "\n"
    "Make a new pool key: 32 random bytes as one line of hex. Every daemon\n"
    "of a pool needs the same key, in a file only its owner can read.\n"
    "\n"
    "  -o, --output FILE   create FILE (mode 0600) holding the key; an\n"
    "                      existing FILE is not replaced\n"
    "  -h, --help          show this help\n";

int cmd_keygen(int argc, char **argv)
{
    const char *output = NULL;
    shoal_error_t error = {{0}};
    seal_key_t key;
    char text[2 * SEAL_KEY_BYTES + 2];
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(keygen_usage, stdout);
            return 0;
        }
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0)
            && i + 1 < argc && !output) {
            output = argv[++i];
            continue;
        }
        fprintf(stderr,
                "shoal: keygen: unexpected argument '%s'\n"
                "see 'shoal keygen --help'\n",
                argv[i]);
        return CMD_EXIT_USAGE;
    }
    if (seal_key_generate(&key) < 0) {
        fputs("shoal: keygen: cannot initialize libsodium\n", stderr);
        return 1;
    }
    if (output) {
        rc = seal_key_write(output, &key, &error);
        memset(&key, 0, sizeof(key));
        if (rc < 0) {
            fprintf(stderr, "shoal: %s\n", error.text);
            return 1;
        }
        return 0;
    }
    seal_key_format(&key, text, sizeof(text));
    memset(&key, 0, sizeof(key));
    rc = fputs(text, stdout) == EOF || fflush(stdout) == EOF;
    memset(text, 0, sizeof(text));
    if (rc) {
        perror("shoal: keygen: cannot write the key");
        return 1;
    }
    return 0;
}
